#include "core/issuer/recorder.hpp"

#include "core/util/log.hpp"
#include "core/vault/errors.hpp"

#include <fmt/format.h>

namespace vsp::issuer {
namespace {

constexpr const char* k_component = "ledger";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A busy ledger is a timeout to SQLite, but not the request's deadline:
// the plugin's answer says the ledger is the problem.
Error refused_intent(const Error& error) {
  return Error(ErrorKind::unavailable,
               error.code,
               "not issued: the ledger cannot record it: " + error.message);
}

} // namespace

Status Recorder::intent(const docker::SecretRequest& request,
                        const rules::Decision& decision,
                        const std::string& issuance_id) {
  if (m_ledger == nullptr) {
    return ok_status();
  }
  ledger::Issuance row;
  row.id = issuance_id;
  row.task_id = request.task_id;
  row.task_name = request.task_name;
  row.service_id = request.service_id;
  row.service_name = request.service_name;
  row.node_id = request.node_id;
  row.secret = request.secret_name;
  row.rule = decision.rule;
  row.kind = rules::to_string(decision.kind);
  row.policies = decision.policies;
  row.ttl_s = decision.ttl.count();
  if (auto done = m_ledger->record_intent(row); !done) {
    return refused_intent(done.error());
  }
  return ok_status();
}

Status Recorder::issued(const std::string& issuance_id, const Minted& minted) {
  if (m_ledger == nullptr) {
    return ok_status();
  }
  ledger::Outcome outcome;
  outcome.accessor = minted.accessor;
  outcome.wrapping_accessor = minted.wrapping_accessor;
  outcome.lease_id = minted.lease_id;
  outcome.policies = minted.policies;
  outcome.ttl_s = minted.ttl.count();
  if (minted.ttl.count() > 0) {
    outcome.expires_ms = now_ms() + minted.ttl.count() * 1000;
  }
  return m_ledger->record_issued(issuance_id, outcome);
}

void Recorder::failed(const std::string& issuance_id, const Error& error) {
  if (m_ledger == nullptr) {
    return;
  }
  const bool maybe_issued = error.code == vault::errc::outcome_unknown;
  const Status done =
      maybe_issued
          ? m_ledger->set_state(issuance_id,
                                ledger::State::unknown,
                                "vault's reply was lost: " + error.message,
                                ledger::Actor::plugin)
          : m_ledger->record_failed(issuance_id, error.message);
  if (!done) {
    log::error(k_component,
               "cannot record the outcome of issuance={}: {}",
               issuance_id,
               done.error().message);
  }
}

} // namespace vsp::issuer
