// Black-box tests of `vsp simulate` carrying a request out in-process
// against the emulator, with the CLI's own Vault token.
#include "tests/support/paths.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/vault_emulator.hpp"
#include "tests/support/vault_setup.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace vsp;
using namespace vsp::test;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  std::unique_ptr<VaultTarget> target;
  KindsSetup setup;
  std::string rules;
  std::vector<std::string> env;

  bool start(std::string* why) {
    target = vault_target(why);
    if (!target) {
      return false;
    }
    if (target->real()) {
      *why = "needs the emulator's database engine";
      return false;
    }
    setup = setup_kinds(*target, dir);
    write_kv(*target, setup.kv2, 2, "app/kv-db", {{"password", "s3cret"}});
    rules = dir.write("rules.yaml", kinds_rules(setup));
    env = {"PATH=/usr/bin:/bin",
           "HOME=" + dir.path(),
           "VAULT_ADDR=" + target->address,
           "VAULT_TOKEN=" + read_file(setup.plugin_token_file)};
    return true;
  }

  Ran simulate(std::vector<std::string> args) {
    args.insert(args.begin(), {"simulate", "--rules", rules});
    return run_vsp(args, env);
  }
};

} // namespace

TEST_CASE("vsp simulate carries a request out in-process",
          "[cli][binary][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }

  SECTION("a KV value, shown on request") {
    auto r = f.simulate({"--secret", "kv-db", "--task-id", "t1"});
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("  kind        kv\n"));
    CHECK_THAT(r.out,
               Catch::Contains("answer:      Value\nDoNotReuse:  false\n"
                               "value:       (6 bytes, hidden; --show-value "
                               "prints it)\n"));
    auto shown = f.simulate({"--secret", "kv-db", "--show-value"});
    CHECK_THAT(shown.out, Catch::Contains("value:       s3cret\n"));
  }
  SECTION("database credentials with their lease, as JSON") {
    auto r = f.simulate(
        {"--secret", "db-main", "--task-id", "t2", "--format", "json"});
    CHECK(r.status == 0);
    const json out = json::parse(r.out);
    CHECK(out.at("mode") == "in-process");
    CHECK(out.at("ok") == true);
    CHECK(out.at("do_not_reuse") == true);
    CHECK(out.at("decision").at("kind") == "dynamic");
    CHECK_THAT(out.at("issued").at("lease_id").get<std::string>(),
               Catch::StartsWith(f.setup.db + "creds/readonly/"));
    CHECK(out.at("issued").at("accessor").get<std::string>().size() == 24);
    CHECK_FALSE(out.contains("value"));
  }
  SECTION("a wrapped token, unwrapped") {
    auto r = f.simulate({"--secret", "tok-a", "--task-id", "t3", "--unwrap"});
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("unwrapped:\n  accessor:    "));
    CHECK_THAT(
        r.out,
        Catch::Contains("  policies:    default, " + f.setup.kv_policy + "\n"));
    CHECK_THAT(r.out, Catch::Contains("    vsp_task_id        t3\n"));
    CHECK_THAT(r.out,
               Catch::Contains("  token:       (hidden; --show-value "
                               "prints it)\n"));
  }
  SECTION("--unwrap on a value that is not wrapped says so") {
    auto r = f.simulate({"--secret", "kv-db", "--unwrap", "--format", "json"});
    CHECK(r.status == 0);
    CHECK(json::parse(r.out).at("unwrapped") ==
          json{{"note", "the value is not wrapped"}});
  }
  SECTION("a Vault failure is the plugin's Err, and exit status 2") {
    auto r = f.simulate({"--secret", "kv-missing"});
    CHECK(r.status == 2);
    CHECK_THAT(r.out, Catch::Contains("answer:      Err\nerr:         vsp: "));
    CHECK_THAT(r.err,
               Catch::StartsWith("vsp: error: not issued: the rules allow it "
                                 "but Vault failed"));
  }
  SECTION("a token Vault refuses is not a refusal by the rules") {
    f.env = {"PATH=/usr/bin:/bin",
             "HOME=" + f.dir.file("nobody"),
             "VAULT_ADDR=" + f.target->address,
             "VAULT_TOKEN=hvs.AAAAAAAAAAAAAAAAAAAAAAAA"};
    auto r = f.simulate({"--secret", "kv-db"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("operator's own token"));
    CHECK_THAT(r.err, Catch::Contains("invalid or expired token"));
    CHECK(r.err.find("hvs.AAAA") == std::string::npos);
  }
  SECTION("what it issues is in no ledger, and it says how to revoke it") {
    auto r = f.simulate({"--secret", "tok-a", "--task-id", "t4"});
    CHECK(r.status == 0);
    CHECK_THAT(r.out,
               Catch::Contains("ledger:      not recorded (in-process: no "
                               "plugin, no task watcher); it lives until its "
                               "TTL ends or `vsp revoke --accessor "));
    auto j = f.simulate(
        {"--secret", "tok-a", "--task-id", "t5", "--format", "json"});
    CHECK(json::parse(j.out).at("issued").at("recorded") == false);
  }
  SECTION("the token from ~/.vault-token, as the vault CLI keeps it") {
    f.dir.write(".vault-token", read_file(f.setup.plugin_token_file) + "\n");
    f.env = {"PATH=/usr/bin:/bin",
             "HOME=" + f.dir.path(),
             "VAULT_ADDR=" + f.target->address};
    auto r = f.simulate({"--secret", "kv-db", "--show-value"});
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("value:       s3cret\n"));
  }
  SECTION("without a Vault token") {
    f.env = {"PATH=/usr/bin:/bin",
             "HOME=" + f.dir.file("nobody"),
             "VAULT_ADDR=" + f.target->address};
    auto r = f.simulate({"--secret", "kv-db"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::StartsWith("vsp: error: "));
    CHECK_THAT(r.err, Catch::Contains("VAULT_TOKEN"));
  }
}
