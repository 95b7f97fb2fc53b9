// Black-box tests of `vsp rules explain` and `vsp simulate --dry-run`.
#include "tests/support/paths.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace vsp::test;
using nlohmann::json;

namespace {

const char* k_rules = R"(defaults:
  token_role: vsp-task
rules:
  - name: app
    match: {secret: "app-*"}
    allowed_policies: [app-read, app-write]
    policies: [app-read]
  - name: shop
    match: {stack: shop}
    kind: kv
    allowed_policies: [shop-read]
    path_prefix: "secret/{stack}/"
    path: "{service}/{secret}"
    field: password
    allow_labels: [vsp.field]
  - name: labelled
    match: {secret_labels: {a: b}}
    kind: token
    allowed_policies: [app-read]
    ttl: 15m
)";

const std::vector<std::string> k_env{"PATH=/usr/bin:/bin"};

} // namespace

TEST_CASE("vsp rules explain shows every rule's verdict", "[cli][binary]") {
  TempDir dir;
  const std::string rules = dir.write("rules.yaml", k_rules);

  SECTION("a kv decision, by flags") {
    auto r = run_vsp({"rules",
                      "explain",
                      "--rules",
                      rules,
                      "--secret",
                      "db",
                      "--service",
                      "shop_web",
                      "--task-id",
                      "t1",
                      "--secret-label",
                      "com.docker.stack.namespace=shop"},
                     k_env);
    CHECK(r.status == 0);
    CHECK(r.out == "request: secret \"db\" of service \"shop_web\" (task t1)\n"
                   "\n"
                   "#  RULE      LINE  VERDICT      WHY\n"
                   "1  app       4     no match     secret name \"db\" does "
                   "not match \"app-*\"\n"
                   "2  shop      8     matched\n"
                   "3  labelled  16    not reached\n"
                   "\n"
                   "decision: issue\n"
                   "  rule        shop (" +
                       rules +
                       ":8:5)\n"
                       "  kind        kv\n"
                       "  policies    shop-read (+ default)\n"
                       "  token role  vsp-task\n"
                       "  wrap ttl    not wrapped\n"
                       "  path        secret/shop/shop_web/db\n"
                       "  kv version  detected\n"
                       "  version     latest\n"
                       "  value       raw, field password\n"
                       "  DoNotReuse  false\n");
  }
  SECTION("a refusal: exit 3 and the reason") {
    auto r = run_vsp({"rules",
                      "explain",
                      "--rules",
                      rules,
                      "--secret",
                      "app-db",
                      "--secret-label",
                      "vsp.policies=admin"},
                     k_env);
    CHECK(r.status == 3);
    CHECK_THAT(r.out,
               Catch::Contains("1  app       4     refused      rule \"app\" "
                               "does not allow policy \"admin\""));
    CHECK_THAT(r.out,
               Catch::EndsWith("decision: refused\n  secret \"app-db\" "
                               "refused: rule \"app\" does not allow policy "
                               "\"admin\" (allowed: app-read, app-write)\n"));
    CHECK(r.err == "vsp: error: the rules refuse this request\n");
  }
  SECTION("a captured Docker request, as JSON") {
    auto r = run_vsp(
        {"rules",
         "explain",
         "--rules",
         rules,
         "--format",
         "json",
         "--request",
         source_path("tests/data/docker-requests/default-service.json")},
        k_env);
    CHECK(r.status == 0);
    const json out = json::parse(r.out);
    CHECK(out.at("allowed") == true);
    CHECK(out.at("request").at("TaskID") == "1vdgm0ucpc8t2safefl3x93kh");
    CHECK(out.at("rules") == json::parse(R"js([
      {"rule": "app", "line": 4, "column": 5, "verdict": "no match",
       "reason": "secret name \"mysecret\" does not match \"app-*\""},
      {"rule": "shop", "line": 8, "column": 5, "verdict": "no match",
       "reason": "the request has no stack (rule wants \"shop\")"
  },
      {"rule": "labelled", "line": 16, "column": 5, "verdict": "matched",
       "reason": ""}])js"));
    CHECK(out.at("decision") == json::parse(R"({
      "rule": "labelled", "kind": "token", "token_role": "vsp-task",
      "policies": ["app-read"], "no_default_policy": false,
      "wrapped": false, "wrap_ttl": 0, "do_not_reuse": true, "ttl": 900})"));
    CHECK(out.at("error").is_null());
  }
  SECTION("a secret without labels: the missing label is named") {
    auto r = run_vsp(
        {"rules",
         "explain",
         "--rules",
         rules,
         "--request",
         source_path("tests/data/docker-requests/secret-without-labels.json")},
        k_env);
    CHECK(r.status == 3);
    CHECK_THAT(r.out,
               Catch::Contains("3  labelled  16    no match  secret label "
                               "\"a\" is missing"));
  }
  SECTION("no colour codes when stdout is not a terminal") {
    auto r = run_vsp(
        {"rules", "explain", "--rules", rules, "--secret", "app-x"}, k_env);
    CHECK(r.out.find('\033') == std::string::npos);
  }
  SECTION("an invalid request file") {
    const std::string bad = dir.write("req.json", "{\"TaskID\": \"t\"}\n");
    auto r = run_vsp({"rules", "explain", "--rules", rules, "--request", bad},
                     k_env);
    CHECK(r.status == 1);
    CHECK(r.err ==
          "vsp: error: the request is not valid: missing SecretName\n");
  }
}

TEST_CASE("vsp simulate --dry-run decides without Vault", "[cli][binary]") {
  TempDir dir;
  const std::string rules = dir.write("rules.yaml", k_rules);
  // No VAULT_ADDR at all: a dry run must not need one.
  auto r = run_vsp({"simulate",
                    "--dry-run",
                    "--rules",
                    rules,
                    "--secret",
                    "db",
                    "--service",
                    "shop_web",
                    "--secret-label",
                    "com.docker.stack.namespace=shop",
                    "--secret-label",
                    "vsp.field=user"},
                   k_env);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("  value       raw, field user\n"));
  CHECK_THAT(r.out,
             Catch::EndsWith("DoNotReuse:  false\nvalue:       (not issued: "
                             "--dry-run asks no Vault)\n"));

  SECTION("the same decision as explain, as JSON") {
    const std::vector<std::string> request{"--rules",
                                           rules,
                                           "--format",
                                           "json",
                                           "--secret",
                                           "app-x",
                                           "--secret-label",
                                           "vsp.policies=app-write"};
    std::vector<std::string> sim{"simulate", "--dry-run"};
    sim.insert(sim.end(), request.begin(), request.end());
    std::vector<std::string> explain{"rules", "explain"};
    explain.insert(explain.end(), request.begin(), request.end());
    const json s = json::parse(run_vsp(sim, k_env).out);
    const json e = json::parse(run_vsp(explain, k_env).out);
    CHECK(s.at("decision") == e.at("decision"));
    CHECK(s.at("mode") == "dry-run");
    CHECK(s.at("ok") == true);
    CHECK(s.at("do_not_reuse") == true);
    CHECK(s.at("decision").at("policies") == json::array({"app-write"}));
  }
  SECTION("a refusal answers Err and exits 3") {
    auto refused = run_vsp(
        {"simulate", "--dry-run", "--rules", rules, "--secret", "nope"}, k_env);
    CHECK(refused.status == 3);
    CHECK_THAT(refused.out,
               Catch::Contains("answer:      Err\nerr:         vsp: no rule "
                               "matches secret \"nope\""));
  }
  SECTION("the rules file from VSP_RULES") {
    auto env = run_vsp({"simulate", "--dry-run", "--secret", "app-x"},
                       {"VSP_RULES=" + rules});
    CHECK(env.status == 0);
  }
  SECTION("--dry-run with --socket is a usage error") {
    auto both = run_vsp(
        {"simulate", "--dry-run", "--socket", "/x", "--secret", "a"}, k_env);
    CHECK(both.status == 1);
    CHECK(both.err == "vsp: error: --dry-run decides from the rules alone; "
                      "it cannot go with --socket\n");
  }
}

TEST_CASE("vsp shows control characters from requests escaped on a terminal",
          "[cli][binary]") {
  // A service's creator picks its names; on the operator's terminal they
  // must not set the title, clear the screen or overwrite a line. script(1)
  // (util-linux) gives vsp a terminal; through a pipe the bytes pass as is.
  TempDir dir;
  const std::string rules = dir.write("rules.yaml", k_rules);
  const std::string request =
      dir.write("request.json",
                R"({"SecretName":"app-\u001b]0;owned\u0007x\u001b[2J",)"
                R"("ServiceName":"web\rEVIL"})");
  const std::string command = binary_path("cli/vsp") +
                              " rules explain --rules " + rules +
                              " --request " + request;
  auto r = run_command("/usr/bin/script",
                       {"-qec", command, "/dev/null"},
                       {"PATH=/usr/bin:/bin", "TERM=xterm"});
  REQUIRE(r.status == 0);
  CHECK(r.out.find(R"(secret "app-\x1b]0;owned\x07x\x1b[2J" of service )"
                   R"("web\x0dEVIL")") != std::string::npos);
  CHECK(r.out.find("\x1b]") == std::string::npos);
  CHECK(r.out.find("\x1b[2J") == std::string::npos);
  CHECK(r.out.find("\x1b[32mmatched\x1b[0m") != std::string::npos);

  auto piped = run_vsp({"rules",
                        "explain",
                        "--rules",
                        rules,
                        "--request",
                        request,
                        "--format",
                        "json"},
                       k_env);
  REQUIRE(piped.status == 0);
  CHECK(json::parse(piped.out)["request"]["SecretName"] ==
        "app-\x1b]0;owned\x07x\x1b[2J");
}
