#pragma once

#include "core/ledger/ledger.hpp"
#include "core/util/deadline.hpp"
#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace vsp::vault {
class Client;
class TokenSource;
} // namespace vsp::vault

namespace vsp::issuer {

// The Vault identifiers of one issuance: what revoking it must end.
struct Credentials {
  std::string accessor;          // the task's token (inner, if wrapped)
  std::string wrapping_accessor; // its wrapping token, if still unopened
  std::string lease_id;          // a dynamic secret's lease
};

Credentials credentials_of(const ledger::Issuance& row);

// Revokes every credential in `c` with `token`: the token by accessor (its
// leases die with it), the wrapping token by its accessor, the lease. Ones
// Vault no longer knows count as revoked, so calling it twice is fine.
Status revoke_credentials(vault::Client& vault,
                          const SecretString& token,
                          const Credentials& c,
                          Deadline deadline);

// Same, with the current login, logging in again once if Vault calls the
// login's token invalid.
Status revoke_credentials(vault::Client& vault,
                          vault::TokenSource& login,
                          const Credentials& c,
                          Deadline deadline);

// vsp tokens Vault knows, by the vsp_issuance_id in their metadata, with
// the accessor of each. Needs sudo on auth/token/accessors: without it,
// fails with denied (vault's permission_denied).
Result<std::map<std::string, std::string>> find_tokens_by_issuance(
    vault::Client& vault, const SecretString& token, Deadline deadline);

// What settle_open_intents() did.
struct SettleReport {
  std::int64_t found = 0; // issued by Vault, recorded and revoked
  std::map<std::string, std::int64_t> revoked_by_kind; // of those found
  std::int64_t absent = 0;       // Vault holds nothing: marked failed
  std::int64_t unknown = 0;      // could not be checked: marked unknown
  std::int64_t errors = 0;       // left as they were, to retry
  bool accessor_listing = false; // whether the login may list accessors
};

// Settles what a crash left open: pending rows created before
// `created_before_ms`, and rows whose outcome is unknown. Where the login
// may list accessors, a row whose token Vault holds is recorded and
// revoked (its value never reached the task: the reply was never sent),
// and a row Vault knows nothing of is marked failed. Without that
// privilege each pending row is marked unknown and its TTL is the
// backstop. Fails only when the ledger cannot be read.
Result<SettleReport> settle_open_intents(ledger::Ledger& ledger,
                                         vault::Client& vault,
                                         vault::TokenSource& login,
                                         std::int64_t created_before_ms,
                                         Deadline deadline);

// Revokes what `row` holds in Vault and records it revoked by `actor`
// with `reason`. A row already revoked is left alone.
Status revoke_issuance(ledger::Ledger& ledger,
                       vault::Client& vault,
                       vault::TokenSource& login,
                       const ledger::Issuance& row,
                       std::string_view reason,
                       ledger::Actor actor,
                       Deadline deadline);

} // namespace vsp::issuer
