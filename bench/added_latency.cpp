// Benchmark 1, added latency: GetSecret through the plugin's socket versus
// a client making the same Vault call directly (one wrapped token create,
// same client library, in-process, same concurrency), both against
// bench/fake_vault answering after a fixed delay. Phases alternate
// (direct, plugin, direct, plugin, ...) so drift on a shared machine hits
// both sides alike; each round gives a ratio, and the report is the median
// ratio with its range.
//
//   added_latency --plugin BIN --fake-vault BIN [--latency-ms 10]
//                 [--concurrency 1,16,64] [--seconds 2] [--rounds 3]
//
// Prints one JSON object.
#include "bench/harness.hpp"

#include "core/docker/secret_request.hpp"
#include "core/issuer/issuer.hpp"
#include "core/rules/decision.hpp"
#include "core/util/secret_string.hpp"
#include "core/vault/client.hpp"

#include <fmt/format.h>

#include <iostream>

using namespace vsp;
using namespace vsp::bench;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The token request the issuer builds for a task of rule "app".
vault::TokenCreateRequest direct_request(const std::string& task_id) {
  docker::SecretRequest r;
  r.secret_name = "app-token";
  r.service_id = "svc-bench";
  r.service_name = "bench";
  r.task_id = task_id;
  r.task_name = "bench.1." + task_id;
  r.node_id = "node-bench";
  rules::Decision d;
  d.rule = "app";
  d.token_role = "vsp-task";
  d.policies = {"app-read"};
  vault::TokenCreateRequest t;
  t.role = d.token_role;
  t.policies = d.policies;
  t.meta = issuer::task_metadata(r, d, "0123456789abcdef0123456789abcdef");
  t.ttl = std::chrono::seconds(3600);
  t.display_name = "vsp-bench";
  return t;
}

json describe(const Phase& p, long connections) {
  return {{"requests", p.latencies.size()},
          {"vault_connections", connections},
          {"failures", p.failures},
          {"rps", rounded(p.throughput(), 1)},
          {"p50_ms", rounded(p.quantile_ms(0.50), 3)},
          {"p99_ms", rounded(p.quantile_ms(0.99), 3)}};
}

} // namespace

int main(int argc, char** argv) try {
  const Flags flags(argc, argv);
  const double latency_ms = flags.number("latency-ms", 10);
  const auto duration = std::chrono::milliseconds(
      static_cast<long>(flags.number("seconds", 2) * 1000));
  const int rounds = static_cast<int>(flags.number("rounds", 3));
  const std::vector<int> levels = flags.numbers("concurrency", {1, 16, 64});

  test::TempDir dir;
  FakeVault vault_server(
      flags.text("fake-vault", "bench/fake_vault"), latency_ms, dir);
  PluginProcess plugin(flags.text("plugin", "plugin/vsp-plugin"),
                       vault_server.address(),
                       dir,
                       {"VSP_LOG_LEVEL=" + flags.text("log-level", "info")});
  if (!plugin.wait_ready(10s)) {
    std::cerr << "added_latency: the plugin did not start:\n"
              << plugin.process().err();
    return 1;
  }

  vault::Config config;
  config.address = vault_server.address();
  // As the plugin does: a kept connection for every thread.
  config.max_idle_connections = 64;
  vault::Client client(config);
  const SecretString token("hvs.bench-direct-token");
  const auto direct = [&](int thread, long n) {
    const auto req = direct_request(fmt::format("d{}-{}", thread, n));
    return client
        .create_token_wrapped(
            token, req, std::chrono::seconds(600), Deadline::after(30s))
        .ok();
  };

  json out{
      {"benchmark", "added_latency"},
      {"backend_latency_ms", latency_ms},
      {"seconds_per_phase", std::chrono::duration<double>(duration).count()},
      {"rounds", rounds},
      {"levels", json::array()}};
  long generation = 0;
  for (const int c : levels) {
    std::vector<PluginConnection> connections;
    connections.reserve(static_cast<std::size_t>(c));
    for (int i = 0; i < c; ++i) {
      connections.emplace_back(plugin.socket());
    }
    const auto through_plugin = [&](int thread, long n) {
      return connections[static_cast<std::size_t>(thread)].get_secret(
          "app-token", fmt::format("t{}-{}-{}", generation, thread, n));
    };
    // Warm up both paths: connections, handles, the plugin's login.
    ++generation;
    run_load(c, 300ms, direct);
    run_load(c, 300ms, through_plugin);

    std::vector<double> r50, r99, rrps;
    json level{{"concurrency", c}, {"rounds", json::array()}};
    for (int round = 0; round < rounds; ++round) {
      ++generation;
      const long before = vault_server.stats().value("connections", 0L);
      const Phase d = run_load(c, duration, direct);
      const long middle = vault_server.stats().value("connections", 0L);
      const Phase p = run_load(c, duration, through_plugin);
      const long after = vault_server.stats().value("connections", 0L);
      r50.push_back(p.quantile_ms(0.5) / d.quantile_ms(0.5));
      r99.push_back(p.quantile_ms(0.99) / d.quantile_ms(0.99));
      rrps.push_back(p.throughput() / d.throughput());
      // Each stats call is a connection of its own.
      level["rounds"].push_back({{"direct", describe(d, middle - before - 1)},
                                 {"plugin", describe(p, after - middle - 1)}});
    }
    level["ratio_p50"] = to_json(spread(r50));
    level["ratio_p99"] = to_json(spread(r99));
    level["ratio_throughput"] = to_json(spread(rrps));
    out["levels"].push_back(level);
    std::cerr << fmt::format(
        "added_latency: c={} p50 x{:.3f} p99 x{:.3f} rps x{:.3f}\n",
        c,
        spread(r50).median,
        spread(r99).median,
        spread(rrps).median);
  }
  std::cout << out.dump() << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "added_latency: " << e.what() << '\n';
  return 1;
}
