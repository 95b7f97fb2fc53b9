#pragma once

#include "core/ledger/ledger.hpp"
#include "core/util/base64.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"
#include "plugin/plugin.hpp"
#include "tests/support/lifecycle_setup.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/vault_emulator.hpp"
#include "tests/support/vault_setup.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace vsp::test {

using namespace std::chrono_literals;

// The plugin in-process with a ledger, against the emulator.
struct LedgerFixture {
  TempDir dir;
  std::unique_ptr<VaultTarget> target;
  TokenRoleSetup setup;
  std::unique_ptr<vault::Client> client;
  std::unique_ptr<vault::Auth> login;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<plugin::Plugin> plugin;
  ledger::Options ledger_options; // set before start()

  bool start(std::string* why,
             ledger::Access access,
             AccessorListing listing = AccessorListing::denied) {
    target = vault_target(why);
    if (!target) {
      return false;
    }
    setup = setup_token_role(*target, dir);
    grant_lifecycle(*target, setup, listing);
    vault::Config vc;
    vc.address = target->address;
    client = std::make_unique<vault::Client>(vc);
    login = vault::Auth::from_token_file(*client, setup.plugin_token_file);
    if (access == ledger::Access::read_only) {
      // Created first: a read-only open needs an existing file.
      REQUIRE(
          ledger::Ledger::open(ledger_path(), ledger::Access::read_write).ok());
    }
    auto opened = ledger::Ledger::open(ledger_path(), access, ledger_options);
    REQUIRE(opened.ok());
    ledger = std::move(opened).value();
    plugin::Config config;
    config.rules_path = dir.write("rules.yaml", rules());
    config.deadline = 3s;
    auto rules = rules::RuleSet::load_file(config.rules_path);
    REQUIRE(rules.ok());
    plugin = std::make_unique<plugin::Plugin>(
        config, std::move(rules).value(), *client, *login, ledger.get());
    return true;
  }

  // The setup's rules plus a plain-token rule for secrets "plain-*".
  std::string rules() const {
    return rules_for(setup) + "  - name: plain\n" +
           "    match: {secret: \"plain-*\"}\n" + "    kind: token\n" +
           "    token_role: " + setup.role + "\n" + "    allowed_policies: [" +
           setup.read_policy + "]\n" + "    ttl: 1h\n";
  }

  std::string ledger_path() const { return dir.file("ledger.db"); }

  nlohmann::json get_secret(const std::string& secret,
                            const std::string& task) {
    const nlohmann::json request{{"SecretName", secret},
                                 {"ServiceName", "web"},
                                 {"ServiceID", "svc1"},
                                 {"TaskID", task},
                                 {"TaskName", "web.1." + task},
                                 {"NodeID", "node1"}};
    auto r = plugin->handle(
        {"POST", "/SecretProvider.GetSecret", request.dump() + "\n"});
    CHECK(r.status == 200);
    return nlohmann::json::parse(r.body);
  }
};

// The decoded Value of a GetSecret answer.
inline SecretString value_of(const nlohmann::json& answer) {
  INFO(answer.dump());
  REQUIRE(answer.contains("Value"));
  return SecretString(*base64::decode(answer["Value"].get<std::string>()));
}

} // namespace vsp::test
