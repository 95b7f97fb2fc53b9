#include "core/rules/rule_set.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace vsp::rules;
using namespace std::chrono_literals;
using docker::SecretRequest;

namespace {

const char* k_rules = R"(
# per-team tokens
defaults:
  token_role: vsp-task
  wrap_ttl: 10m
rules:
  - name: payments
    match:
      secret: "pay-*"
      service_labels: {team: payments}
    allowed_policies: [pay-read, pay-write]
    policies: [pay-read]
    ttl: 30m
    max_ttl: 2h
    max_wrap_ttl: 20m
  - name: app
    match:
      secret_labels: {app: "*"}
    allowed_policies: [app-read, app-write]
  - name: teams
    match:
      stack: "team-*"
    allowed_policies: ["team-*"]
    no_default_policy: true
    kind: token
)";

RuleSet load() {
  auto set = RuleSet::load_text(k_rules, "rules.yaml");
  REQUIRE(set.ok());
  return std::move(set).value();
}

SecretRequest request(std::string secret,
                      docker::Labels secret_labels = {},
                      docker::Labels service_labels = {}) {
  SecretRequest r;
  r.secret_name = std::move(secret);
  r.service_name = "web";
  r.task_id = "task1";
  r.secret_labels = std::move(secret_labels);
  r.service_labels = std::move(service_labels);
  return r;
}

} // namespace

TEST_CASE("RuleSet::decide lets the first matching rule decide", "[rules]") {
  const RuleSet rules = load();

  SECTION("defaults of the rule without labels") {
    auto d = rules.decide(request("pay-db", {}, {{"team", "payments"}}));
    REQUIRE(d.ok());
    CHECK(d->rule == "payments");
    CHECK(d->kind == Kind::wrapped_token);
    CHECK(d->token_role == "vsp-task");
    CHECK(d->policies == std::vector<std::string>{"pay-read"});
    CHECK(d->ttl == 30min);
    CHECK(d->wrap_ttl == 10min);
    CHECK(d->do_not_reuse);
  }
  SECTION("a rule without explicit policies grants all it allows") {
    auto d = rules.decide(request("x", {{"app", "shop"}}));
    REQUIRE(d.ok());
    CHECK(d->rule == "app");
    CHECK(d->policies == std::vector<std::string>{"app-read", "app-write"});
    CHECK(d->ttl == 1h);
  }
  SECTION("the stack namespace label selects a rule") {
    auto d = rules.decide(request("s",
                                  {{"com.docker.stack.namespace", "team-a"},
                                   {"vsp.policies", "team-a"}}));
    REQUIRE(d.ok());
    CHECK(d->rule == "teams");
    CHECK(d->kind == Kind::token);
    CHECK(d->wrap_ttl == 0s);
    CHECK(d->no_default_policy == NoDefaultPolicy::yes);
  }
}

TEST_CASE("RuleSet::decide lets labels narrow and never widen", "[rules]") {
  const RuleSet rules = load();
  const docker::Labels team{{"team", "payments"}};

  struct Case {
    docker::Labels secret_labels;
    bool ok;
    std::string expect; // policies joined, or the error message
  };
  const Case cases[] = {
      {{{"vsp.policies", "pay-write"}}, true, "pay-write"},
      {{{"vsp.policies", "pay-write, pay-read,pay-read"}},
       true,
       "pay-read pay-write"},
      {{{"vsp.policies", "admin"}},
       false,
       "secret \"pay-db\" of service \"web\" refused: rule \"payments\" does "
       "not allow policy \"admin\" (allowed: pay-read, pay-write)"},
      {{{"vsp.policies", "pay-*"}},
       false,
       "secret \"pay-db\" of service \"web\" refused: rule \"payments\" does "
       "not allow policy \"pay-*\" (allowed: pay-read, pay-write)"},
      {{{"vsp.policies", " , "}},
       false,
       "secret \"pay-db\" of service \"web\" refused: label vsp.policies is "
       "empty"},
      {{{"vsp.ttl", "3h"}},
       false,
       "secret \"pay-db\" of service \"web\" refused: rule \"payments\" "
       "allows vsp.ttl between 1s and 2h, not 3h"},
      {{{"vsp.ttl", "soon"}},
       false,
       "secret \"pay-db\" of service \"web\" refused: label vsp.ttl: invalid "
       "duration \"soon\": expected a number"},
      {{{"vsp.wrap-ttl", "21m"}},
       false,
       "secret \"pay-db\" of service \"web\" refused: rule \"payments\" "
       "allows vsp.wrap-ttl between 1s and 20m, not 21m"},
  };
  for (const auto& c : cases) {
    INFO(c.expect);
    auto d = rules.decide(request("pay-db", c.secret_labels, team));
    REQUIRE(d.ok() == c.ok);
    if (c.ok) {
      std::string joined;
      for (const auto& p : d->policies) {
        joined += joined.empty() ? p : " " + p;
      }
      CHECK(joined == c.expect);
    } else {
      CHECK(d.error().kind == ErrorKind::denied);
      CHECK(d.error().message == c.expect);
    }
  }

  SECTION("labels may shorten TTLs") {
    auto d = rules.decide(
        request("pay-db", {{"vsp.ttl", "2h"}, {"vsp.wrap-ttl", "30s"}}, team));
    REQUIRE(d.ok());
    CHECK(d->ttl == 2h);
    CHECK(d->wrap_ttl == 30s);
  }
  SECTION("a service label narrows when the secret has none") {
    auto d = rules.decide(request(
        "pay-db", {}, {{"team", "payments"}, {"vsp.policies", "pay-write"}}));
    REQUIRE(d.ok());
    CHECK(d->policies == std::vector<std::string>{"pay-write"});
  }
  SECTION("a glob-only rule requires the policies label") {
    auto d =
        rules.decide(request("s", {{"com.docker.stack.namespace", "team-a"}}));
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().message ==
          "secret \"s\" of service \"web\" refused: rule \"teams\" needs the "
          "label vsp.policies to choose policies among: team-*");
  }
}

TEST_CASE("RuleSet::decide denies by default and says why", "[rules]") {
  const RuleSet rules = load();

  SECTION("no rule matches: each rule's reason is listed") {
    auto d = rules.decide(request("mysecret", {{"a", "b"}}));
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().kind == ErrorKind::denied);
    CHECK(d.error().message ==
          "no rule matches secret \"mysecret\" of service \"web\" (rule "
          "\"payments\": secret name \"mysecret\" does not match \"pay-*\"; "
          "rule \"app\": secret label \"app\" is missing; rule \"teams\": the "
          "request has no stack (rule wants \"team-*\"))");
  }
  SECTION("a label with the wrong value") {
    auto d = rules.decide(request("pay-x", {}, {{"team", "ops"}}));
    REQUIRE_FALSE(d.ok());
    CHECK_THAT(d.error().message,
               Catch::Contains("service label \"team\" is \"ops\", not "
                               "\"payments\""));
  }
  SECTION("an old engine's request without labels") {
    SecretRequest r;
    r.secret_name = "pay-db";
    r.service_name = "web";
    auto d = rules.decide(r);
    REQUIRE_FALSE(d.ok());
    CHECK_THAT(d.error().message,
               Catch::Contains("service label \"team\" is missing"));
  }
  SECTION("an empty rules list denies everything") {
    auto empty = RuleSet::load_text("rules: []\n", "empty.yaml");
    REQUIRE(empty.ok());
    auto d = empty->decide(request("x"));
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().message ==
          "no rule matches secret \"x\" of service \"web\"");
  }
}

TEST_CASE("RuleSet::explain lists verdicts up to the deciding rule",
          "[rules]") {
  const RuleSet rules = load();
  auto e = rules.explain(request("x", {{"app", "shop"}}));
  REQUIRE(e.verdicts.size() == 2);
  CHECK_FALSE(e.verdicts[0].matched);
  CHECK(e.verdicts[0].mark.line == 7);
  CHECK(e.verdicts[1].matched);
  CHECK(e.outcome.ok());
}

TEST_CASE("RuleSet::load_text reports every problem with its position",
          "[rules]") {
  const auto problems_of = [](const char* text) {
    std::vector<std::string> out;
    for (const auto& p : RuleSet::check_text(text, "r.yaml")) {
      out.push_back(p.to_string());
    }
    return out;
  };

  SECTION("a valid file has none") {
    CHECK(problems_of(k_rules).empty());
  }
  SECTION("syntax error") {
    auto p = problems_of("rules:\n  - name: [x\n");
    REQUIRE(p.size() == 1);
    CHECK_THAT(p[0], Catch::StartsWith("r.yaml:"));
  }
  SECTION("TTLs in Go's forms, as Vault reads them") {
    CHECK(problems_of(R"(rules:
  - name: a
    allowed_policies: [x]
    ttl: 1h0.5m
    max_ttl: 1.5h
    wrap_ttl: 0.5m
)") == std::vector<std::string>{});
  }
  SECTION("a TTL that is not whole seconds, and one past Go's limit") {
    auto p = problems_of(R"(rules:
  - name: a
    allowed_policies: [x]
    ttl: 1.5s
    max_ttl: 99999999999999h
)");
    CHECK(p == std::vector<std::string>{
                   "r.yaml:4:10: ttl: invalid duration \"1.5s\": not a whole "
                   "number of seconds",
                   "r.yaml:5:14: max_ttl: invalid duration "
                   "\"99999999999999h\": too large"});
  }
  SECTION("several problems at once") {
    auto p = problems_of(R"(rules:
  - name: a
    polices: [x]
    allowed_policies: [x, root]
    ttl: 5q
  - name: a
    kind: magic
    allowed_policies: [y]
    policies: [z]
  - allowed_policies: [y]
    max_ttl: 1m
    ttl: 2m
)");
    CHECK(p == std::vector<std::string>{
                   "r.yaml:3:5: unknown key \"polices\" in rule \"a\" "
                   "(expected one of: allowed_policies, description, "
                   "do_not_reuse, explicit_max_ttl, kind, match, max_ttl, "
                   "max_wrap_ttl, name, no_default_policy, num_uses, period, "
                   "policies, token_role, ttl, wrap_ttl)",
                   "r.yaml:4:23: rule \"a\" may not grant the root policy",
                   "r.yaml:5:10: ttl: invalid duration \"5q\": unknown unit "
                   "(use h, m, s, ms, us or ns)",
                   "r.yaml:6:11: rule name \"a\" is used twice",
                   "r.yaml:7:11: unknown kind \"magic\" (expected "
                   "wrapped-token, token, kv or dynamic)",
                   "r.yaml:9:15: policy \"z\" of rule \"a\" is not in its "
                   "allowed_policies",
                   "r.yaml:10:5: rule #3 needs a name",
                   "r.yaml:11:14: max_ttl of rule \"#3\" is shorter than its "
                   "ttl",
               });
  }
  SECTION("load_text fails with all of them") {
    auto r = RuleSet::load_text("rules: {}\n", "r.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "r.yaml:1:8: rules must be a list");
  }
  SECTION("a missing file") {
    auto r = RuleSet::load_file("/nonexistent/rules.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "cannot read rules file /nonexistent/rules.yaml: No such file or "
          "directory");
  }
}

TEST_CASE("RuleSet::check_text refuses hostile files without crashing",
          "[rules]") {
  SECTION("deep nesting stops at the parser's depth limit") {
    const std::string deep =
        "rules: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
    const auto problems = RuleSet::check_text(deep, "r.yaml");
    CHECK_FALSE(problems.empty());
  }
  SECTION("an alias bomb is refused, not expanded into memory") {
    std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i <= 8; ++i) {
      text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
      for (int j = 0; j < 10; ++j) {
        text += (j ? ", *a" : "*a") + std::to_string(i - 1);
      }
      text += "]\n";
    }
    text += "rules:\n  - name: b\n    match: {secret: x}\n"
            "    policies: *a8\n    allowed_policies: *a8\n";
    const auto problems = RuleSet::check_text(text, "r.yaml");
    CHECK_FALSE(problems.empty());
  }
  SECTION("a node named by many aliases is checked once") {
    // Walking every path through the aliases took seconds for a few
    // hundred bytes; a duplicate key inside is reported once, not per path.
    const auto problems = RuleSet::check_text(
        "m: &m {x: 1, x: 2}\nl: &l [*m, *m, *m]\nall: [*l, *l, *l]\n"
        "rules: []\n",
        "r.yaml");
    std::vector<std::string> duplicates;
    for (const auto& p : problems) {
      if (p.message.find("duplicate") != std::string::npos) {
        duplicates.push_back(p.to_string());
      }
    }
    CHECK(duplicates == std::vector<std::string>{
                            "r.yaml:1:14: duplicate key \"x\" (first at line "
                            "1)"});
  }
  SECTION("binary bytes, a NUL and a tab indent") {
    for (const std::string& text : {std::string("rules:\n\t- name: x\n"),
                                    std::string("\0\xff\xfe", 3),
                                    std::string("rules: [\x01]\n")}) {
      CHECK_FALSE(RuleSet::check_text(text, "r.yaml").empty());
      CHECK_FALSE(RuleSet::load_text(text, "r.yaml").ok());
    }
  }
}
