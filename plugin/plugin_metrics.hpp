#pragma once

#include "core/util/metrics.hpp"
#include "core/vault/client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace vsp::vault {
class Auth;
}

namespace vsp::plugin {

class HttpServer;

// How one GetSecret ended, as counted.
enum class Outcome {
  issued,  // a new value was minted or read
  reused,  // the value given to the same task within the reuse window
  denied,  // the rules refused
  invalid, // the request could not be read
  timeout, // the deadline passed
  failed,  // Vault or the plugin failed
};

const char* to_string(Outcome outcome);

// The plugin's metrics, exposed at /metrics:
//   vsp_requests_total{outcome,rule}
//   vsp_request_duration_seconds{outcome}               histogram
//   vsp_vault_request_duration_seconds{operation,status} histogram
//   vsp_credentials_issued_total{kind,rule}
//   vsp_credentials_revoked_total{kind,reason}
//   vsp_ledger_entries{state}, vsp_ledger_memory_bytes
//   vsp_login_valid, vsp_login_ttl_seconds,
//   vsp_http_in_flight_requests, vsp_http_connections, process_*
// Recording is lock-free once a label combination exists. Also the
// observer of the plugin's Vault client.
class PluginMetrics final : public vault::CallObserver {
public:
  PluginMetrics();
  PluginMetrics(const PluginMetrics&) = delete;
  PluginMetrics& operator=(const PluginMetrics&) = delete;

  // One GetSecret answered: how, under which rule ("" when none decided)
  // and how long it took.
  void request(Outcome outcome,
               std::string_view rule,
               std::chrono::nanoseconds elapsed);
  // A credential handed out anew (repeats within the window are not).
  void issued(std::string_view kind, std::string_view rule);
  // A credential this plugin ended before its TTL: its task ended
  // ("task_ended"), or the plugin died before handing it out
  // ("never_handed_out"). Revocations by `vsp revoke` happen in another
  // process and show in vsp_ledger_entries{state="revoked"}.
  void revoked(std::string_view kind, std::string_view reason);
  void on_call(const vault::CallRecord& record) noexcept override;

  // Gauges read at every scrape; each object must outlive this one.
  void watch_login(const vault::Auth& login);
  void watch_server(const HttpServer& server);
  // The ledger's rows by state, read at every scrape; until this is
  // called, or when the read fails, vsp_ledger_entries keeps its last
  // samples.
  using LedgerRows =
      std::function<std::optional<std::map<std::string, std::int64_t>>()>;
  void watch_ledger(LedgerRows rows);
  // vsp_ledger_memory_bytes, read at every scrape.
  void watch_ledger_memory(std::function<std::int64_t()> bytes);

  // Sums for `vsp status`.
  struct Totals {
    std::map<std::string, std::uint64_t> requests; // by outcome
    std::uint64_t issued = 0;
    std::uint64_t revoked = 0;
    std::uint64_t vault_calls = 0;
    std::uint64_t vault_failures = 0; // no answer, or an answer >= 400
  };
  Totals totals() const;

  // The text exposition (format 0.0.4).
  std::string render() const;

private:
  metrics::Registry m_registry;
  metrics::Family<metrics::Counter>& m_requests;
  metrics::Family<metrics::Histogram>& m_request_seconds;
  metrics::Family<metrics::Histogram>& m_vault_seconds;
  metrics::Family<metrics::Counter>& m_issued;
  metrics::Family<metrics::Counter>& m_revoked;
  metrics::Family<metrics::Gauge>& m_ledger_rows;

  mutable std::mutex m_ledger_mutex; // guards m_read_ledger
  LedgerRows m_read_ledger;
};

} // namespace vsp::plugin
