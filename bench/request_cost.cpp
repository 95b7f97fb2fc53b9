// Benchmark 2, cost per request, of the plugin binary against
// bench/fake_vault (plain HTTP, so no TLS is counted):
//   - instructions per GetSecret, counted by callgrind: two runs under
//     valgrind with N1 and N2 requests, (Ir2 - Ir1) / (N2 - N1), so start-up
//     and shutdown cancel out;
//   - CPU time per request from the process's own accounting
//     (/proc/<pid>/stat, user + system), at 1 and at 64 clients;
//   - resident memory idle (after start and login) and its peak while 64
//     clients call at once.
//
//   request_cost --plugin BIN --fake-vault BIN [--latency-ms 10]
//                [--seconds 3] [--concurrency 64] [--callgrind 50,550]
//                [--valgrind /usr/bin/valgrind]   (--callgrind 0: skip)
//
// Prints one JSON object.
#include "bench/harness.hpp"

#include "core/util/process_stats.hpp"
#include "tests/support/paths.hpp"

#include <fmt/format.h>

#include <signal.h>
#include <time.h>

#include <cstdio>
#include <iostream>
#include <regex>
#include <thread>

using namespace vsp;
using namespace vsp::bench;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The process's CPU time (all threads, user and system) in seconds, from
// the kernel's per-process clock: nanosecond resolution, where the
// /proc/<pid>/stat fields count 10 ms ticks.
double cpu_seconds(pid_t pid) {
  clockid_t clock{};
  timespec ts{};
  if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &ts) != 0) {
    throw std::runtime_error("cannot read the plugin's cpu clock");
  }
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

ProcessStats stats_of(pid_t pid) {
  auto s = read_process_stats(pid);
  if (!s) {
    throw std::runtime_error("cannot read the plugin's /proc stats");
  }
  return *s;
}

double mib(std::uint64_t bytes) {
  return rounded(static_cast<double>(bytes) / (1024.0 * 1024.0), 2);
}

// Runs `threads` clients for `duration` and reports CPU per request and
// the highest RSS seen (sampled every 20 ms).
json measure_load(PluginProcess& plugin,
                  int threads,
                  std::chrono::milliseconds duration,
                  const std::string& tag) {
  std::vector<PluginConnection> connections;
  for (int i = 0; i < threads; ++i) {
    connections.emplace_back(plugin.socket());
  }
  std::atomic<bool> done{false};
  std::uint64_t peak = 0;
  std::thread sampler([&] {
    while (!done) {
      if (auto s = read_process_stats(plugin.pid())) {
        peak = std::max(peak, s->rss_bytes);
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  const ProcessStats before = stats_of(plugin.pid());
  const double cpu_before = cpu_seconds(plugin.pid());
  const Phase phase = run_load(threads, duration, [&](int t, long n) {
    return connections[static_cast<std::size_t>(t)].get_secret(
        "app-token", fmt::format("{}-{}-{}", tag, t, n));
  });
  const double cpu_after = cpu_seconds(plugin.pid());
  const ProcessStats after = stats_of(plugin.pid());
  done = true;
  sampler.join();
  const auto n = static_cast<double>(phase.latencies.size());
  return {
      {"concurrency", threads},
      {"requests", phase.latencies.size()},
      {"failures", phase.failures},
      {"cpu_us_per_request", rounded((cpu_after - cpu_before) * 1e6 / n, 1)},
      // From 10 ms ticks: only the split is meaningful.
      {"user_share",
       rounded((after.user_seconds - before.user_seconds) /
                   std::max(1e-9, after.cpu_seconds - before.cpu_seconds),
               2)},
      {"peak_rss_mib", mib(peak)},
      {"threads_after", after.threads}};
}

// Total instructions of one plugin run under callgrind serving `requests`
// sequential GetSecrets.
double callgrind_run(const Flags& flags,
                     const std::string& vault_address,
                     long requests) {
  test::TempDir dir;
  const std::string out = dir.file("callgrind.out");
  PluginProcess plugin(flags.text("plugin", "plugin/vsp-plugin"),
                       vault_address,
                       dir,
                       {"VSP_LOG_LEVEL=info"},
                       {flags.text("valgrind", "/usr/bin/valgrind"),
                        "--tool=callgrind",
                        "--callgrind-out-file=" + out});
  if (!plugin.wait_ready(120s)) {
    throw std::runtime_error("the plugin did not start under callgrind: " +
                             plugin.process().err());
  }
  PluginConnection c(plugin.socket());
  for (long i = 0; i < requests; ++i) {
    if (!c.get_secret("app-token", fmt::format("cg-{}", i))) {
      throw std::runtime_error("a request failed under callgrind");
    }
  }
  plugin.process().signal(SIGTERM);
  if (plugin.process().wait(120s) != 0) {
    throw std::runtime_error("the plugin did not stop cleanly");
  }
  const std::string text = test::read_file(out);
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\nsummary: ([0-9]+)"))) {
    throw std::runtime_error("no summary line in callgrind's output");
  }
  return std::stod(m[1].str());
}

} // namespace

int main(int argc, char** argv) try {
  const Flags flags(argc, argv);
  const auto duration = std::chrono::milliseconds(
      static_cast<long>(flags.number("seconds", 3) * 1000));
  const int concurrency = static_cast<int>(flags.number("concurrency", 64));
  const std::vector<int> cg = flags.numbers("callgrind", {50, 550});

  test::TempDir dir;
  FakeVault vault_server(flags.text("fake-vault", "bench/fake_vault"),
                         flags.number("latency-ms", 10),
                         dir);
  PluginProcess plugin(flags.text("plugin", "plugin/vsp-plugin"),
                       vault_server.address(),
                       dir,
                       {"VSP_LOG_LEVEL=info"});
  if (!plugin.wait_ready(10s)) {
    std::cerr << "request_cost: the plugin did not start:\n"
              << plugin.process().err();
    return 1;
  }
  // The login happens on the first request; idle means logged in.
  PluginConnection(plugin.socket()).get_secret("app-token", "warm-up");
  std::this_thread::sleep_for(500ms);
  const ProcessStats idle = stats_of(plugin.pid());

  json out{{"benchmark", "request_cost"},
           {"idle_rss_mib", mib(idle.rss_bytes)},
           {"idle_threads", idle.threads}};
  out["sequential"] = measure_load(plugin, 1, duration, "seq");
  out["concurrent"] = measure_load(plugin, concurrency, duration, "par");
  std::this_thread::sleep_for(500ms);
  out["rss_after_load_mib"] = mib(stats_of(plugin.pid()).rss_bytes);

  if (cg.size() == 2 && cg[1] > cg[0]) {
    const double low = callgrind_run(flags, vault_server.address(), cg[0]);
    const double high = callgrind_run(flags, vault_server.address(), cg[1]);
    out["callgrind"] = {
        {"requests", {cg[0], cg[1]}},
        {"instructions_per_request",
         rounded((high - low) / static_cast<double>(cg[1] - cg[0]), 0)}};
  }
  std::cout << out.dump() << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "request_cost: " << e.what() << '\n';
  return 1;
}
