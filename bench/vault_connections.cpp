// Benchmark 6, Vault connections: the TCP connections the Vault emulator
// accepts (its own count, not the client's) while
//   - vsp's Vault client makes 1,000 sequential calls (lookup-self), and
//   - the plugin binary answers 1,000 GetSecrets from C concurrent
//     clients, for each C given.
// The goal is one connection per thread calling Vault: the client keeps a
// keep-alive connection per pooled handle and the plugin one per worker.
//
//   vault_connections [--plugin BIN] [--requests 1000]
//                     [--concurrency 1,16,64]
//
// Prints one JSON object. Without --plugin only the client is measured.
#include "bench/harness.hpp"

#include "core/util/secret_string.hpp"
#include "core/vault/client.hpp"
#include "tests/support/vault_emulator.hpp"

#include <fmt/format.h>

#include <iostream>

using namespace vsp;
using namespace vsp::bench;
using namespace std::chrono_literals;
using nlohmann::json;

int main(int argc, char** argv) try {
  const Flags flags(argc, argv);
  const long requests = static_cast<long>(flags.number("requests", 1000));
  const std::vector<int> levels = flags.numbers("concurrency", {1, 16, 64});

  test::TempDir dir;
  const std::string token_file = dir.file("plugin-token");
  test::EmulatorOptions options;
  options.config = token_role_config(token_file);
  std::string why;
  auto emulator = test::VaultEmulator::start(options, &why);
  if (!emulator) {
    std::cerr << "vault_connections: " << why << '\n';
    return 1;
  }
  // Each stats call is a connection of its own: one per measurement.
  const auto opened = [&](long before) {
    return emulator->connection_count() - before - 1;
  };

  json out{{"benchmark", "vault_connections"}, {"requests", requests}};
  {
    vault::Config config;
    config.address = emulator->address();
    vault::Client client(config);
    const SecretString token(emulator->root_token());
    const long before = emulator->connection_count();
    const long failures = run_count(1, requests, [&](int, long) {
      return client.lookup_self(token, Deadline::after(10s)).ok();
    });
    out["client_sequential"] = {{"failures", failures},
                                {"connections", opened(before)}};
  }

  if (flags.has("plugin")) {
    PluginProcess plugin(flags.text("plugin", "plugin/vsp-plugin"),
                         emulator->address(),
                         dir,
                         {"VSP_TOKEN_FILE=" + token_file});
    if (!plugin.wait_ready(10s) ||
        !PluginConnection(plugin.socket()).get_secret("app-token", "login")) {
      std::cerr << "vault_connections: the plugin did not start:\n"
                << plugin.process().err();
      return 1;
    }
    out["plugin"] = json::array();
    long total = 1; // the login's
    for (const int c : levels) {
      std::vector<PluginConnection> connections;
      connections.reserve(static_cast<std::size_t>(c));
      for (int i = 0; i < c; ++i) {
        connections.emplace_back(plugin.socket());
      }
      const long before = emulator->connection_count();
      const long failures = run_count(c, requests, [&](int t, long i) {
        return connections[static_cast<std::size_t>(t)].get_secret(
            "app-token", fmt::format("c{}-{}", c, i));
      });
      const long n = opened(before);
      total += n;
      // Goal: no more connections than threads ever called Vault at once.
      out["plugin"].push_back({{"concurrency", c},
                               {"failures", failures},
                               {"new_connections", n},
                               {"plugin_connections_so_far", total}});
      std::cerr << fmt::format(
          "vault_connections: {} clients, {} requests: {} new connections\n",
          c,
          requests,
          n);
    }
  }
  std::cout << out.dump() << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "vault_connections: " << e.what() << '\n';
  return 1;
}
