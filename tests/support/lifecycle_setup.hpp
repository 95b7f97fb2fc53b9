#pragma once

#include "tests/support/vault_emulator.hpp"
#include "tests/support/vault_setup.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace vsp::test {

enum class AccessorListing { denied, allowed };

// Rewrites the setup's plugin policy to what the plugin needs to end
// credentials: minting through the role, revoke-accessor, lease revoke;
// with AccessorListing::allowed also sudo on auth/token/accessors and
// lookup-accessor (to settle open intents by metadata).
void grant_lifecycle(const VaultTarget& vault,
                     const TokenRoleSetup& setup,
                     AccessorListing listing);

// The emulator's live tokens (GET /_emulator/tokens), or an empty array
// against a real Vault.
nlohmann::json live_tokens(const VaultTarget& vault);

// Whether a token with `accessor` is live, asked through Vault's API with
// the root token.
bool accessor_is_live(const VaultTarget& vault, const std::string& accessor);

} // namespace vsp::test
