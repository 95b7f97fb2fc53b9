#pragma once

#include "core/docker/secret_request.hpp"
#include "core/ledger/ledger.hpp"
#include "core/rules/decision.hpp"
#include "core/util/result.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace vsp::issuer {

// What Vault issued for one request, as the ledger keeps it: identifiers
// only, never the token or value.
struct Minted {
  std::string accessor;          // the task's token (inner, if wrapped)
  std::string wrapping_accessor; // the wrapping token, if wrapped
  std::string lease_id;
  std::vector<std::string> policies; // as granted; empty: as decided
  std::chrono::seconds ttl{0};       // 0: unknown (the role's default)
};

// Writes each issuance to the ledger around its Vault call: the intent
// before Vault is asked (so a crash leaves a row to settle), the outcome
// after. Without a ledger (`vsp simulate`'s in-process use, tests) every
// step succeeds and records nothing. Thread-safe, as the Ledger is.
class Recorder {
public:
  explicit Recorder(ledger::Ledger* ledger) : m_ledger(ledger) {}

  // Records the intent to issue what `decision` grants to `request`'s
  // task under `issuance_id`. A failure (full, read-only or busy ledger)
  // means Vault must not be asked.
  Status intent(const docker::SecretRequest& request,
                const rules::Decision& decision,
                const std::string& issuance_id);

  // Completes the intent with what Vault issued. A failure means the
  // credential is unrecorded: the caller revokes it and answers an Err.
  Status issued(const std::string& issuance_id, const Minted& minted);

  // Marks the intent failed, or unknown when Vault's reply was lost and
  // something may exist. Ledger errors are logged, not returned: the
  // request fails either way, and start-up settling finds the row.
  void failed(const std::string& issuance_id, const Error& error);

private:
  ledger::Ledger* m_ledger;
};

} // namespace vsp::issuer
