#include "tests/support/vault_setup.hpp"

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
  INFO(path);
  REQUIRE(r.ok());
}

nlohmann::json policy(const std::string& path,
                      std::vector<std::string> capabilities) {
  return {{"policy",
           nlohmann::json{{"path", {{path, {{"capabilities", capabilities}}}}}}
               .dump()}};
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

} // namespace vsp::test
