// Matching and narrowing of the kv and dynamic kinds, and every refusal a
// label can cause, table-driven through RuleSet::decide.
#include "core/rules/rule_set.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace vsp;
using namespace vsp::rules;
using namespace std::chrono_literals;
using docker::Labels;
using docker::SecretRequest;

namespace {

const char* k_rules = R"(
defaults:
  token_role: vsp-task
rules:
  - name: shop-kv
    match: {stack: shop}
    kind: kv
    allowed_policies: [shop-read, shop-admin]
    policies: [shop-read]
    path_prefix: "secret/{stack}/"
    path: "{service}/{secret}"
    field: password
    allow_labels: [vsp.path, vsp.field, vsp.format, vsp.version,
                   vsp.kv-version]
  - name: legacy
    match: {secret: "legacy-*"}
    kind: kv
    allowed_policies: [legacy-read]
    path_prefix: kv1/
    kv_version: 1
    format: json
    include_metadata: true
  - name: labelled
    match: {secret: "by-label-*"}
    kind: kv
    allowed_policies: [app-read]
    path_prefix: secret/app/
    path: "{label:app}/config"
    format: template
    template: "user={{ user }}\npass={{ password | shell }}\n"
    do_not_reuse: true
  - name: sealed-kv
    match: {secret: "sealed-*"}
    kind: kv
    allowed_policies: [app-read]
    path_prefix: secret/app/
    wrap: true
    wrap_ttl: 2m
    max_wrap_ttl: 5m
  - name: db
    match: {secret: "db-*"}
    kind: dynamic
    allowed_policies: [db-read]
    path_prefix: database/creds/
    path: readonly
    format: template
    template: "{{ username }}:{{ password }}"
    ttl: 2h
    max_ttl: 4h
  - name: certs
    match: {secret: "cert-*"}
    kind: dynamic
    allowed_policies: [pki-web]
    path_prefix: pki/issue/
    path: web
    method: post
    params: {common_name: "{service}.example.test", ttl: 24h}
    allowed_params: {common_name: "*.example.test", alt_names: "*.example.test"}
    format: json
  - name: tokens
    match: {secret: "tok-*"}
    kind: token
    allowed_policies: [app-read]
  - name: stacked
    match: {secret: "stk-*"}
    kind: kv
    allowed_policies: [app-read]
    path_prefix: "secret/{stack}/{service}/"
)";

RuleSet load() {
  auto set = RuleSet::load_text(k_rules, "kinds.yaml");
  INFO((set.ok() ? std::string() : set.error().message));
  REQUIRE(set.ok());
  return std::move(set).value();
}

SecretRequest request(std::string secret,
                      Labels secret_labels = {},
                      std::string service = "web") {
  SecretRequest r;
  r.secret_name = std::move(secret);
  r.service_name = std::move(service);
  r.task_id = "task1";
  r.secret_labels = std::move(secret_labels);
  return r;
}

Labels shop(Labels more = {}) {
  more["com.docker.stack.namespace"] = "shop";
  return more;
}

} // namespace

TEST_CASE("RuleSet::decide builds kv decisions", "[rules]") {
  const RuleSet rules = load();

  SECTION("path from the prefix and template, the kind's defaults") {
    auto d = rules.decide(request("db", shop(), "shop_web"));
    REQUIRE(d.ok());
    CHECK(d->rule == "shop-kv");
    CHECK(d->kind == Kind::kv);
    CHECK(d->prefix == "secret/shop/");
    CHECK(d->path == "secret/shop/shop_web/db");
    CHECK(d->policies == std::vector<std::string>{"shop-read"});
    CHECK(d->value.format == Format::raw);
    CHECK(d->value.field == "password");
    CHECK_FALSE(d->do_not_reuse); // a plain KV value is shared
    CHECK(d->wrap_ttl == 0s);
    CHECK_FALSE(d->kv_version);
    CHECK_FALSE(d->version);
  }
  SECTION("labels choose path, field, format and versions") {
    auto d = rules.decide(request("db",
                                  shop({{"vsp.path", "common/db"},
                                        {"vsp.field", "user"},
                                        {"vsp.version", "3"},
                                        {"vsp.kv-version", "2"}})));
    REQUIRE(d.ok());
    CHECK(d->path == "secret/shop/common/db");
    CHECK(d->value.field == "user");
    CHECK(d->version == 3);
    CHECK(d->kv_version == 2);
    CHECK(d->kv_mount == "secret/");
  }
  SECTION("vsp.reuse=false makes the value task-scoped") {
    auto d = rules.decide(request("db", shop({{"vsp.reuse", "false"}})));
    REQUIRE(d.ok());
    CHECK(d->do_not_reuse);
    auto same = rules.decide(request("db", shop({{"vsp.reuse", "true"}})));
    REQUIRE(same.ok());
    CHECK_FALSE(same->do_not_reuse);
  }
  SECTION("a pinned v1 rule with metadata") {
    auto d = rules.decide(request("legacy-app"));
    REQUIRE(d.ok());
    CHECK(d->path == "kv1/legacy-app");
    CHECK(d->kv_version == 1);
    CHECK(d->kv_mount == "kv1/");
    CHECK(d->value.format == Format::json);
    CHECK(d->value.include_metadata);
  }
  SECTION("a label placeholder and a template") {
    auto d = rules.decide(request("by-label-x", {{"app", "billing"}}));
    REQUIRE(d.ok());
    CHECK(d->path == "secret/app/billing/config");
    CHECK(d->value.format == Format::rendered);
    REQUIRE(d->value.value_template);
    CHECK(d->do_not_reuse); // the rule says so
  }
  SECTION("a wrapped kv value is task-scoped and keeps its wrap TTL") {
    auto d = rules.decide(request("sealed-x", {{"vsp.wrap-ttl", "30s"}}));
    REQUIRE(d.ok());
    CHECK(d->wrap_ttl == 30s);
    CHECK(d->do_not_reuse);
    CHECK(d->path == "secret/app/sealed-x");
  }
}

TEST_CASE("RuleSet::decide builds dynamic decisions", "[rules]") {
  const RuleSet rules = load();

  SECTION("a database role read under a lease holder") {
    auto d = rules.decide(request("db-main"));
    REQUIRE(d.ok());
    CHECK(d->kind == Kind::dynamic);
    CHECK(d->path == "database/creds/readonly");
    CHECK(d->method == Method::get);
    CHECK(d->ttl == 2h);
    CHECK(d->do_not_reuse);
    CHECK(d->params.empty());
  }
  SECTION("a holder TTL chosen by label within max_ttl") {
    auto d = rules.decide(request("db-main", {{"vsp.ttl", "3h"}}));
    REQUIRE(d.ok());
    CHECK(d->ttl == 3h);
  }
  SECTION("a holder TTL in Go's forms, as Vault reads them") {
    auto fraction = rules.decide(request("db-main", {{"vsp.ttl", "1.5h"}}));
    REQUIRE(fraction.ok());
    CHECK(fraction->ttl == 90min);
    auto combined = rules.decide(request("db-main", {{"vsp.ttl", "1h0.5m"}}));
    REQUIRE(combined.ok());
    CHECK(combined->ttl == 3630s);
  }
  SECTION("PKI parameters from the rule and from labels") {
    auto d = rules.decide(request("cert-web"));
    REQUIRE(d.ok());
    CHECK(d->method == Method::post);
    CHECK(d->params ==
          std::map<std::string, std::string>{
              {"common_name", "web.example.test"}, {"ttl", "24h"}});
    auto labelled =
        rules.decide(request("cert-web",
                             {{"vsp.param.common-name", "api.example.test"},
                              {"vsp.param.alt-names", "www.example.test"}}));
    REQUIRE(labelled.ok());
    CHECK(labelled->params.at("common_name") == "api.example.test");
    CHECK(labelled->params.at("alt_names") == "www.example.test");
  }
}

TEST_CASE("RuleSet::decide refuses labels beyond the rule", "[rules]") {
  const RuleSet rules = load();
  struct Case {
    std::string secret;
    Labels labels;
    std::string service;
    std::string why; // after "secret \"S\" of service \"V\" refused: "
  };
  const Case cases[] = {
      // The vocabulary.
      {"db",
       shop({{"vsp.polices", "x"}}),
       "web",
       "unknown label vsp.polices (known: vsp.policies, vsp.ttl, "
       "vsp.wrap-ttl, vsp.reuse, vsp.path, vsp.field, vsp.format, "
       "vsp.version, vsp.kv-version, vsp.param.<name>)"},
      {"db",
       shop({{"VSP.Policies", "x"}}),
       "web",
       "label VSP.Policies is not read: vsp labels are lower case, as in "
       "vsp.policies"},
      {"db",
       shop({{"vsp.ttl", "1h"}}),
       "web",
       "label vsp.ttl does not apply to rule \"shop-kv\" (kind kv)"},
      {"db",
       shop({{"vsp.wrap-ttl", "1m"}}),
       "web",
       "label vsp.wrap-ttl does not apply: rule \"shop-kv\" does not wrap "
       "its value"},
      {"legacy-a",
       {{"vsp.path", "other"}},
       "web",
       "rule \"legacy\" does not let label vsp.path choose (its "
       "allow_labels: none)"},
      {"tok-a",
       {{"vsp.field", "x"}},
       "web",
       "rule \"tokens\" does not let label vsp.field choose (its "
       "allow_labels: none)"},
      {"db-main",
       {{"vsp.param.common-name", "a"}},
       "web",
       "rule \"db\" does not let label vsp.param.common-name set parameter "
       "\"common_name\" (allowed_params: none)"},
      {"cert-a",
       {{"vsp.param.ttl", "1h"}},
       "web",
       "rule \"certs\" does not let label vsp.param.ttl set parameter "
       "\"ttl\" (allowed_params: alt_names, common_name)"},
      // Policies and TTLs.
      {"db",
       shop({{"vsp.policies", "admin"}}),
       "web",
       "rule \"shop-kv\" does not allow policy \"admin\" (allowed: "
       "shop-read, shop-admin)"},
      {"db-main",
       {{"vsp.ttl", "5h"}},
       "web",
       "rule \"db\" allows vsp.ttl between 1s and 4h, not 5h"},
      {"db-main",
       {{"vsp.ttl", "0s"}},
       "web",
       "rule \"db\" allows vsp.ttl between 1s and 4h, not 0s"},
      {"db-main",
       {{"vsp.ttl", "1.5s"}},
       "web",
       "label vsp.ttl: invalid duration \"1.5s\": not a whole number of "
       "seconds"},
      {"db-main",
       {{"vsp.ttl", "99999999999999h"}},
       "web",
       "label vsp.ttl: invalid duration \"99999999999999h\": too large"},
      {"sealed-a",
       {{"vsp.wrap-ttl", "10m"}},
       "web",
       "rule \"sealed-kv\" allows vsp.wrap-ttl between 1s and 5m, not 10m"},
      // Reuse (sugar-org/swarm-external-secrets#130: true means reuse).
      {"db-main",
       {{"vsp.reuse", "true"}},
       "web",
       "rule \"db\" gives each task its own value; label vsp.reuse=true "
       "would share it"},
      {"sealed-a",
       {{"vsp.reuse", "true"}},
       "web",
       "rule \"sealed-kv\" gives each task its own value; label "
       "vsp.reuse=true would share it"},
      {"db",
       shop({{"vsp.reuse", "yes"}}),
       "web",
       "label vsp.reuse must be true or false, not \"yes\""},
      // Paths never leave the prefix.
      {"db",
       shop({{"vsp.path", "../other/db"}}),
       "web",
       "rule \"shop-kv\" refuses path \"../other/db\" under secret/shop/: "
       "it has a \"..\" segment"},
      {"db",
       shop({{"vsp.path", "/etc/passwd"}}),
       "web",
       "rule \"shop-kv\" refuses path \"/etc/passwd\" under secret/shop/: it "
       "is absolute"},
      {"db",
       shop({{"vsp.path", "a//b"}}),
       "web",
       "rule \"shop-kv\" refuses path \"a//b\" under secret/shop/: it has an "
       "empty segment"},
      {"db",
       shop({{"vsp.path", "a/"}}),
       "web",
       "rule \"shop-kv\" refuses path \"a/\" under secret/shop/: it has an "
       "empty segment"},
      {"db",
       shop({{"vsp.path", "a/./b"}}),
       "web",
       "rule \"shop-kv\" refuses path \"a/./b\" under secret/shop/: it has a "
       "\".\" segment"},
      {"db",
       shop({{"vsp.path", "a?version=1"}}),
       "web",
       "rule \"shop-kv\" refuses path \"a?version=1\" under secret/shop/: it "
       "has a character outside A-Z a-z 0-9 . _ - /"},
      {"db",
       shop({{"vsp.path", ""}}),
       "web",
       "rule \"shop-kv\" refuses path \"\" under secret/shop/: it is empty"},
      {"by-label-a",
       {{"app", "../../sys"}},
       "web",
       "rule \"labelled\" refuses path \"../../sys/config\" under "
       "secret/app/: it has a \"..\" segment"},
      {"by-label-a",
       {{"app", ""}},
       "web",
       "rule \"labelled\": path \"{label:app}/config\" needs the label "
       "\"app\", which is missing"},
      {"db",
       shop(),
       "",
       "rule \"shop-kv\": path \"{service}/{secret}\" needs the service "
       "name, and the request has none"},
      {"stk-a",
       {},
       "web",
       "rule \"stacked\": path_prefix \"secret/{stack}/{service}/\" needs "
       "the stack (label com.docker.stack.namespace), and the request has "
       "none"},
      {"stk-a",
       {{"com.docker.stack.namespace", "a b"}},
       "web",
       "rule \"stacked\" refuses prefix \"secret/a b/web/\": it has a "
       "character outside A-Z a-z 0-9 . _ - /"},
      {"stk-a",
       {{"com.docker.stack.namespace", ".."}},
       "web",
       "rule \"stacked\" refuses prefix \"secret/../web/\": it has a "
       "\"..\" segment"},
      // KV versions.
      {"db",
       shop({{"vsp.kv-version", "3"}}),
       "web",
       "label vsp.kv-version must be 1 or 2, not \"3\""},
      {"db",
       shop({{"vsp.version", "0"}}),
       "web",
       "label vsp.version must be a whole number >= 1, not \"0\""},
      {"db",
       shop({{"vsp.version", "+2"}}),
       "web",
       "label vsp.version must be a whole number >= 1, not \"+2\""},
      {"db",
       shop({{"vsp.version", "2"}, {"vsp.kv-version", "1"}}),
       "web",
       "rule \"shop-kv\" reads KV v1, which has no versions"},
      // Formats and fields.
      {"db",
       shop({{"vsp.format", "yaml"}}),
       "web",
       "label vsp.format must be raw, json or template, not \"yaml\""},
      {"db",
       shop({{"vsp.format", "template"}}),
       "web",
       "rule \"shop-kv\" has no template for vsp.format=template"},
      {"db",
       shop({{"vsp.format", "json"}, {"vsp.field", "user"}}),
       "web",
       "label vsp.field needs format raw, and this value is json"},
      {"db", shop({{"vsp.field", ""}}), "web", "label vsp.field is empty"},
      // Dynamic parameters.
      {"cert-a",
       {{"vsp.param.common-name", "evil.example.com"}},
       "web",
       "rule \"certs\" allows parameter common_name matching "
       "\"*.example.test\", not \"evil.example.com\""},
      {"cert-a",
       {{"vsp.param.common-name", ""}},
       "web",
       "rule \"certs\" allows parameter common_name matching "
       "\"*.example.test\", not \"\""},
      {"cert-a",
       {},
       "",
       "rule \"certs\": parameter common_name \"{service}.example.test\" "
       "needs the service name, and the request has none"},
  };
  for (const auto& c : cases) {
    INFO(c.why);
    auto d = rules.decide(request(c.secret, c.labels, c.service));
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().kind == ErrorKind::denied);
    const std::string subject =
        c.service.empty() ? fmt::format("secret \"{}\"", c.secret)
                          : fmt::format("secret \"{}\" of service \"{}\"",
                                        c.secret,
                                        c.service);
    CHECK(d.error().message == subject + " refused: " + c.why);
  }
}

TEST_CASE("RuleSet::decide matches kinds by stack, labels and image",
          "[rules]") {
  const RuleSet rules = load();
  struct Case {
    SecretRequest request;
    std::string rule; // empty: no rule matches
  };
  SecretRequest no_stack = request("db");
  SecretRequest other_stack =
      request("db", {{"com.docker.stack.namespace", "blog"}});
  SecretRequest service_stack = request("db");
  service_stack.service_labels["com.docker.stack.namespace"] = "shop";
  const Case cases[] = {
      {request("db", shop()), "shop-kv"},
      {service_stack, "shop-kv"},
      {no_stack, ""},
      {other_stack, ""},
      {request("legacy-1"), "legacy"},
      {request("by-label-1", {{"app", "x"}}), "labelled"},
      {request("db-x"), "db"},
      {request("cert-x"), "certs"},
      {request("tok-x"), "tokens"},
  };
  for (const auto& c : cases) {
    INFO(c.request.secret_name << " expecting " << c.rule);
    auto e = rules.explain(c.request);
    if (c.rule.empty()) {
      CHECK_FALSE(e.outcome.ok());
      CHECK(e.verdicts.size() == rules.rules().size());
    } else {
      REQUIRE(e.outcome.ok());
      CHECK(e.outcome->rule == c.rule);
      CHECK(e.verdicts.back().matched);
    }
  }
}
