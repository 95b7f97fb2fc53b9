// Benchmark 5, start-up: from exec of the plugin binary to its socket
// answering Plugin.Activate, which is what Docker waits for. Many runs;
// the median and the spread. Vault is bench/fake_vault (the plugin binds
// its socket before it talks to Vault, so Vault's speed does not count).
//
//   startup --plugin BIN --fake-vault BIN [--runs 40]
//
// Prints one JSON object.
#include "bench/harness.hpp"

#include "tests/support/unix_http_client.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <thread>

using namespace vsp;
using namespace vsp::bench;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<char*> c_strings(std::vector<std::string>& items) {
  std::vector<char*> out;
  out.reserve(items.size() + 1);
  for (auto& item : items) {
    out.push_back(item.data());
  }
  out.push_back(nullptr);
  return out;
}

// One start: milliseconds from posix_spawn to an answered Activate.
double one_start(const std::string& binary,
                 std::vector<std::string> env,
                 const std::string& socket,
                 const std::string& log) {
  ::unlink(socket.c_str());
  std::vector<std::string> argv{binary};
  auto c_argv = c_strings(argv);
  auto c_env = c_strings(env);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(
      &actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const auto start = Clock::now();
  const int rc = posix_spawn(
      &pid, binary.c_str(), &actions, nullptr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + binary);
  }
  double ms = -1;
  const std::string activate = test::docker_request("/Plugin.Activate", "{}");
  while (Clock::now() - start < 10s) {
    if (auto c = test::UnixHttpClient::connect(socket)) {
      auto r = c->round_trip(activate, 5s);
      if (r && r->status == 200 &&
          r->body.find("secretprovider") != std::string::npos) {
        ms = std::chrono::duration<double, std::milli>(Clock::now() - start)
                 .count();
        break;
      }
    }
    // Polling faster than this would steal the CPU the plugin needs.
    std::this_thread::sleep_for(200us);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (ms < 0) {
    throw std::runtime_error("the plugin did not answer Activate within 10s");
  }
  return ms;
}

} // namespace

int main(int argc, char** argv) try {
  const Flags flags(argc, argv);
  const int runs = static_cast<int>(flags.number("runs", 40));

  test::TempDir dir;
  FakeVault vault_server(flags.text("fake-vault", "bench/fake_vault"), 0, dir);
  const std::string socket = dir.file("vsp.sock");
  const std::vector<std::string> env{
      "VSP_SOCKET=" + socket,
      "VSP_RULES=" + dir.write("rules.yaml", bench_rules()),
      "VSP_TOKEN_FILE=" + dir.write("token", "hvs.bench-plugin-token"),
      "VAULT_ADDR=" + vault_server.address(),
      "VSP_LEDGER=" + dir.file("ledger.db"),
      "PATH=/usr/bin:/bin",
  };
  const std::string binary = flags.text("plugin", "plugin/vsp-plugin");
  one_start(binary, env, socket, dir.file("plugin.log")); // page cache warm

  std::vector<double> times;
  times.reserve(static_cast<std::size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    times.push_back(one_start(binary, env, socket, dir.file("plugin.log")));
  }
  std::sort(times.begin(), times.end());
  const auto at = [&](double q) {
    return times[static_cast<std::size_t>(q * double(times.size() - 1))];
  };
  json out{{"benchmark", "startup"},
           {"runs", runs},
           {"ms", to_json(spread(times), 2)},
           {"p90_ms", rounded(at(0.9), 2)},
           {"goal_ms", 50}};
  std::cout << out.dump() << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "startup: " << e.what() << '\n';
  return 1;
}
