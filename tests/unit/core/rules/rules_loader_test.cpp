// Load-time checks of the kind-specific keys, each with its position.
#include "core/rules/rule_set.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace vsp::rules;

namespace {

std::vector<std::string> problems_of(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& p : RuleSet::check_text(text, "r.yaml")) {
    out.push_back(p.to_string());
  }
  return out;
}

// One rule of `kind` with the given extra lines (each indented by four).
std::string rule_with(const std::string& kind, const std::string& lines) {
  return "rules:\n"
         "  - name: a\n"
         "    kind: " +
         kind +
         "\n"
         "    allowed_policies: [p]\n" +
         lines;
}

} // namespace

TEST_CASE("RuleSet::check_text checks kind-specific keys", "[rules]") {
  struct Case {
    std::string text;
    std::vector<std::string> problems;
  };
  const Case cases[] = {
      {rule_with("kv", ""),
       {"r.yaml:2:5: rule \"a\" (kind kv) needs path_prefix, the part of "
        "Vault its paths stay under"}},
      {rule_with("kv", "    path_prefix: secret/app\n"),
       {"r.yaml:5:18: path_prefix \"secret/app\" is not a safe prefix: it "
        "does not end in '/'"}},
      {rule_with("kv", "    path_prefix: /secret/\n"),
       {"r.yaml:5:18: path_prefix \"/secret/\" is not a safe prefix: it is "
        "absolute"}},
      {rule_with("kv", "    path_prefix: \"secret/{label:x}/\"\n"),
       {"r.yaml:5:18: path_prefix may not use {label:...}: a label could "
        "move the prefix itself"}},
      {rule_with("kv", "    path_prefix: \"secret/{team}/\"\n"),
       {"r.yaml:5:18: path_prefix: column 8: unknown placeholder {team} "
        "(expected {secret}, {service}, {stack} or {label:KEY})"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    path: \"../{secret}\"\n"),
       {"r.yaml:6:11: path \"../{secret}\" is not a safe relative path: it "
        "has a \"..\" segment"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    path: \"{secret\"\n"),
       {"r.yaml:6:11: path: column 1: '{' is never closed"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    ttl: 1h\n"
                 "    method: post\n"),
       {"r.yaml:6:5: ttl does not apply to kind kv",
        "r.yaml:7:5: method does not apply to kind kv"}},
      {rule_with("token", "    path_prefix: secret/\n    wrap_ttl: 1m\n"),
       {"r.yaml:5:5: path_prefix does not apply to kind token",
        "r.yaml:6:5: wrap_ttl does not apply to kind token"}},
      {rule_with("dynamic",
                 "    path_prefix: database/creds/\n"
                 "    num_uses: 1\n"
                 "    kv_version: 2\n"),
       {"r.yaml:6:5: num_uses does not apply to kind dynamic",
        "r.yaml:7:5: kv_version does not apply to kind dynamic"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    wrap_ttl: 1m\n"),
       {"r.yaml:6:15: wrap_ttl needs wrap: true"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    wrap: true\n"
                 "    format: json\n"
                 "    field: x\n"),
       {"r.yaml:7:13: format does not apply with wrap: true (the value is "
        "the wrapping token)",
        "r.yaml:8:12: field does not apply with wrap: true (the value is "
        "the wrapping token)",
        "r.yaml:8:12: field applies to format raw, not json"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    kv_version: 3\n"
                 "    version: 0\n"),
       {"r.yaml:6:17: kv_version must be 1 or 2",
        "r.yaml:7:14: version must be a whole number >= 1"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    kv_version: 1\n"
                 "    version: 2\n"),
       {"r.yaml:7:14: version needs KV v2; this rule pins v1"}},
      {rule_with("kv",
                 "    path_prefix: secret/app/\n"
                 "    kv_mount: other/\n"
                 "    kv_version: 2\n"),
       {"r.yaml:6:15: path_prefix \"secret/app/\" is not under kv_mount "
        "\"other/\""}},
      {rule_with("kv",
                 "    path_prefix: secret/app/\n"
                 "    kv_mount: secret/\n"),
       {"r.yaml:6:15: kv_mount needs kv_version (a detected version finds "
        "its own mount)"}},
      {rule_with("dynamic",
                 "    path_prefix: pki/issue/\n"
                 "    params: {common_name: x}\n"),
       {"r.yaml:6:13: params and allowed_params need method: post"}},
      {rule_with("dynamic",
                 "    path_prefix: pki/issue/\n"
                 "    method: put\n"
                 "    allowed_params: {Common-Name: x}\n"),
       {"r.yaml:6:13: method must be get or post, not \"put\"",
        "r.yaml:7:21: params and allowed_params need method: post",
        "r.yaml:7:35: parameter name \"Common-Name\" must be lowercase "
        "letters, digits and '_'"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    format: template\n"),
       {"r.yaml:6:13: format template needs a template"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    format: json\n"
                 "    template: \"{{ x }}\"\n"),
       {"r.yaml:7:15: template is unused with format json (allow the label "
        "vsp.format to let secrets choose it)"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    include_metadata: true\n"),
       {"r.yaml:6:23: include_metadata needs format json"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    allow_labels: [vsp.policies, vsp.param.x]\n"),
       {"r.yaml:6:19: allow_labels: \"vsp.policies\" is not a choice label "
        "(expected any of: vsp.path, vsp.field, vsp.format, vsp.version, "
        "vsp.kv-version)",
        "r.yaml:6:19: allow_labels: \"vsp.param.x\" is not a choice label "
        "(expected any of: vsp.path, vsp.field, vsp.format, vsp.version, "
        "vsp.kv-version)"}},
      {rule_with("dynamic",
                 "    path_prefix: database/creds/\n"
                 "    allow_labels: [vsp.version]\n"),
       {"r.yaml:6:19: allow_labels: vsp.version applies to kind kv only"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    wrap: true\n"
                 "    allow_labels: [vsp.field]\n"),
       {"r.yaml:7:19: allow_labels: vsp.field does not apply with wrap: "
        "true"}},
      {rule_with("kv",
                 "    path_prefix: secret/\n"
                 "    wrap: true\n"
                 "    do_not_reuse: false\n"),
       {"r.yaml:7:19: do_not_reuse of rule \"a\" must stay true: its value "
        "is a wrapping token, which opens once, so tasks cannot share it"}},
      {rule_with("wrapped-token", "    do_not_reuse: no\n"),
       {"r.yaml:5:19: do_not_reuse of rule \"a\" must stay true: its value "
        "is a wrapping token, which opens once, so tasks cannot share it"}},
      {rule_with("token", "    allow_labels: [vsp.path]\n"),
       {"r.yaml:5:5: allow_labels does not apply to kind token"}},
      {rule_with("token", "    token_role: ../../sys/wrapping/wrap\n"),
       {"r.yaml:5:17: token_role \"../../sys/wrapping/wrap\" must be a role "
        "name: letters, digits, '-', '_' and '.'"}},
      {"defaults: {token_role: \"..\"}\n" + rule_with("token", ""),
       {"r.yaml:1:24: token_role \"..\" must be a role name: letters, "
        "digits, '-', '_' and '.'"}},
      {"rules:\n"
       "  - name: a\n"
       "    kind: token\n"
       "    allowed_policies: [\"r*\", app]\n",
       {"r.yaml:4:23: rule \"a\": allowed_policies \"r*\" would let a label "
        "ask for the root policy; name the policies, or use a narrower "
        "pattern"}},
      {rule_with("token",
                 "    match: {secret: \"app-*\", secret: \"*\"}\n"
                 "    allowed_policies: [q]\n"),
       {"r.yaml:5:30: duplicate key \"secret\" (first at line 5)",
        "r.yaml:6:5: duplicate key \"allowed_policies\" (first at line 4)"}},
      {rule_with("kv", "    path_prefix: secret/\n    renew: true\n"),
       {"r.yaml:6:5: renew does not apply to kind kv"}},
      {rule_with("dynamic",
                 "    path_prefix: database/creds/\n"
                 "    wrap: true\n"
                 "    renew: true\n"),
       {"r.yaml:7:12: rule \"a\" cannot renew a wrapped value: the wrapping "
        "hides its lease ID from vsp"}},
      {rule_with("dynamic",
                 "    path_prefix: database/creds/\n"
                 "    renew: sometimes\n"),
       {"r.yaml:6:12: renew must be true or false"}},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK(problems_of(c.text) == c.problems);
  }
}

TEST_CASE("RuleSet::check_text places template errors inside the template",
          "[rules]") {
  SECTION("a literal block: the line and column of the bad tag") {
    const auto p = problems_of(rule_with("kv",
                                         "    path_prefix: secret/\n"
                                         "    template: |\n"
                                         "      DB_USER={{ user }}\n"
                                         "      DB_PASS={{ password | rot13 "
                                         "}}\n"));
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "r.yaml:8:29: template: unknown filter \"rot13\" (expected "
                  "base64, json, shell or trim)");
  }
  SECTION("a quoted one-line template") {
    const auto p = problems_of(rule_with("kv",
                                         "    path_prefix: secret/\n"
                                         "    template: \"{{ user }}:{{ "
                                         "pass\"\n"));
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "r.yaml:6:27: template: '{{' is never closed");
  }
  SECTION("unknown metadata is caught at load") {
    const auto p = problems_of(rule_with("kv",
                                         "    path_prefix: secret/\n"
                                         "    template: x{{ vsp.owner }}\n"));
    REQUIRE(p.size() == 1);
    CHECK_THAT(p[0],
               Catch::StartsWith("r.yaml:6:19: template: unknown metadata "
                                 "vsp.owner (known: vsp.task_id, "));
  }
}

TEST_CASE("RuleSet::check_text accepts every kind written out", "[rules]") {
  const char* text = R"(version: 1
defaults:
  token_role: vsp-task
  wrap_ttl: 5m
rules:
  - name: wrapped
    match: {secret: "w-*"}
    allowed_policies: [app-read]
  - name: kv-env
    description: an .env file from KV v2
    match: {stack: shop, secret_labels: {app: "*"}}
    kind: kv
    allowed_policies: [shop-read]
    path_prefix: "secret/{stack}/"
    path: "{label:app}"
    template: |
      USER={{ user }}
      PASS={{ password | shell }}
      # written {{ vsp.issued_at }}
    allow_labels: [vsp.version, vsp.format]
  - name: db
    kind: dynamic
    allowed_policies: [db-read]
    path_prefix: database/creds/
    path: readonly
    format: json
    include_metadata: true
    ttl: 2h
    wrap: true
)";
  const auto p = RuleSet::check_text(text, "ok.yaml");
  for (const auto& problem : p) {
    UNSCOPED_INFO(problem.to_string());
  }
  CHECK(p.size() == 2); // include_metadata and format do not go with wrap
  auto set = RuleSet::load_text(
      std::string(text).substr(0, std::string(text).find("    wrap: true")),
      "ok.yaml");
  REQUIRE(set.ok());
  CHECK(set->rules().size() == 3);
  CHECK(set->rules()[1].value.value_template->fields() ==
        std::vector<std::string>{"user", "password"});
}

TEST_CASE("RuleSet: renew keeps a dynamic rule's lease alive, off by default",
          "[rules]") {
  const std::string base = rule_with("dynamic",
                                     "    path_prefix: database/creds/\n"
                                     "    path: readonly\n");
  auto plain = RuleSet::load_text(base, "r.yaml");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->rules()[0].source.renew);
  auto renewed = RuleSet::load_text(base + "    renew: true\n", "r.yaml");
  REQUIRE(renewed.ok());
  CHECK(renewed->rules()[0].source.renew);
  REQUIRE(renewed->find("a") != nullptr);
  CHECK(renewed->find("a")->source.renew);
  CHECK(renewed->find("b") == nullptr);
}

TEST_CASE("RuleSet::check_text refuses a file that is not UTF-8", "[rules]") {
  SECTION("a Latin-1 byte: its line, column and value") {
    const auto p = problems_of(rule_with("kv",
                                         "    path_prefix: secret/\n"
                                         "    template: \"caf\xe9\"\n"));
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "r.yaml:6:19: not UTF-8 text (byte 0xE9); a rules file "
                  "must be UTF-8");
  }
  SECTION("UTF-16: refused at its first byte") {
    const auto p = problems_of(std::string("\xff\xfer\0u\0", 6));
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "r.yaml:1:1: not UTF-8 text (byte 0xFF); a rules file "
                  "must be UTF-8");
  }
  SECTION("UTF-8 names and templates load") {
    CHECK(problems_of(rule_with("kv",
                                "    description: caf\xc3\xa9 \xe2\x82\xac\n"
                                "    path_prefix: secret/\n"
                                "    template: \"\xe2\x82\xac{{ x }}\"\n"))
              .empty());
  }
}
