#pragma once

#include "tests/support/temp_dir.hpp"
#include "tests/support/vault_emulator.hpp"

#include <nlohmann/json.hpp>

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

// The Vault side of the kv and dynamic kinds, made like the above: a KV v2
// and a KV v1 mount, a database mount with role "readonly" and a PKI mount
// with role "web" (allowing *.example.test), a policy for each, a token
// role allowing exactly those, and a plugin token that may only create
// tokens through that role.
struct KindsSetup {
  std::string kv2; // mount paths, with a trailing '/'
  std::string kv1;
  std::string db;
  std::string pki;
  std::string role;
  std::string kv_policy;  // read <kv2>data/app/*, <kv1>app/*
  std::string db_policy;  // read <db>creds/*
  std::string pki_policy; // update <pki>issue/*
  std::string plugin_policy;
  std::string plugin_token_file;
};

struct KindsOptions {
  std::string plugin_ttl = "1h";
  std::string db_default_ttl = "1h";
  std::string db_max_ttl = "24h";
};

// On a real Vault the database and PKI mounts are left out (they would
// need a database and a CA). REQUIREs every step.
KindsSetup setup_kinds(const VaultTarget& vault,
                       const TempDir& dir,
                       const KindsOptions& options = {});

// Writes `data` at `<mount><rest>`: a v2 write (data/) or a v1 write.
void write_kv(const VaultTarget& vault,
              const std::string& mount,
              int kv_version,
              const std::string& rest,
              const nlohmann::json& data);

// A rules file over a KindsSetup: "kv-*" secrets read <kv2>app/<name>
// (field password), "legacy-*" read <kv1>app/<name> as JSON, "db-*" get
// database credentials as "user:password", "cert-*" a PKI bundle for
// <service>.example.test, and "tok-*" a wrapped token.
std::string kinds_rules(const KindsSetup& setup);

} // namespace vsp::test
