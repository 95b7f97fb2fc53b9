#pragma once

#include "core/docker/secret_request.hpp"
#include "core/issuer/reuse_cache.hpp"
#include "core/rules/decision.hpp"
#include "core/util/deadline.hpp"
#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"

#include <chrono>
#include <map>
#include <string>

namespace vsp::vault {
class Client;
class TokenSource;
} // namespace vsp::vault

namespace vsp::issuer {

struct IssuerOptions {
  // How long a repeated request for the same task and secret gets the
  // value minted first.
  std::chrono::seconds reuse_window{300};
};

// What one request receives.
struct Issued {
  SecretString value;
  bool do_not_reuse = true;
  bool reused = false;  // served again within the reuse window
  std::string accessor; // of the token handed out (inner, if wrapped)
  std::string issuance_id;
};

// Carries out a rules decision in Vault: mints the per-task token (wrapped
// in the same call), tags it with the task's identity, and keeps repeated
// requests for one task idempotent.
class Issuer {
public:
  Issuer(vault::Client& vault,
         vault::TokenSource& login,
         IssuerOptions options);

  // Issues what `decision` grants to the task in `request`, all within
  // `deadline`. Vault errors come back with their kind and code intact.
  Result<Issued> issue(const docker::SecretRequest& request,
                       const rules::Decision& decision,
                       Deadline deadline);

  // Wipes the values whose reuse window has ended.
  void forget_expired() { m_cache.forget_expired(); }

private:
  Result<CachedValue> mint(const docker::SecretRequest& request,
                           const rules::Decision& decision,
                           const std::string& issuance_id,
                           Deadline deadline);

  vault::Client& m_vault;
  vault::TokenSource& m_login;
  IssuerOptions m_options;
  ReuseCache m_cache;
};

// Token metadata naming the task, so Vault's own records show who holds
// what and a lost ledger row can be matched again.
std::map<std::string, std::string>
task_metadata(const docker::SecretRequest& request,
              const rules::Decision& decision,
              const std::string& issuance_id);

} // namespace vsp::issuer
