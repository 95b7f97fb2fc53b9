#include "plugin/plugin.hpp"

#include "core/docker/protocol.hpp"
#include "core/util/duration.hpp"
#include "core/util/log.hpp"
#include "plugin/plugin_metrics.hpp"

#include <fmt/format.h>

namespace vsp::plugin {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* k_component = "plugin";

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                               start)
      .count();
}

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Who refused: the request or the rules (the plugin works as meant, at
// warn level), or Vault, the deadline or the ledger once the rules allowed
// (the deployment needs a look, at error level, whatever the error's kind:
// a role refusing a policy is a 400 but the operator's to fix).
enum class RefusedBy { request, issuance };

// Every refusal is logged with the task and the reason, because Docker
// itself only reports "secret not found" to the operator.
HttpResponse refuse(const docker::SecretRequest* request,
                    const Error& error,
                    Clock::time_point started,
                    RefusedBy by) {
  const std::string who =
      request != nullptr ? docker::describe(*request) : "request=invalid";
  const auto level =
      by == RefusedBy::request ? log::Level::warn : log::Level::error;
  log::emit(level,
            k_component,
            "refused {} kind={} reason={} ms={}",
            who,
            to_string(error.kind),
            log::value(error.message),
            ms_since(started));
  return json_response(200, docker::error_response("vsp: " + error.message));
}

// Adds what the operator needs to a Vault or deadline failure.
Error explain_failure(const docker::SecretRequest& request,
                      const Error& error,
                      std::chrono::milliseconds deadline) {
  std::string what =
      fmt::format("cannot issue secret \"{}\"", request.secret_name);
  if (!request.task_id.empty()) {
    what += fmt::format(" for task {}", request.task_id);
  }
  if (error.kind == ErrorKind::timeout) {
    return Error(error.kind,
                 error.code,
                 fmt::format("{}: no answer within the {}ms deadline ({})",
                             what,
                             deadline.count(),
                             error.message));
  }
  return error.wrap(what);
}

Outcome outcome_of(const Error& error) {
  switch (error.kind) {
  case ErrorKind::denied:
    return Outcome::denied;
  case ErrorKind::invalid_input:
    return Outcome::invalid;
  case ErrorKind::timeout:
    return Outcome::timeout;
  default:
    return Outcome::failed;
  }
}

} // namespace

Plugin::Plugin(Config config,
               rules::RuleSet rules,
               vault::Client& vault,
               vault::TokenSource& login,
               ledger::Ledger* ledger)
    : m_config(std::move(config)),
      m_rules(std::make_shared<const rules::RuleSet>(std::move(rules))),
      m_issuer(vault,
               login,
               issuer::IssuerOptions{.reuse_window = m_config.reuse_window,
                                     .ledger = ledger}),
      m_rules_loaded_at(std::chrono::system_clock::now()) {}

std::shared_ptr<const rules::RuleSet> Plugin::rules() const {
  return std::atomic_load(&m_rules);
}

Plugin::RulesState Plugin::rules_state() const {
  RulesState s;
  s.path = m_config.rules_path;
  s.rules = rules()->rules().size();
  std::lock_guard lock(m_state_mutex);
  s.loaded_at = m_rules_loaded_at;
  s.last_error = m_reload_error;
  return s;
}

Status Plugin::reload_rules() {
  auto loaded = rules::RuleSet::load_file(m_config.rules_path);
  if (!loaded) {
    std::lock_guard lock(m_state_mutex);
    m_reload_error = loaded.error().message;
    return loaded.error();
  }
  const auto count = loaded->rules().size();
  std::atomic_store(
      &m_rules,
      std::make_shared<const rules::RuleSet>(std::move(loaded).value()));
  {
    std::lock_guard lock(m_state_mutex);
    m_rules_loaded_at = std::chrono::system_clock::now();
    m_reload_error.clear();
  }
  log::info(
      k_component, "rules loaded file={} rules={}", m_config.rules_path, count);
  return ok_status();
}

HttpResponse Plugin::handle(const HttpRequest& request) {
  if (request.path == docker::k_get_secret_path) {
    if (request.method != "POST") {
      // Docker always POSTs; anything else is not Docker, and a request
      // that mints a credential is not something to answer by accident.
      log::warn(k_component,
                "refused method={} path={}",
                log::value(request.method),
                docker::k_get_secret_path);
      return json_response(
          405,
          docker::error_response(fmt::format("vsp: {} takes POST, not {}",
                                             docker::k_get_secret_path,
                                             request.method)));
    }
    return get_secret(request);
  }
  if (request.path == docker::k_activate_path) {
    return json_response(200, docker::activate_response());
  }
  log::warn(k_component, "unknown endpoint path={}", log::value(request.path));
  return json_response(404,
                       docker::error_response(fmt::format(
                           "vsp: unknown endpoint {} (this plugin implements "
                           "{} and {})",
                           request.path,
                           docker::k_activate_path,
                           docker::k_get_secret_path)));
}

HttpResponse Plugin::get_secret(const HttpRequest& http) {
  const auto started = Clock::now();
  const auto deadline = Deadline::after(m_config.deadline);
  std::string_view rule; // the deciding rule, once there is one
  const auto count = [&](Outcome outcome) {
    if (m_metrics != nullptr) {
      m_metrics->request(outcome, rule, Clock::now() - started);
    }
  };
  const auto refused = [&](const docker::SecretRequest* request,
                           const Error& error,
                           RefusedBy by = RefusedBy::request) {
    count(outcome_of(error));
    return refuse(request, error, started, by);
  };

  if (http.body_too_large) {
    return refused(nullptr,
                   Error(ErrorKind::invalid_input,
                         fmt::format("request body is larger than {} bytes",
                                     docker::k_max_request_bytes)));
  }
  auto request = docker::parse_secret_request(http.body);
  if (!request) {
    return refused(nullptr, request.error());
  }

  auto decision = rules()->decide(*request);
  if (!decision) {
    return refused(&*request, decision.error());
  }
  rule = decision->rule;

  auto issued = m_issuer.issue(*request, *decision, deadline);
  if (!issued) {
    return refused(&*request,
                   explain_failure(*request, issued.error(), m_config.deadline),
                   RefusedBy::issuance);
  }
  count(issued->reused ? Outcome::reused : Outcome::issued);
  if (m_metrics != nullptr && !issued->reused) {
    m_metrics->issued(rules::to_string(decision->kind), decision->rule);
  }

  log::info(
      k_component,
      "{} {} rule={} kind={} accessor={} lease={} issuance={} policies={} "
      "ms={}",
      issued->reused ? "reissued" : "issued",
      docker::describe(*request),
      issued->rule,
      rules::to_string(issued->kind),
      issued->accessor.empty() ? "-" : issued->accessor,
      issued->lease_id.empty() ? "-" : issued->lease_id,
      issued->issuance_id.empty() ? "-" : issued->issuance_id,
      fmt::join(issued->policies, ","),
      ms_since(started));
  SecretString body = docker::value_response(
      issued->value,
      issued->do_not_reuse ? docker::DoNotReuse::yes : docker::DoNotReuse::no);
  return json_response(200, std::string(body.reveal()));
}

} // namespace vsp::plugin
