#include "tests/support/vault_setup.hpp"

#include "core/util/duration.hpp"
#include "core/util/random.hpp"
#include "core/util/secret_string.hpp"
#include "core/vault/client.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace vsp::test {
namespace {

using namespace std::chrono_literals;

void write(vault::Client& client,
           const SecretString& root,
           const std::string& path,
           const nlohmann::json& body) {
  auto r = client.call(
      vault::Method::post, path, &body, &root, {}, Deadline::after(10s));
  INFO(path << ": " << (r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
}

nlohmann::json policy(const std::string& path,
                      std::vector<std::string> capabilities) {
  return {{"policy",
           nlohmann::json{{"path", {{path, {{"capabilities", capabilities}}}}}}
               .dump()}};
}

std::string
policy_text(const std::vector<std::pair<std::string, std::string>>& rules) {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& [path, capability] : rules) {
    paths[path] = {{"capabilities", {capability}}};
  }
  return nlohmann::json{{"path", paths}}.dump();
}

} // namespace

TokenRoleSetup setup_token_role(const VaultTarget& target, const TempDir& dir) {
  vault::Config config;
  config.address = target.address;
  vault::Client client(config);
  const SecretString root(target.token);
  const std::string suffix = random_hex(4);

  TokenRoleSetup s;
  s.role = "vsp-task-" + suffix;
  s.read_policy = "app-read-" + suffix;
  s.write_policy = "app-write-" + suffix;
  s.plugin_policy = "vsp-plugin-" + suffix;

  write(client,
        root,
        "sys/policies/acl/" + s.read_policy,
        policy("secret/data/app/*", {"read"}));
  write(client,
        root,
        "sys/policies/acl/" + s.write_policy,
        policy("secret/data/app/*", {"create", "update"}));
  write(client,
        root,
        "sys/policies/acl/" + s.plugin_policy,
        policy("auth/token/create/" + s.role, {"update"}));
  write(client,
        root,
        "auth/token/roles/" + s.role,
        {{"allowed_policies", {s.read_policy, s.write_policy}},
         {"orphan", true},
         {"renewable", true},
         {"token_explicit_max_ttl", "24h"}});

  vault::TokenCreateRequest plugin;
  plugin.orphan = vault::Orphan::yes;
  plugin.policies = {s.plugin_policy};
  plugin.ttl = 1h;
  plugin.display_name = "vsp-plugin-test";
  auto token = client.create_token(root, plugin, Deadline::after(10s));
  REQUIRE(token.ok());
  s.plugin_token_file =
      dir.write("plugin-token", std::string(token->client_token.reveal()));
  return s;
}

std::string rules_for(const TokenRoleSetup& s) {
  const std::string grant = fmt::format(R"(    token_role: {}
    allowed_policies: [{}, {}]
    policies: [{}]
    ttl: 1h
    wrap_ttl: 5m
)",
                                        s.role,
                                        s.read_policy,
                                        s.write_policy,
                                        s.read_policy);
  return "rules:\n"
         "  - name: app\n"
         "    match: {secret: \"app-*\"}\n" +
         grant +
         "  - name: captured\n"
         "    match: {secret: mysecret}\n" +
         grant;
}

KindsSetup setup_kinds(const VaultTarget& target,
                       const TempDir& dir,
                       const KindsOptions& options) {
  vault::Config config;
  config.address = target.address;
  vault::Client client(config);
  const SecretString root(target.token);
  const std::string suffix = random_hex(4);

  KindsSetup s;
  s.kv2 = "kv2-" + suffix + "/";
  s.kv1 = "kv1-" + suffix + "/";
  s.db = "db-" + suffix + "/";
  s.pki = "pki-" + suffix + "/";
  s.role = "vsp-kinds-" + suffix;
  s.kv_policy = "kv-read-" + suffix;
  s.db_policy = "db-read-" + suffix;
  s.pki_policy = "pki-issue-" + suffix;
  s.plugin_policy = "vsp-plugin-" + suffix;

  write(client,
        root,
        "sys/mounts/" + s.kv2.substr(0, s.kv2.size() - 1),
        {{"type", "kv"}, {"options", {{"version", "2"}}}});
  write(client,
        root,
        "sys/mounts/" + s.kv1.substr(0, s.kv1.size() - 1),
        {{"type", "kv"}, {"options", {{"version", "1"}}}});
  // A real Vault would need a database and a CA behind these.
  if (!target.real()) {
    write(client,
          root,
          "sys/mounts/" + s.db.substr(0, s.db.size() - 1),
          {{"type", "database"}});
    write(client,
          root,
          "sys/mounts/" + s.pki.substr(0, s.pki.size() - 1),
          {{"type", "pki"}});
    write(client,
          root,
          s.db + "roles/readonly",
          {{"default_ttl", options.db_default_ttl},
           {"max_ttl", options.db_max_ttl}});
    write(client,
          root,
          s.pki + "roles/web",
          {{"allowed_domains", {"example.test"}},
           {"allow_subdomains", true},
           {"max_ttl", "72h"},
           {"generate_lease", true}});
  }

  const std::pair<std::string, std::string> policies[] = {
      {s.kv_policy,
       policy_text(
           {{s.kv2 + "data/app/*", "read"}, {s.kv1 + "app/*", "read"}})},
      {s.db_policy, policy_text({{s.db + "creds/*", "read"}})},
      {s.pki_policy, policy_text({{s.pki + "issue/*", "update"}})},
      {s.plugin_policy,
       policy_text({{"auth/token/create/" + s.role, "update"}})},
  };
  for (const auto& [name, text] : policies) {
    write(client, root, "sys/policies/acl/" + name, {{"policy", text}});
  }
  write(client,
        root,
        "auth/token/roles/" + s.role,
        {{"allowed_policies", {s.kv_policy, s.db_policy, s.pki_policy}},
         {"orphan", true},
         {"renewable", true}});

  vault::TokenCreateRequest plugin;
  plugin.orphan = vault::Orphan::yes;
  plugin.policies = {s.plugin_policy};
  plugin.ttl = parse_duration(options.plugin_ttl).value();
  plugin.display_name = "vsp-plugin-test";
  auto token = client.create_token(root, plugin, Deadline::after(10s));
  REQUIRE(token.ok());
  s.plugin_token_file =
      dir.write("plugin-token", std::string(token->client_token.reveal()));
  return s;
}

void write_kv(const VaultTarget& target,
              const std::string& mount,
              int kv_version,
              const std::string& rest,
              const nlohmann::json& data) {
  vault::Config config;
  config.address = target.address;
  vault::Client client(config);
  const SecretString root(target.token);
  if (kv_version == 2) {
    write(client, root, mount + "data/" + rest, {{"data", data}});
  } else {
    write(client, root, mount + rest, data);
  }
}

std::string kinds_rules(const KindsSetup& s) {
  return fmt::format(R"(defaults:
  token_role: {role}
rules:
  - name: kv
    match: {{secret: "kv-*"}}
    kind: kv
    allowed_policies: [{kv}]
    path_prefix: {kv2}app/
    field: password
    allow_labels: [vsp.field, vsp.version, vsp.format]
  - name: legacy
    match: {{secret: "legacy-*"}}
    kind: kv
    allowed_policies: [{kv}]
    path_prefix: {kv1}app/
    format: json
    include_metadata: true
  - name: db
    match: {{secret: "db-*"}}
    kind: dynamic
    allowed_policies: [{db}]
    path_prefix: {dbm}creds/
    path: readonly
    template: "{{{{ username }}}}:{{{{ password }}}}"
    ttl: 1h
  - name: cert
    match: {{secret: "cert-*"}}
    kind: dynamic
    allowed_policies: [{pki}]
    path_prefix: {pkim}issue/
    path: web
    method: post
    params: {{common_name: "{{service}}.example.test"}}
    allowed_params: {{common_name: "*.example.test"}}
    format: json
    include_metadata: true
  - name: tok
    match: {{secret: "tok-*"}}
    allowed_policies: [{kv}]
    wrap_ttl: 5m
)",
                     fmt::arg("role", s.role),
                     fmt::arg("kv", s.kv_policy),
                     fmt::arg("kv2", s.kv2),
                     fmt::arg("kv1", s.kv1),
                     fmt::arg("db", s.db_policy),
                     fmt::arg("dbm", s.db),
                     fmt::arg("pki", s.pki_policy),
                     fmt::arg("pkim", s.pki));
}

} // namespace vsp::test
