#pragma once

#include "tests/support/temp_dir.hpp"
#include "tests/support/vault_emulator.hpp"

#include <string>
#include <vector>

namespace vsp::test {

// The Vault side of vsp's setup, made through Vault's API with the
// target's root token, so the same test runs against the emulator or a
// real Vault. Names carry a random suffix: a run never touches anything it
// did not create.
struct TokenRoleSetup {
  std::string role;        // token role, orphan=true
  std::string read_policy; // "app-read-<suffix>"
  std::string write_policy;
  std::string plugin_policy; // update on auth/token/create/<role>
  std::string plugin_token_file;
};

// Creates two app policies, a token role allowing exactly them, the
// plugin's policy and an orphan plugin token written to a file in `dir`.
// Fails the current test (REQUIRE) when Vault refuses.
TokenRoleSetup setup_token_role(const VaultTarget& vault, const TempDir& dir);

// Rules granting the setup's policies through its role: rule "app" for
// secrets named "app-*" and rule "captured" for "mysecret", each allowing
// both policies and choosing the read policy by default.
std::string rules_for(const TokenRoleSetup& setup);

} // namespace vsp::test
