// Black-box tests of `vsp rules check` and `vsp rules list`.
#include "tests/support/run_command.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace vsp::test;
using nlohmann::json;

namespace {

const char* k_good = R"(defaults:
  token_role: vsp-task
rules:
  - name: app
    match: {secret: "app-*"}
    allowed_policies: [app-read]
  - name: shop
    match: {stack: shop}
    kind: kv
    allowed_policies: [shop-read]
    path_prefix: "secret/{stack}/"
    field: password
  - name: db
    match: {secret: "db-*", service_labels: {team: data}}
    kind: dynamic
    allowed_policies: [db-read]
    path_prefix: database/creds/
    path: readonly
    template: "{{ username }}:{{ password }}"
)";

const char* k_bad = R"(rules:
  - name: shop
    kind: kv
    allowed_policies: [shop-read]
    path_prefix: secret/shop
    template: |
      USER={{ user }}
      PASS={{ password | rot13 }}
  - name: shop
    polices: [x]
    allowed_policies: [y]
)";

const std::vector<std::string> k_env{"PATH=/usr/bin:/bin"};

} // namespace

TEST_CASE("vsp rules check validates a file", "[cli][binary]") {
  TempDir dir;
  const std::string good = dir.write("good.yaml", k_good);
  const std::string bad = dir.write("bad.yaml", k_bad);

  SECTION("a valid file: exit 0") {
    auto r = run_vsp({"rules", "check", good}, k_env);
    CHECK(r.status == 0);
    CHECK(r.out == good + ": ok, 3 rules\n");
    CHECK(r.err.empty());
  }
  SECTION("every problem, with its position: exit 1") {
    auto r = run_vsp({"rules", "check", bad}, k_env);
    CHECK(r.status == 1);
    CHECK(r.out ==
          bad +
              ":5:18: path_prefix \"secret/shop\" is not a safe prefix: it "
              "does not end in '/'\n" +
              bad +
              ":8:26: template: unknown filter \"rot13\" (expected "
              "base64, json, shell or trim)\n" +
              bad + ":9:11: rule name \"shop\" is used twice\n" + bad +
              ":10:5: unknown key \"polices\" in rule \"shop\" "
              "(expected one of: allowed_policies, description, "
              "do_not_reuse, explicit_max_ttl, kind, match, max_ttl, "
              "max_wrap_ttl, name, no_default_policy, num_uses, "
              "period, policies, token_role, ttl, wrap_ttl)\n");
    CHECK(r.err == "vsp: error: " + bad + ": 4 problems\n");
  }
  SECTION("as JSON") {
    auto r = run_vsp({"rules", "check", "--format", "json", bad}, k_env);
    CHECK(r.status == 1);
    const json out = json::parse(r.out);
    CHECK(out.at("ok") == false);
    REQUIRE(out.at("problems").size() == 4);
    CHECK(out.at("problems")[1] ==
          json{{"file", bad},
               {"line", 8},
               {"column", 26},
               {"message",
                "template: unknown filter \"rot13\" (expected base64, json, "
                "shell or trim)"}});
    auto ok = run_vsp({"rules", "check", "--format", "json", good}, k_env);
    CHECK(ok.status == 0);
    CHECK(json::parse(ok.out) == json{{"file", good},
                                      {"ok", true},
                                      {"rules", 3},
                                      {"problems", json::array()}});
  }
  SECTION("a name that is not UTF-8, in the file or in its path") {
    // Both used to end in a JSON library exception instead of an answer.
    const std::string latin1 =
        dir.write("latin1.yaml",
                  "rules:\n  - name: caf\xe9\n    allowed_policies: [p]\n");
    auto r = run_vsp({"rules", "check", "--format", "json", latin1}, k_env);
    CHECK(r.status == 1);
    CHECK(json::parse(r.out).at("problems")[0].at("message") ==
          "not UTF-8 text (byte 0xE9); a rules file must be UTF-8");
    const std::string odd_path = dir.write("good\xe9.yaml", k_good);
    auto ok = run_vsp({"rules", "check", "--format", "json", odd_path}, k_env);
    CHECK(ok.status == 0);
    CHECK(json::parse(ok.out).at("file") == dir.file("good\xef\xbf\xbd.yaml"));
  }
  SECTION("the file from VSP_RULES, and a missing file") {
    auto r = run_vsp({"rules", "check"}, {"VSP_RULES=" + good});
    CHECK(r.status == 0);
    auto missing = run_vsp({"rules", "check", dir.file("none.yaml")}, k_env);
    CHECK(missing.status == 1);
    CHECK(missing.err == "vsp: error: cannot read rules file " +
                             dir.file("none.yaml") +
                             ": No such file or directory\n");
  }
  SECTION("an empty list is valid and refuses everything") {
    const std::string empty = dir.write("empty.yaml", "rules: []\n");
    auto r = run_vsp({"rules", "check", empty}, k_env);
    CHECK(r.status == 0);
    CHECK(r.out == empty + ": ok, 0 rules (every request is refused)\n");
  }
}

TEST_CASE("vsp rules list shows the rules in a table", "[cli][binary]") {
  TempDir dir;
  const std::string good = dir.write("good.yaml", k_good);

  auto r = run_vsp({"rules", "list", good}, k_env);
  CHECK(r.status == 0);
  CHECK(r.out ==
        "#  RULE  KIND           MATCH                          POLICIES   "
        "FROM                        VALUE         DONOTREUSE\n"
        "1  app   wrapped-token  secret=app-*                   app-read   "
        "auth/token/create/vsp-task  wrapped 10m   true\n"
        "2  shop  kv             stack=shop                     shop-read  "
        "secret/{stack}/{secret}     raw password  false\n"
        "3  db    dynamic        secret=db-* service.team=data  db-read    "
        "database/creds/readonly     template      true\n");

  auto j = run_vsp({"rules", "list", "--format", "json", good}, k_env);
  CHECK(j.status == 0);
  const json rules = json::parse(j.out);
  REQUIRE(rules.size() == 3);
  CHECK(rules[1].at("name") == "shop");
  CHECK(rules[1].at("path_prefix") == "secret/{stack}/");
  CHECK(rules[1].at("do_not_reuse") == false);
  CHECK(rules[2].at("match") ==
        json{{"secret", "db-*"}, {"service_labels", {{"team", "data"}}}});

  auto bad = run_vsp({"rules", "list", dir.write("bad.yaml", k_bad)}, k_env);
  CHECK(bad.status == 1);
  CHECK_THAT(bad.err,
             Catch::StartsWith("vsp: error: " + dir.file("bad.yaml") +
                               ":5:18: path_prefix"));
}

TEST_CASE("A bad command line exits 1 with one vsp: error: line",
          "[cli][binary]") {
  const struct {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{}, "vsp: error: name a subcommand\n"},
      {{"frobnicate"},
       "vsp: error: unknown subcommand \"frobnicate\"; see vsp --help\n"},
      {{"rules", "check", "--bogus"}, "--bogus"},
      {{"simulate", "--format", "xml"}, "xml"},
  };
  for (const auto& c : cases) {
    INFO(c.says);
    auto r = run_vsp(c.args, k_env);
    CHECK(r.status == 1);
    CHECK(r.err.find("vsp: error: ") != std::string::npos);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.out.empty());
  }
  auto help = run_vsp({"--help"}, k_env);
  CHECK(help.status == 0);
  CHECK(help.out.find("simulate") != std::string::npos);
}
