#pragma once

#include "core/docker/secret_request.hpp"
#include "core/issuer/recorder.hpp"
#include "core/issuer/reuse_cache.hpp"
#include "core/rules/decision.hpp"
#include "core/util/deadline.hpp"
#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace vsp::vault {
class Client;
class TokenSource;
struct KvSecret;
struct TokenAuth;
} // namespace vsp::vault

namespace vsp::issuer {

struct IssuerOptions {
  // How long a repeated request for the same task and secret gets the
  // value minted first.
  std::chrono::seconds reuse_window{300};
  // How long one KV read serves every task asking for the same value
  // (same path, version and reading policies): a burst of tasks costs
  // one Vault read.
  std::chrono::milliseconds kv_coalesce_window{1000};
  // TTL of the tokens that read KV with a rule's policies; one is shared
  // by the rules with the same role and policies, replaced after 2/3.
  std::chrono::seconds kv_reader_ttl{900};
  // Where each issuance is recorded (intent before Vault, outcome after);
  // null records nothing. Must outlive the Issuer.
  ledger::Ledger* ledger = nullptr;
};

// What one request receives.
struct Issued {
  SecretString value;
  bool do_not_reuse = true;
  bool reused = false; // served again within the reuse window
  rules::Kind kind = rules::Kind::wrapped_token;
  // The token handed out (the inner one, if wrapped); for a dynamic value
  // the lease holder token, whose revocation ends the lease. Empty for KV.
  std::string accessor;
  std::string wrapping_accessor; // of the wrapping token, if wrapped
  std::string lease_id;          // of an unwrapped dynamic value that has one
  std::chrono::seconds ttl{0};   // of the token or lease; 0: unknown
  std::chrono::system_clock::time_point expires_at{}; // epoch: unknown
  std::string issuance_id;
  // The decision behind the value: this request's, or for a repeat the
  // first request's, whose value it gets.
  std::string rule;
  std::vector<std::string> policies;
};

// Carries out a rules decision in Vault: mints the per-task token (wrapped
// in the same call), reads KV values (coalesced across tasks), fetches
// dynamic secrets under a lease holder token that outlives the lease,
// renders values, and keeps repeated requests for one task idempotent.
class Issuer {
public:
  Issuer(vault::Client& vault,
         vault::TokenSource& login,
         IssuerOptions options);

  // Issues what `decision` grants to the task in `request`, all within
  // `deadline`. Vault errors come back with their kind and code intact;
  // a value that cannot be rendered, or whose size Docker would refuse,
  // is an invalid_input Error. With a ledger, nothing is issued unless its
  // intent was recorded, and a credential whose outcome cannot be
  // recorded is revoked again.
  Result<Issued> issue(const docker::SecretRequest& request,
                       const rules::Decision& decision,
                       Deadline deadline);

  // Wipes the values whose reuse window has ended.
  void forget_expired() { m_cache.forget_expired(); }

private:
  using LoginStep = std::function<Status(const SecretString& login)>;

  Result<CachedValue> mint(const docker::SecretRequest& request,
                           const rules::Decision& decision,
                           const std::string& issuance_id,
                           Deadline deadline);
  // The Vault step of mint(), by kind.
  Result<CachedValue> create_in_vault(const docker::SecretRequest& request,
                                      const rules::Decision& decision,
                                      const std::string& issuance_id,
                                      Deadline deadline);
  Error revoke_unrecorded(const Minted& minted, const Error& why);
  Result<CachedValue> mint_token(const docker::SecretRequest& request,
                                 const rules::Decision& decision,
                                 const std::string& issuance_id,
                                 Deadline deadline);

  // Runs `step` with the plugin's login. When Vault calls that token
  // invalid the login is replaced and `step` runs once more: Vault minted
  // nothing, so this cannot duplicate a credential.
  Status with_login(Deadline deadline, const LoginStep& step);

  // kv_issuer.cpp
  Result<CachedValue> issue_kv(const docker::SecretRequest& request,
                               const rules::Decision& decision,
                               const std::string& issuance_id,
                               Deadline deadline);
  Result<CachedValue> issue_kv_wrapped(const rules::Decision& decision,
                                       Deadline deadline);
  Result<vault::KvSecret> read_kv_shared(const rules::Decision& decision,
                                         Deadline deadline);
  // The token reading KV for `decision`'s policies, and its cache key.
  Result<CachedValue> reader_token(const rules::Decision& decision,
                                   Deadline deadline,
                                   std::string& key);

  // dynamic_issuer.cpp
  Result<vault::TokenAuth>
  mint_lease_holder(const docker::SecretRequest& request,
                    const rules::Decision& decision,
                    const std::string& issuance_id,
                    Deadline deadline);
  Result<CachedValue> issue_dynamic(const docker::SecretRequest& request,
                                    const rules::Decision& decision,
                                    const std::string& issuance_id,
                                    Deadline deadline);

  vault::Client& m_vault;
  vault::TokenSource& m_login;
  IssuerOptions m_options;
  ReuseCache m_cache;    // task + secret -> the value handed out
  ReuseCache m_readers;  // role + policies -> a KV reader token
  ReuseCache m_kv_reads; // reader + path + version -> the KV reply
  Recorder m_recorder;
};

// Token metadata naming the task, so Vault's own records show who holds
// what and a lost ledger row can be matched again.
std::map<std::string, std::string>
task_metadata(const docker::SecretRequest& request,
              const rules::Decision& decision,
              const std::string& issuance_id);

} // namespace vsp::issuer
