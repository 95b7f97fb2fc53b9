#include "bench/harness.hpp"

#include "tests/support/paths.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace vsp::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

bool wait_for_file(const std::string& path, std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (!test::read_file(path).empty()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

} // namespace

// ---- Flags -----------------------------------------------------------------

Flags::Flags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) {
      throw std::runtime_error("unexpected argument " + name);
    }
    name = name.substr(2);
    std::string value = "true";
    if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      value = argv[++i];
    }
    m_values.emplace_back(name, value);
  }
}

bool Flags::has(const std::string& name) const {
  return std::any_of(m_values.begin(), m_values.end(), [&](const auto& kv) {
    return kv.first == name;
  });
}

std::string Flags::text(const std::string& name,
                        const std::string& fallback) const {
  for (const auto& [k, v] : m_values) {
    if (k == name) {
      return v;
    }
  }
  return fallback;
}

double Flags::number(const std::string& name, double fallback) const {
  const std::string v = text(name, "");
  return v.empty() ? fallback : std::atof(v.c_str());
}

std::vector<int> Flags::numbers(const std::string& name,
                                const std::vector<int>& fallback) const {
  const std::string v = text(name, "");
  if (v.empty()) {
    return fallback;
  }
  std::vector<int> out;
  std::size_t start = 0;
  while (start <= v.size()) {
    const auto comma = std::min(v.find(',', start), v.size());
    out.push_back(std::atoi(v.substr(start, comma - start).c_str()));
    start = comma + 1;
  }
  return out;
}

// ---- FakeVault -------------------------------------------------------------

FakeVault::FakeVault(const std::string& binary,
                     double latency_ms,
                     test::TempDir& dir) {
  const std::string ready = dir.file("fake-vault.ready");
  m_process = std::make_unique<test::ChildProcess>(
      binary,
      std::vector<std::string>{
          "--latency-ms", fmt::format("{}", latency_ms), "--ready-file", ready},
      std::vector<std::string>{},
      dir.path());
  if (!wait_for_file(ready, 10s)) {
    throw std::runtime_error("fake_vault did not start");
  }
  m_address = test::read_file(ready);
  while (!m_address.empty() && m_address.back() == '\n') {
    m_address.pop_back();
  }
}

nlohmann::json FakeVault::stats() const {
  const auto port = m_address.substr(m_address.rfind(':') + 1);
  return nlohmann::json::parse(
      http_get_loopback(std::atoi(port.c_str()), "/_stats"), nullptr, false);
}

std::string http_get_loopback(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return {};
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) ==
      0) {
    const std::string request = fmt::format(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        path);
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n = 0;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
        reply.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  const auto body = reply.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : reply.substr(body + 4);
}

// ---- PluginProcess ---------------------------------------------------------

std::string bench_rules() {
  return R"(defaults:
  token_role: vsp-task
  wrap_ttl: 10m
rules:
  - name: app
    match:
      secret: "app-*"
    allowed_policies: [app-read, app-write]
    policies: [app-read]
    ttl: 1h
  - name: plain
    match:
      secret: "plain-*"
    kind: token
    allowed_policies: [app-read]
    policies: [app-read]
    ttl: 1h
  - name: shared-kv
    match:
      secret: "kv-*"
    kind: kv
    allowed_policies: [app-read]
    path_prefix: secret/shared/
    path: db
    kv_version: 2
    field: password
  - name: db
    match:
      secret: "db-*"
    kind: dynamic
    allowed_policies: [app-read]
    path_prefix: database/creds/
    path: readonly
    template: "{{ username }}:{{ password }}"
    ttl: 1h
)";
}

nlohmann::json token_role_config(const std::string& token_file) {
  using nlohmann::json;
  const json read{{"capabilities", {"read"}}};
  const json update{{"capabilities", {"update"}}};
  return {
      {"policies",
       {{"app-read",
         {{"path",
           {{"secret/data/app/*", read},
            {"secret/data/shared/*", read},
            {"database/creds/*", read}}}}},
        {"app-write", {{"path", {{"secret/data/app/*", update}}}}},
        {"vsp-plugin", {{"path", {{"auth/token/create/vsp-task", update}}}}}}},
      {"mounts",
       {{"database/",
         {{"type", "database"},
          {"roles",
           {{"readonly", {{"default_ttl", "1h"}, {"max_ttl", "24h"}}}}}}}}},
      {"kv", {{"secret/shared/db", {{"password", "bench-kv-value"}}}}},
      {"token_roles",
       {{"vsp-task",
         {{"allowed_policies", {"app-read", "app-write"}},
          {"orphan", true},
          {"renewable", true}}}}},
      {"tokens",
       json::array({{{"policies", {"vsp-plugin"}},
                     {"ttl", "24h"},
                     {"renewable", true},
                     {"write_to", token_file}}})}};
}

PluginProcess::PluginProcess(const std::string& binary,
                             const std::string& vault_address,
                             test::TempDir& dir,
                             std::vector<std::string> extra_env,
                             std::vector<std::string> wrapper)
    : m_socket(dir.file("vsp.sock")) {
  std::vector<std::string> env = std::move(extra_env);
  for (std::string line : {
           "VSP_SOCKET=" + m_socket,
           "VSP_RULES=" + dir.write("rules.yaml", bench_rules()),
           "VSP_TOKEN_FILE=" + dir.write("token", "hvs.bench-plugin-token"),
           "VSP_LEDGER=" + dir.file("ledger.db"),
           "VAULT_ADDR=" + vault_address,
           std::string("PATH=/usr/bin:/bin"),
       }) {
    env.push_back(std::move(line));
  }
  std::string program = binary;
  std::vector<std::string> args;
  if (!wrapper.empty()) {
    program = wrapper.front();
    args.assign(wrapper.begin() + 1, wrapper.end());
    args.push_back(binary);
  }
  m_process =
      std::make_unique<test::ChildProcess>(program, args, env, dir.path());
}

bool PluginProcess::wait_ready(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until && m_process->running()) {
    if (auto c = test::UnixHttpClient::connect(m_socket)) {
      auto r =
          c->round_trip(test::docker_request("/Plugin.Activate", "{}"),
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                            until - Clock::now()));
      if (r && r->status == 200) {
        return true;
      }
    }
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

// ---- PluginConnection ------------------------------------------------------

std::string get_secret_body(const std::string& secret,
                            const std::string& task_id) {
  return fmt::format(
      R"({{"SecretName":"{0}","SecretLabels":{{"vsp.policies":"app-read"}},)"
      R"("ServiceID":"svc-bench","ServiceName":"bench",)"
      R"("ServiceLabels":{{"com.docker.stack.namespace":"bench"}},)"
      R"("TaskID":"{1}","TaskName":"bench.1.{1}","TaskImage":"busybox",)"
      R"("NodeID":"node-bench"}})",
      secret,
      task_id);
}

PluginConnection::PluginConnection(std::string socket)
    : m_socket(std::move(socket)) {}

bool PluginConnection::ensure() {
  if (m_client) {
    return true;
  }
  auto c = test::UnixHttpClient::connect(m_socket);
  if (!c) {
    return false;
  }
  m_client.emplace(std::move(c).value());
  return true;
}

bool PluginConnection::get_secret(const std::string& secret,
                                  const std::string& task_id) {
  if (!ensure()) {
    return false;
  }
  auto r = m_client->round_trip(
      test::docker_request("/SecretProvider.GetSecret",
                           get_secret_body(secret, task_id)),
      30s);
  if (!r) {
    m_client.reset();
    return false;
  }
  return r->status == 200 && r->body.find("\"Value\"") != std::string::npos;
}

std::optional<std::string> PluginConnection::get(const std::string& path) {
  if (!ensure()) {
    return std::nullopt;
  }
  auto r = m_client->round_trip(
      fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\n\r\n", path), 30s);
  if (!r || r->status != 200) {
    m_client.reset();
    return std::nullopt;
  }
  return r->body;
}

// ---- load and statistics ---------------------------------------------------

double Phase::throughput() const {
  return seconds > 0 ? static_cast<double>(latencies.size()) / seconds : 0;
}

double Phase::quantile_ms(double q) const {
  if (latencies.empty()) {
    return 0;
  }
  std::vector<Nanos> sorted = latencies;
  const auto k = static_cast<std::size_t>(
      std::min<double>(static_cast<double>(sorted.size() - 1),
                       std::ceil(q * static_cast<double>(sorted.size())) - 1));
  std::nth_element(
      sorted.begin(), sorted.begin() + static_cast<long>(k), sorted.end());
  return static_cast<double>(sorted[k].count()) / 1e6;
}

Phase run_load(int threads,
               std::chrono::milliseconds duration,
               const std::function<bool(int, long)>& call) {
  std::mutex mutex;
  Phase phase;
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  const auto started = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<Nanos> mine;
      mine.reserve(4096);
      long failures = 0;
      for (long n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        const auto begin = Clock::now();
        const bool ok = call(t, n);
        const auto took = Clock::now() - begin;
        if (ok) {
          mine.push_back(std::chrono::duration_cast<Nanos>(took));
        } else {
          ++failures;
        }
      }
      std::lock_guard lock(mutex);
      phase.latencies.insert(phase.latencies.end(), mine.begin(), mine.end());
      phase.failures += failures;
    });
  }
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& th : pool) {
    th.join();
  }
  phase.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return phase;
}

long run_count(int threads,
               long total,
               const std::function<bool(int, long)>& call) {
  std::atomic<long> next{0};
  std::atomic<long> failures{0};
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (long i = next++; i < total; i = next++) {
        if (!call(t, i)) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  return failures;
}

Spread spread(std::vector<double> values) {
  Spread s;
  if (values.empty()) {
    return s;
  }
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  s.median =
      n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  s.min = values.front();
  s.max = values.back();
  return s;
}

double rounded(double v, int decimals) {
  const double f = std::pow(10.0, decimals);
  return std::round(v * f) / f;
}

nlohmann::json to_json(const Spread& s, int decimals) {
  return {{"median", rounded(s.median, decimals)},
          {"min", rounded(s.min, decimals)},
          {"max", rounded(s.max, decimals)}};
}

} // namespace vsp::bench
