#include "plugin/plugin_metrics.hpp"

#include "core/util/process_stats.hpp"
#include "core/vault/login.hpp"
#include "plugin/http_server.hpp"

#include <charconv>
#include <limits>
#include <memory>

namespace vsp::plugin {
namespace {

using metrics::Type;
using Clock = std::chrono::steady_clock;

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

// One read of /proc per scrape, however many process_* samples use it.
class ProcessReader {
public:
  // A field of the stats read at most 500 ms ago; nullopt when /proc
  // cannot be read or the field is unknown (negative).
  template <typename T>
  std::optional<double> get(T ProcessStats::*field) {
    std::lock_guard lock(m_mutex);
    const auto now = Clock::now();
    if (!m_stats || now - m_read_at > std::chrono::milliseconds(500)) {
      auto s = read_process_stats();
      m_stats = s ? std::optional<ProcessStats>(*s) : std::nullopt;
      m_read_at = now;
    }
    if (!m_stats) {
      return std::nullopt;
    }
    const auto v = static_cast<double>((*m_stats).*field);
    return v < 0 ? std::nullopt : std::optional<double>(v);
  }

private:
  std::mutex m_mutex;
  std::optional<ProcessStats> m_stats;
  Clock::time_point m_read_at{};
};

void watch_process(metrics::Registry& r) {
  auto p = std::make_shared<ProcessReader>();
  r.callback("process_cpu_seconds_total",
             "User and system CPU time spent, in seconds.",
             Type::counter,
             [p] { return p->get(&ProcessStats::cpu_seconds); });
  r.callback("process_resident_memory_bytes",
             "Resident memory size in bytes.",
             Type::gauge,
             [p] { return p->get(&ProcessStats::rss_bytes); });
  r.callback("process_virtual_memory_bytes",
             "Virtual memory size in bytes.",
             Type::gauge,
             [p] { return p->get(&ProcessStats::virtual_bytes); });
  r.callback("process_start_time_seconds",
             "Start time of the process since the epoch, in seconds.",
             Type::gauge,
             [p] { return p->get(&ProcessStats::start_time); });
  r.callback("process_open_fds", "Open file descriptors.", Type::gauge, [p] {
    return p->get(&ProcessStats::open_fds);
  });
  r.callback("process_max_fds",
             "Limit on open file descriptors.",
             Type::gauge,
             [p] { return p->get(&ProcessStats::max_fds); });
  r.callback("process_threads", "Threads of the process.", Type::gauge, [p] {
    return p->get(&ProcessStats::threads);
  });
}

} // namespace

const char* to_string(Outcome outcome) {
  switch (outcome) {
  case Outcome::issued:
    return "issued";
  case Outcome::reused:
    return "reused";
  case Outcome::denied:
    return "denied";
  case Outcome::invalid:
    return "invalid";
  case Outcome::timeout:
    return "timeout";
  case Outcome::failed:
    return "failed";
  }
  return "failed";
}

PluginMetrics::PluginMetrics()
    : m_requests(m_registry.counter(
          "vsp_requests_total",
          "GetSecret requests answered, by outcome and deciding rule.",
          {"outcome", "rule"})),
      m_request_seconds(m_registry.histogram(
          "vsp_request_duration_seconds",
          "Time from a GetSecret request's arrival to its answer.",
          {"outcome"},
          metrics::latency_buckets())),
      m_vault_seconds(m_registry.histogram(
          "vsp_vault_request_duration_seconds",
          "Vault calls by operation and HTTP status (or error code when "
          "no answer came), retries included.",
          {"operation", "status"},
          metrics::latency_buckets())),
      m_issued(m_registry.counter(
          "vsp_credentials_issued_total",
          "Credentials handed out anew (repeats within the reuse window "
          "are not counted).",
          {"kind", "rule"})),
      m_revoked(m_registry.counter(
          "vsp_credentials_revoked_total",
          "Credentials this plugin revoked before their TTL ran out, by "
          "reason (task_ended, never_handed_out).",
          {"kind", "reason"})),
      m_ledger_rows(m_registry.gauge(
          "vsp_ledger_entries",
          "Issuances recorded in the ledger, by state (revocations by "
          "`vsp revoke` included).",
          {"state"})) {
  watch_process(m_registry);
}

void PluginMetrics::request(Outcome outcome,
                            std::string_view rule,
                            std::chrono::nanoseconds elapsed) {
  const char* name = to_string(outcome);
  m_requests.with({name, rule}).inc();
  m_request_seconds.with({name}).observe(seconds(elapsed));
}

void PluginMetrics::issued(std::string_view kind, std::string_view rule) {
  m_issued.with({kind, rule}).inc();
}

void PluginMetrics::revoked(std::string_view kind, std::string_view reason) {
  m_revoked.with({kind, reason}).inc();
}

void PluginMetrics::on_call(const vault::CallRecord& record) noexcept {
  try {
    char digits[8];
    std::string_view status = record.error;
    if (status.empty()) {
      const auto [end, ec] =
          std::to_chars(digits, digits + sizeof digits, record.http_status);
      status = ec == std::errc() ? std::string_view(digits, end - digits)
                                 : std::string_view("unknown");
    }
    m_vault_seconds.with({record.operation, status})
        .observe(seconds(record.elapsed));
  } catch (...) {
    // A metric that cannot be recorded (out of memory) is dropped.
  }
}

void PluginMetrics::watch_login(const vault::Auth& login) {
  m_registry.callback("vsp_login_valid",
                      "1 while the plugin holds a Vault login believed "
                      "valid, else 0.",
                      Type::gauge,
                      [&login]() -> std::optional<double> {
                        return login.state().logged_in ? 1 : 0;
                      });
  m_registry.callback(
      "vsp_login_ttl_seconds",
      "Seconds until the plugin's own Vault login expires (+Inf: never).",
      Type::gauge,
      [&login]() -> std::optional<double> {
        const vault::LoginState s = login.state();
        if (!s.logged_in) {
          return 0;
        }
        if (s.ttl.count() == 0) {
          return std::numeric_limits<double>::infinity();
        }
        return static_cast<double>(s.remaining.count());
      });
}

void PluginMetrics::watch_server(const HttpServer& server) {
  m_registry.callback(
      "vsp_http_in_flight_requests",
      "Requests received on the plugin's socket and not yet answered.",
      Type::gauge,
      [&server]() -> std::optional<double> {
        return static_cast<double>(server.stats().in_flight);
      });
  m_registry.callback("vsp_http_connections",
                      "Open connections on the plugin's socket.",
                      Type::gauge,
                      [&server]() -> std::optional<double> {
                        return static_cast<double>(
                            server.stats().connections_open);
                      });
}

void PluginMetrics::watch_ledger(LedgerRows rows) {
  std::lock_guard lock(m_ledger_mutex);
  m_read_ledger = std::move(rows);
}

void PluginMetrics::watch_ledger_memory(std::function<std::int64_t()> bytes) {
  m_registry.callback(
      "vsp_ledger_memory_bytes",
      "Memory SQLite holds for the ledger: its page cache (at most about "
      "2 MB), schema and prepared statements.",
      Type::gauge,
      [bytes = std::move(bytes)]() -> std::optional<double> {
        return static_cast<double>(bytes());
      });
}

PluginMetrics::Totals PluginMetrics::totals() const {
  Totals t;
  m_requests.each(
      [&](const std::vector<std::string>& labels, const metrics::Counter& c) {
        t.requests[labels[0]] += c.value();
      });
  m_issued.each([&](const std::vector<std::string>&,
                    const metrics::Counter& c) { t.issued += c.value(); });
  m_revoked.each([&](const std::vector<std::string>&,
                     const metrics::Counter& c) { t.revoked += c.value(); });
  m_vault_seconds.each(
      [&](const std::vector<std::string>& labels, const metrics::Histogram& h) {
        const std::uint64_t n = h.snapshot().count;
        t.vault_calls += n;
        const std::string& status = labels[1];
        const bool answered_ok =
            !status.empty() && (status[0] == '2' || status[0] == '3');
        if (!answered_ok) {
          t.vault_failures += n;
        }
      });
  return t;
}

std::string PluginMetrics::render() const {
  {
    std::lock_guard lock(m_ledger_mutex);
    const auto rows = m_read_ledger ? m_read_ledger() : std::nullopt;
    for (const auto& [state, n] :
         rows.value_or(std::map<std::string, std::int64_t>{})) {
      m_ledger_rows.with({state}).set(static_cast<double>(n));
    }
  }
  return m_registry.render();
}

} // namespace vsp::plugin
