#pragma once

#include "core/util/deadline.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <string>

namespace vsp::docker {
class EngineClient;
}
namespace vsp::ledger {
class Ledger;
}
namespace vsp::vault {
class Auth;
class Client;
} // namespace vsp::vault

namespace vsp::plugin {

class HttpServer;
class Plugin;
class PluginMetrics;

// What GET /status reads. Every pointer must outlive the report's callers.
struct StatusSources {
  const vault::Auth* login = nullptr;
  const Plugin* plugin = nullptr;
  vault::Client* vault = nullptr;
  const PluginMetrics* metrics = nullptr;
  // Set once the server runs; null before.
  std::atomic<const HttpServer*> server{nullptr};
  // The Docker Engine API the plugin lists tasks with; null: none.
  const docker::EngineClient* engine = nullptr;
  // The issuance ledger and its file; null: none.
  ledger::Ledger* ledger = nullptr;
  std::string ledger_path;
};

// The answer to GET /status, as `vsp status` shows it: the Vault login
// (valid, TTL left, method), the rules (file, count, when loaded, the
// last failed reload), whether Vault answers sys/health and the Engine API
// answers /info within `deadline`, the ledger's rows by state, and the
// counters. Never holds a token or an accessor.
nlohmann::json status_report(const StatusSources& sources, Deadline deadline);

} // namespace vsp::plugin
