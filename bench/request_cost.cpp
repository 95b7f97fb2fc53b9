// Benchmark 2, cost per request, of the plugin binary against
// bench/fake_vault (plain HTTP, so no TLS is counted):
//   - instructions per GetSecret, counted by callgrind: two runs under
//     valgrind with N1 and N2 sequential requests, (Ir2 - Ir1) / (N2 - N1),
//     so start-up and shutdown cancel out;
//   - CPU time per request from the kernel's per-process clock (all
//     threads, user and system): for one client calling for `seconds`, and
//     for `tasks` requests from 64 clients; next to it, what the same Vault
//     call costs a client in-process (this program's own clock), so the
//     machine's share can be told from the plugin's;
//   - resident memory idle (started and logged in) and its peak while the
//     64 clients call (every task is new, so the reuse cache grows by
//     `tasks` entries).
//
//   request_cost --plugin BIN --fake-vault BIN [--latency-ms 10]
//                [--seconds 3] [--concurrency 64] [--tasks 5000]
//                [--callgrind 50,550] [--valgrind /usr/bin/valgrind]
//
// --callgrind 0 skips callgrind, as does a missing valgrind. Prints one
// JSON object.
#include "bench/harness.hpp"

#include "core/util/process_stats.hpp"
#include "core/vault/client.hpp"
#include "tests/support/paths.hpp"

#include <fmt/format.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <regex>
#include <thread>

using namespace vsp;
using namespace vsp::bench;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// CPU time (all threads, user and system) in seconds from the kernel's
// per-process clock: nanosecond resolution, where /proc/<pid>/stat counts
// 10 ms ticks. 0 is this process.
double cpu_seconds(pid_t pid) {
  clockid_t clock = CLOCK_PROCESS_CPUTIME_ID;
  timespec ts{};
  if ((pid != 0 && clock_getcpuclockid(pid, &clock) != 0) ||
      clock_gettime(clock, &ts) != 0) {
    throw std::runtime_error("cannot read a cpu clock");
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

double per_request_us(double seconds, std::size_t n) {
  return n == 0 ? 0 : rounded(seconds * 1e6 / static_cast<double>(n), 1);
}

// Highest RSS of `pid` while alive, sampled every 20 ms.
class RssSampler {
public:
  explicit RssSampler(pid_t pid)
      : m_thread([this, pid] {
          while (!m_done) {
            if (auto s = read_process_stats(pid)) {
              m_peak = std::max<std::uint64_t>(m_peak, s->rss_bytes);
            }
            std::this_thread::sleep_for(20ms);
          }
        }) {}
  std::uint64_t stop() {
    m_done = true;
    m_thread.join();
    return m_peak;
  }

private:
  std::atomic<bool> m_done{false};
  std::atomic<std::uint64_t> m_peak{0};
  std::thread m_thread;
};

// The Vault call the plugin makes for a wrapped token, made directly.
class DirectClient {
public:
  explicit DirectClient(const std::string& address)
      : m_client(config_for(address)) {}
  bool call() {
    vault::TokenCreateRequest req;
    req.role = "vsp-task";
    req.policies = {"app-read"};
    req.meta = {{"vsp_task_id", "t"}, {"vsp_secret", "app-token"}};
    req.display_name = "vsp-bench";
    return m_client
        .create_token_wrapped(
            m_token, req, std::chrono::seconds(600), Deadline::after(30s))
        .ok();
  }

private:
  static vault::Config config_for(const std::string& address) {
    vault::Config c;
    c.address = address;
    c.max_idle_connections = 64;
    return c;
  }
  vault::Client m_client;
  const SecretString m_token{"hvs.bench-direct"};
};

json sequential(PluginProcess& plugin,
                DirectClient& direct,
                std::chrono::milliseconds duration) {
  PluginConnection c(plugin.socket());
  const double p0 = cpu_seconds(plugin.pid());
  const Phase p = run_load(1, duration, [&](int, long n) {
    return c.get_secret("app-token", fmt::format("seq-{}", n));
  });
  const double p1 = cpu_seconds(plugin.pid());
  const double d0 = cpu_seconds(0);
  const Phase d =
      run_load(1, duration, [&](int, long) { return direct.call(); });
  const double d1 = cpu_seconds(0);
  return {{"concurrency", 1},
          {"requests", p.latencies.size()},
          {"failures", p.failures},
          {"cpu_us_per_request", per_request_us(p1 - p0, p.latencies.size())},
          {"direct_client_cpu_us_per_request",
           per_request_us(d1 - d0, d.latencies.size())}};
}

json concurrent(PluginProcess& plugin,
                DirectClient& direct,
                int threads,
                long tasks) {
  std::vector<PluginConnection> connections;
  connections.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    connections.emplace_back(plugin.socket());
  }
  RssSampler sampler(plugin.pid());
  const double p0 = cpu_seconds(plugin.pid());
  const long failures = run_count(threads, tasks, [&](int t, long n) {
    return connections[static_cast<std::size_t>(t)].get_secret(
        "app-token", fmt::format("par-{}", n));
  });
  const double p1 = cpu_seconds(plugin.pid());
  const std::uint64_t peak = sampler.stop();
  const auto n = static_cast<std::size_t>(tasks - failures);
  const double d0 = cpu_seconds(0);
  const long direct_failures =
      run_count(threads, tasks, [&](int, long) { return direct.call(); });
  const double d1 = cpu_seconds(0);
  return {{"concurrency", threads},
          {"requests", n},
          {"failures", failures},
          {"cpu_us_per_request", per_request_us(p1 - p0, n)},
          {"direct_client_cpu_us_per_request",
           per_request_us(d1 - d0,
                          static_cast<std::size_t>(tasks - direct_failures))},
          {"peak_rss_mib", mib(peak)},
          {"threads_after", stats_of(plugin.pid()).threads}};
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
                       {},
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
  const long tasks = static_cast<long>(flags.number("tasks", 5000));
  const std::vector<int> cg = flags.numbers("callgrind", {50, 550});

  test::TempDir dir;
  FakeVault vault_server(flags.text("fake-vault", "bench/fake_vault"),
                         flags.number("latency-ms", 10),
                         dir);
  PluginProcess plugin(
      flags.text("plugin", "plugin/vsp-plugin"), vault_server.address(), dir);
  if (!plugin.wait_ready(10s)) {
    std::cerr << "request_cost: the plugin did not start:\n"
              << plugin.process().err();
    return 1;
  }
  // The login happens on the first request; idle means logged in.
  PluginConnection(plugin.socket()).get_secret("app-token", "warm-up");
  DirectClient direct(vault_server.address());
  direct.call();
  std::this_thread::sleep_for(500ms);
  const ProcessStats idle = stats_of(plugin.pid());

  json out{{"benchmark", "request_cost"},
           {"idle_rss_mib", mib(idle.rss_bytes)},
           {"idle_threads", idle.threads}};
  out["sequential"] = sequential(plugin, direct, duration);
  out["concurrent"] = concurrent(plugin, direct, concurrency, tasks);
  std::this_thread::sleep_for(500ms);
  out["rss_after_load_mib"] = mib(stats_of(plugin.pid()).rss_bytes);

  const std::string valgrind = flags.text("valgrind", "/usr/bin/valgrind");
  if (cg.size() == 2 && cg[1] > cg[0] &&
      ::access(valgrind.c_str(), X_OK) == 0) {
    const double low = callgrind_run(flags, vault_server.address(), cg[0]);
    const double high = callgrind_run(flags, vault_server.address(), cg[1]);
    out["callgrind"] = {
        {"requests", {cg[0], cg[1]}},
        {"instructions_per_request",
         rounded((high - low) / static_cast<double>(cg[1] - cg[0]), 0)}};
  } else {
    out["callgrind"] = "skipped";
  }
  std::cout << out.dump() << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "request_cost: " << e.what() << '\n';
  return 1;
}
