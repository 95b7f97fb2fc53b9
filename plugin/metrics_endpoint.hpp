#pragma once

#include "core/util/result.hpp"
#include "core/vault/login.hpp"
#include "plugin/http_server.hpp"
#include "plugin/plugin_metrics.hpp"
#include "plugin/status_report.hpp"

#include <functional>
#include <memory>
#include <string>

namespace vsp::docker {
class EngineClient;
}
namespace vsp::ledger {
class Ledger;
}
namespace vsp::vault {
class Client;
}

namespace vsp::plugin {

class Plugin;

enum class AllowRemote { no, yes };

// Where /metrics is served besides the plugin's socket.
struct MetricsSettings {
  // VSP_METRICS_ADDR: "PORT", ":PORT", "HOST:PORT" or "[V6]:PORT", where
  // HOST is an IP literal or "localhost"; no host means 127.0.0.1.
  // Empty: the socket only.
  std::string address;
  // VSP_METRICS_ALLOW_REMOTE=true: accept a non-loopback address. Off by
  // default because the endpoint has neither TLS nor authentication, the
  // plugin shares the host's network on every manager, and its metrics
  // name rules, services' activity and Vault's health.
  AllowRemote allow_remote = AllowRemote::no;

  // Reads the two variables. Fails on a malformed address, a host name
  // other than localhost, or a non-loopback address without
  // VSP_METRICS_ALLOW_REMOTE=true.
  static Result<MetricsSettings> from_env(const vault::Getenv& getenv);
};

// Prometheus' text format on a TCP address: GET /metrics, 404 for
// anything else. Its own thread; at most a few connections.
class MetricsServer {
public:
  // Listens on `settings.address` (which from_env() has checked).
  static Result<std::unique_ptr<MetricsServer>>
  start(const MetricsSettings& settings, const PluginMetrics& metrics);
  ~MetricsServer(); // stops listening
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "127.0.0.1:PORT" as bound (the port is real when 0 was asked).
  const std::string& address() const { return m_address; }

  class Impl;

private:
  explicit MetricsServer(std::unique_ptr<Impl> impl, std::string address);
  std::unique_ptr<Impl> m_impl;
  std::string m_address;
};

// What observability adds to the plugin, wired in one place: the metrics
// (fed by the Plugin, the Vault client and the login), GET /metrics and
// GET /status on the plugin's socket, and the optional TCP listener.
class Observability {
public:
  Observability(MetricsSettings settings,
                Plugin& app,
                vault::Client& vault,
                const vault::Auth& login);
  ~Observability(); // stop(), and detaches from the Vault client
  Observability(const Observability&) = delete;
  Observability& operator=(const Observability&) = delete;

  // The Engine API (null: none) and the ledger (null: none) /status and
  // /metrics report on; call before serving. Both must outlive this.
  void watch_engine(const docker::EngineClient* engine);
  void watch_ledger(ledger::Ledger* ledger, std::string path);

  // The plugin's handler with /metrics and /status in front of `next`.
  Handler wrap(Handler next);
  // Once the server runs: its gauges, and the TCP listener if one is
  // configured (failing when it cannot listen).
  Status start(const HttpServer& server);
  // Stops the TCP listener; call before the server goes away.
  void stop();

  PluginMetrics& metrics() { return m_metrics; }
  const MetricsServer* tcp() const { return m_tcp.get(); }

private:
  HttpResponse answer_metrics() const;
  HttpResponse answer_status() const;

  MetricsSettings m_settings;
  vault::Client& m_vault;
  PluginMetrics m_metrics;
  StatusSources m_status;
  std::unique_ptr<MetricsServer> m_tcp;
};

} // namespace vsp::plugin
