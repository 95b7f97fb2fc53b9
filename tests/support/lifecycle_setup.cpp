#include "tests/support/lifecycle_setup.hpp"

#include "core/util/secret_string.hpp"
#include "core/vault/client.hpp"

#include <catch2/catch.hpp>

namespace vsp::test {
namespace {

using namespace std::chrono_literals;

nlohmann::json rule(std::vector<std::string> capabilities) {
  return {{"capabilities", std::move(capabilities)}};
}

vault::Client client_for(const VaultTarget& target) {
  vault::Config config;
  config.address = target.address;
  return vault::Client(config);
}

} // namespace

void grant_lifecycle(const VaultTarget& target,
                     const TokenRoleSetup& setup,
                     AccessorListing listing) {
  nlohmann::json paths{
      {"auth/token/create/" + setup.role, rule({"update"})},
      {"auth/token/revoke-accessor", rule({"update"})},
      {"auth/token/renew-accessor", rule({"update"})},
      {"sys/leases/revoke", rule({"update"})},
  };
  if (listing == AccessorListing::allowed) {
    paths["auth/token/accessors"] = rule({"list", "sudo"});
    paths["auth/token/lookup-accessor"] = rule({"update"});
  }
  const nlohmann::json body{{"policy", nlohmann::json{{"path", paths}}.dump()}};
  auto client = client_for(target);
  const SecretString root(target.token);
  auto r = client.call(vault::Method::post,
                       "sys/policies/acl/" + setup.plugin_policy,
                       &body,
                       &root,
                       {},
                       Deadline::after(10s));
  REQUIRE(r.ok());
}

nlohmann::json live_tokens(const VaultTarget& target) {
  if (target.real()) {
    return nlohmann::json::array();
  }
  auto r = target.emulator->request("GET", "/_emulator/tokens");
  REQUIRE(r["status"] == 200);
  return r["body"]["tokens"];
}

bool accessor_is_live(const VaultTarget& target, const std::string& accessor) {
  auto client = client_for(target);
  const SecretString root(target.token);
  auto info = client.lookup_accessor(root, accessor, Deadline::after(10s));
  if (!info) {
    INFO(info.error().message);
    REQUIRE(info.error().kind == ErrorKind::not_found);
  }
  return info.ok();
}

} // namespace vsp::test
