// Benchmark 3, Vault requests per task: the plugin binary against the
// Vault emulator, which counts every /v1/ request (not the plugin). For
// each kind of secret: the requests of N tasks asking once each, and of
// the same tasks asking again inside the reuse window (Docker repeats a
// request after reconnects and leader changes). The plugin's own login
// (lookup-self) happens before counting starts.
//
//   vault_requests --plugin BIN [--tasks 20]
//
// Then a burst: 100 tasks at once asking for one KV value, after the
// coalescing window of the earlier KV reads has passed.
//
// Prints one JSON object. For comparison, the original proof of concept
// made three requests per task: create a child token, read with it,
// revoke it.
#include "bench/harness.hpp"

#include "tests/support/vault_emulator.hpp"

#include <fmt/format.h>

#include <iostream>
#include <thread>

using namespace vsp;
using namespace vsp::bench;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// One kind of secret as the benchmark asks for it.
struct Case {
  std::string kind;
  std::string secret; // matched by a rule of bench_rules()
  double goal_first;  // requests per task
};

json paths_of(const json& before, const json& after) {
  json out = json::object();
  const json now = after.value("by_path", json::object());
  const json was_then = before.value("by_path", json::object());
  for (const auto& [path, n] : now.items()) {
    const long was = was_then.value(path, 0L);
    if (n.get<long>() > was) {
      out[path] = n.get<long>() - was;
    }
  }
  return out;
}

// 100 tasks, each on its own connection, ask for the one KV value at once;
// the plugin's KV reader is already minted, so the goal is one read.
json kv_burst(const std::string& socket, test::VaultEmulator& emulator) {
  constexpr long k_tasks = 100;
  std::this_thread::sleep_for(1500ms); // past the earlier reads' window
  std::vector<PluginConnection> connections;
  for (long i = 0; i < k_tasks; ++i) {
    connections.emplace_back(socket);
  }
  const json before = emulator.stats();
  const long failures =
      run_count(static_cast<int>(k_tasks), k_tasks, [&](int thread, long n) {
        return connections[static_cast<std::size_t>(thread)].get_secret(
            "kv-db", fmt::format("burst-{}", n));
      });
  const json after = emulator.stats();
  return {
      {"tasks", k_tasks},
      {"failures", failures},
      {"requests", after.value("requests", 0L) - before.value("requests", 0L)},
      {"goal_requests", 1},
      {"paths", paths_of(before, after)}};
}

} // namespace

int main(int argc, char** argv) try {
  const Flags flags(argc, argv);
  const long tasks = static_cast<long>(flags.number("tasks", 20));

  test::TempDir dir;
  const std::string token_file = dir.file("plugin-token");
  test::EmulatorOptions options;
  options.config = token_role_config(token_file);
  std::string why;
  auto emulator = test::VaultEmulator::start(options, &why);
  if (!emulator) {
    std::cerr << "vault_requests: " << why << '\n';
    return 1;
  }
  PluginProcess plugin(flags.text("plugin", "plugin/vsp-plugin"),
                       emulator->address(),
                       dir,
                       {"VSP_TOKEN_FILE=" + token_file});
  if (!plugin.wait_ready(10s)) {
    std::cerr << "vault_requests: the plugin did not start:\n"
              << plugin.process().err();
    return 1;
  }
  PluginConnection c(plugin.socket());
  if (!c.get_secret("app-token", "login")) {
    std::cerr << "vault_requests: the first request failed:\n"
              << plugin.process().err();
    return 1;
  }

  const std::vector<Case> cases = {
      {"wrapped_token", "app-token", 1},
      {"token", "plain-token", 1},
      {"kv", "kv-db", 1},
      {"dynamic", "db-creds", 1},
  };
  json out{{"benchmark", "vault_requests"},
           {"tasks", tasks},
           {"proof_of_concept_per_task", 3},
           {"kinds", json::array()}};
  for (const Case& k : cases) {
    const json s0 = emulator->stats();
    long failures = 0;
    for (long i = 0; i < tasks; ++i) {
      failures +=
          c.get_secret(k.secret, fmt::format("{}-{}", k.kind, i)) ? 0 : 1;
    }
    const json s1 = emulator->stats();
    for (long i = 0; i < tasks; ++i) {
      failures +=
          c.get_secret(k.secret, fmt::format("{}-{}", k.kind, i)) ? 0 : 1;
    }
    const json s2 = emulator->stats();
    const auto count = [](const json& a, const json& b) {
      return b.value("requests", 0L) - a.value("requests", 0L);
    };
    out["kinds"].push_back(
        {{"kind", k.kind},
         {"failures", failures},
         {"per_task", rounded(double(count(s0, s1)) / double(tasks), 3)},
         {"per_repeat", rounded(double(count(s1, s2)) / double(tasks), 3)},
         {"goal_per_task", k.goal_first},
         {"paths", paths_of(s0, s1)}});
  }
  out["kv_burst"] = kv_burst(plugin.socket(), *emulator);
  std::cout << out.dump() << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "vault_requests: " << e.what() << '\n';
  return 1;
}
