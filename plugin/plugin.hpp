#pragma once

#include "core/issuer/issuer.hpp"
#include "core/rules/rule_set.hpp"
#include "plugin/config.hpp"
#include "plugin/http_server.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

namespace vsp::plugin {

class PluginMetrics;

// The plugin's request handling: Docker's protocol in, rules and issuer
// in the middle, Docker's protocol out. Owns the current rules, which a
// reload swaps whole.
class Plugin {
public:
  // `ledger` (null: none) records every issuance; it must outlive the
  // Plugin.
  Plugin(Config config,
         rules::RuleSet rules,
         vault::Client& vault,
         vault::TokenSource& login,
         ledger::Ledger* ledger = nullptr);

  // Answers one HTTP request from Docker. Never throws.
  HttpResponse handle(const HttpRequest& request);

  // Loads the rules file again. An invalid file keeps the current rules;
  // the error says why.
  Status reload_rules();

  std::shared_ptr<const rules::RuleSet> rules() const;

  // Wipes the values handed out whose reuse window has ended, so none
  // stays in memory longer than it can be asked for again. main() calls
  // it every second.
  void forget_expired() { m_issuer.forget_expired(); }

  // What `vsp status` shows of the rules.
  struct RulesState {
    std::string path;
    std::size_t rules = 0;
    std::chrono::system_clock::time_point loaded_at;
    std::string last_error; // of the last reload that failed, if it did
  };
  RulesState rules_state() const;

  // Counts every GetSecret in `metrics` (null: none) from now on. Call
  // before serving; `metrics` must outlive the Plugin.
  void set_metrics(PluginMetrics* metrics) { m_metrics = metrics; }

private:
  HttpResponse get_secret(const HttpRequest& request);

  Config m_config;
  std::shared_ptr<const rules::RuleSet> m_rules; // atomic access only
  issuer::Issuer m_issuer;
  PluginMetrics* m_metrics = nullptr;
  mutable std::mutex m_state_mutex; // guards the two below
  std::chrono::system_clock::time_point m_rules_loaded_at;
  std::string m_reload_error;
};

} // namespace vsp::plugin
