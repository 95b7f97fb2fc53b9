#include "plugin/status_report.hpp"

#include "core/docker/engine_client.hpp"
#include "core/ledger/ledger.hpp"
#include "core/util/process_stats.hpp"
#include "core/util/redact.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"
#include "plugin/http_server.hpp"
#include "plugin/plugin.hpp"
#include "plugin/plugin_metrics.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>
#include <unistd.h>

namespace vsp::plugin {
namespace {

using nlohmann::json;

std::string utc_text(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", tm);
}

json login_part(const vault::Auth* login) {
  if (login == nullptr) {
    return {{"valid", false}, {"error", "no login configured"}};
  }
  const vault::LoginState s = login->state();
  json out{{"valid", s.logged_in},
           {"method", s.method},
           {"expires", s.ttl.count() > 0},
           {"ttl_seconds", s.remaining.count()},
           {"renewable", s.renewable},
           {"logins", s.logins},
           {"renewals", s.renewals}};
  if (!s.last_error.empty()) {
    out["last_error"] = s.last_error;
  }
  return out;
}

json rules_part(const Plugin* plugin) {
  if (plugin == nullptr) {
    return {{"loaded", false}};
  }
  const Plugin::RulesState s = plugin->rules_state();
  json out{{"loaded", true},
           {"file", s.path},
           {"rules", s.rules},
           {"loaded_at", utc_text(s.loaded_at)}};
  if (!s.last_error.empty()) {
    out["last_reload_error"] = s.last_error;
  }
  return out;
}

json vault_part(vault::Client* vault, Deadline deadline) {
  if (vault == nullptr) {
    return {{"reachable", false}, {"error", "no vault client"}};
  }
  json out{{"address", redact_url(vault->config().address)}};
  auto health = vault->health(deadline);
  if (!health) {
    out["reachable"] = false;
    out["error"] = health.error().message;
    return out;
  }
  out["reachable"] = true;
  out["sealed"] = health->sealed;
  out["standby"] = health->standby;
  if (!health->version.empty()) {
    out["version"] = health->version;
  }
  return out;
}

json engine_part(const docker::EngineClient* engine, Deadline deadline) {
  if (engine == nullptr) {
    return {{"configured", false},
            {"reachable", false},
            {"state", "not configured"}};
  }
  json out{{"configured", true}, {"endpoint", engine->describe()}};
  auto info = engine->info(deadline);
  if (!info) {
    out["reachable"] = false;
    out["error"] = info.error().message;
    out["state"] = "NOT REACHABLE: " + info.error().message;
    return out;
  }
  out["reachable"] = true;
  out["swarm_state"] = info->swarm_state;
  out["manager"] = info->is_manager;
  out["state"] = info->is_manager
                     ? "reachable (swarm manager)"
                     : fmt::format("reachable, NOT a swarm manager (swarm {})",
                                   info->swarm_state);
  return out;
}

json ledger_part(ledger::Ledger* ledger, const std::string& path) {
  if (ledger == nullptr) {
    return {{"open", false}};
  }
  json out{{"open", true}, {"path", path}};
  if (const auto failure = ledger->last_write_failure()) {
    out["write_error"] = failure->message;
    out["write_error_at"] = utc_text(std::chrono::system_clock::time_point(
        std::chrono::milliseconds(failure->at_ms)));
  }
  auto stats = ledger->stats();
  if (!stats) {
    out["error"] = stats.error().message;
    return out;
  }
  json rows = json::object();
  for (const auto& [state, n] : stats->rows) {
    rows[ledger::to_string(state)] = n;
  }
  out["rows"] = rows;
  out["file_bytes"] = stats->file_bytes + stats->wal_bytes;
  return out;
}

json counters_part(const PluginMetrics* metrics) {
  if (metrics == nullptr) {
    return json::object();
  }
  const PluginMetrics::Totals t = metrics->totals();
  return {{"requests", t.requests},
          {"credentials_issued", t.issued},
          {"credentials_revoked", t.revoked},
          {"vault_calls", t.vault_calls},
          {"vault_failures", t.vault_failures}};
}

json process_part(const HttpServer* server) {
  json out{{"pid", ::getpid()}};
  if (auto s = read_process_stats()) {
    out["rss_bytes"] = s->rss_bytes;
    out["cpu_seconds"] = s->cpu_seconds;
    out["threads"] = s->threads;
    out["uptime_seconds"] = static_cast<long long>(
        static_cast<double>(std::time(nullptr)) - s->start_time);
  }
  if (server != nullptr) {
    const ServerStats st = server->stats();
    out["connections"] = st.connections_open;
    out["in_flight"] = st.in_flight;
    out["served"] = st.requests_served;
  }
  return out;
}

} // namespace

json status_report(const StatusSources& sources, Deadline deadline) {
  return {{"login", login_part(sources.login)},
          {"rules", rules_part(sources.plugin)},
          {"vault", vault_part(sources.vault, deadline)},
          {"docker_engine", engine_part(sources.engine, deadline)},
          {"ledger", ledger_part(sources.ledger, sources.ledger_path)},
          {"counters", counters_part(sources.metrics)},
          {"process", process_part(sources.server.load())}};
}

} // namespace vsp::plugin
