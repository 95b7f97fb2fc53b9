// Each kind issued against the emulator (or a real Vault for the KV
// parts): what the value holds, what Vault recorded, and how many
// requests it took.
#include "core/issuer/issuer.hpp"

#include "core/rules/rule_set.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/vault_emulator.hpp"
#include "tests/support/vault_setup.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

using namespace vsp;
using namespace vsp::issuer;
using namespace std::chrono_literals;
using docker::SecretRequest;
using nlohmann::json;

namespace {

struct Fixture {
  test::TempDir dir;
  std::unique_ptr<test::VaultTarget> target;
  test::KindsSetup setup;
  std::unique_ptr<vault::Client> client;
  std::unique_ptr<vault::Auth> login;
  std::unique_ptr<rules::RuleSet> rules;
  std::unique_ptr<Issuer> issuer;

  bool start(std::string* why,
             const test::KindsOptions& kinds = {},
             IssuerOptions options = {}) {
    target = test::vault_target(why);
    if (!target) {
      return false;
    }
    setup = test::setup_kinds(*target, dir, kinds);
    test::write_kv(*target,
                   setup.kv2,
                   2,
                   "app/kv-db",
                   {{"user", "app"}, {"password", "s3cret"}});
    test::write_kv(*target, setup.kv1, 1, "app/legacy-db", {{"user", "old"}});
    vault::Config vc;
    vc.address = target->address;
    client = std::make_unique<vault::Client>(vc);
    login = vault::Auth::from_token_file(*client, setup.plugin_token_file);
    // Log in now, so request counts below are the issuer's alone.
    REQUIRE(login->current(Deadline::after(5s)).ok());
    use_rules(test::kinds_rules(setup));
    issuer = std::make_unique<Issuer>(*client, *login, options);
    return true;
  }

  void use_rules(const std::string& text) {
    auto loaded = rules::RuleSet::load_text(text, "kinds.yaml");
    INFO((loaded.ok() ? std::string() : loaded.error().message));
    REQUIRE(loaded.ok());
    rules = std::make_unique<rules::RuleSet>(std::move(loaded).value());
  }

  rules::Decision decide(const SecretRequest& r) {
    auto d = rules->decide(r);
    INFO((d.ok() ? std::string() : d.error().message));
    REQUIRE(d.ok());
    return std::move(d).value();
  }

  Result<Issued> issue(const SecretRequest& r) {
    return issuer->issue(r, decide(r), Deadline::after(5s));
  }

  Issued issued(const SecretRequest& r) {
    auto out = issue(r);
    INFO((out.ok() ? std::string() : out.error().message));
    REQUIRE(out.ok());
    return std::move(out).value();
  }

  bool emulated() const { return !target->real(); }
  const test::VaultEmulator& emu() const { return *target->emulator; }

  // Requests to `path` since the last reset_stats().
  long count(const std::string& path) const {
    const json stats = emu().stats();
    const json& by_path = stats.at("by_path");
    return by_path.contains(path) ? by_path.at(path).get<long>() : 0;
  }
  long total() const { return emu().request_count(); }
  void reset_stats() const { emu().request("POST", "/_emulator/stats/reset"); }

  // The emulator's view of a live token, by accessor (null if gone).
  json token(const std::string& accessor) const {
    const json all = emu().request("GET", "/_emulator/tokens");
    for (const auto& t : all.at("body").at("tokens")) {
      if (t.at("accessor") == accessor) {
        return t;
      }
    }
    return nullptr;
  }
  json lease(const std::string& id) const {
    const json all = emu().request("GET", "/_emulator/leases");
    for (const auto& l : all.at("body").at("leases")) {
      if (l.at("lease_id") == id) {
        return l;
      }
    }
    return nullptr;
  }

  SecretString root() const { return SecretString(target->token); }
};

SecretRequest request(const std::string& secret,
                      const std::string& task,
                      docker::Labels labels = {},
                      const std::string& service = "web") {
  SecretRequest r;
  r.secret_name = secret;
  r.service_name = service;
  r.service_id = "svc1";
  r.task_id = task;
  r.task_name = service + ".1." + task;
  r.node_id = "node1";
  r.secret_labels = std::move(labels);
  return r;
}

std::string text(const Issued& issued) {
  return std::string(issued.value.reveal());
}

} // namespace

TEST_CASE("Issuer::issue reads KV values", "[issuer][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }

  SECTION("one field of a KV v2 secret, shared by tasks") {
    const Issued v = f.issued(request("kv-db", "t1"));
    CHECK(text(v) == "s3cret");
    CHECK_FALSE(v.do_not_reuse);
    CHECK(v.kind == rules::Kind::kv);
    CHECK(v.accessor.empty()); // nothing was minted for the task
    CHECK(v.lease_id.empty());
  }
  SECTION("a field chosen by label") {
    CHECK(text(f.issued(request("kv-db", "t1", {{"vsp.field", "user"}}))) ==
          "app");
  }
  SECTION("the whole map of a KV v1 secret, with metadata") {
    const json value = json::parse(text(f.issued(request("legacy-db", "t2"))));
    CHECK(value.at("data") == json{{"user", "old"}});
    const json& meta = value.at("metadata");
    CHECK(meta.at("task_id") == "t2");
    CHECK(meta.at("task_name") == "web.1.t2");
    CHECK(meta.at("service_name") == "web");
    CHECK(meta.at("secret") == "legacy-db");
    CHECK(meta.at("rule") == "legacy");
    CHECK(meta.at("kind") == "kv");
    CHECK(meta.at("path") == f.setup.kv1 + "app/legacy-db");
    CHECK(meta.at("kv_version") == 1);
    CHECK(meta.at("issued_at").get<std::string>().size() == 20);
    CHECK_FALSE(meta.contains("lease_id"));
  }
  SECTION("a missing field is a clear error") {
    auto r = f.issue(request("kv-db", "t3", {{"vsp.field", "token"}}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid_input);
    CHECK(r.error().message ==
          "field \"token\" is missing (the value has: password, user)");
  }
  SECTION("a missing secret is not_found") {
    auto r = f.issue(request("kv-nope", "t4"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == vault::errc::not_found);
  }
}

TEST_CASE("Issuer::issue reads KV v2 versions", "[issuer][emulator]") {
  Fixture f;
  std::string why;
  // No read sharing: the test changes versions between reads.
  if (!f.start(&why, {}, IssuerOptions{300s, 0ms, 900s})) {
    VSP_SKIP(why);
  }
  test::write_kv(*f.target, f.setup.kv2, 2, "app/kv-ver", {{"password", "v1"}});
  test::write_kv(*f.target, f.setup.kv2, 2, "app/kv-ver", {{"password", "v2"}});
  test::write_kv(*f.target, f.setup.kv2, 2, "app/kv-ver", {{"password", "v3"}});

  CHECK(text(f.issued(request("kv-ver", "t1"))) == "v3");
  CHECK(text(f.issued(request("kv-ver", "t2", {{"vsp.version", "1"}}))) ==
        "v1");

  const auto root = f.root();
  auto call = [&](const std::string& path, const json& body) {
    auto r = f.client->call(
        vault::Method::post, path, &body, &root, {}, Deadline::after(5s));
    REQUIRE(r.ok());
  };
  call(f.setup.kv2 + "delete/app/kv-ver", {{"versions", {2}}});
  call(f.setup.kv2 + "destroy/app/kv-ver", {{"versions", {1}}});

  auto deleted = f.issue(request("kv-ver", "t3", {{"vsp.version", "2"}}));
  REQUIRE_FALSE(deleted.ok());
  CHECK(deleted.error().code == vault::errc::deleted);
  CHECK_THAT(deleted.error().message,
             Catch::Contains("version 2 of " + f.setup.kv2 +
                             "app/kv-ver was deleted at"));
  auto destroyed = f.issue(request("kv-ver", "t4", {{"vsp.version", "1"}}));
  REQUIRE_FALSE(destroyed.ok());
  CHECK(destroyed.error().code == vault::errc::destroyed);
  CHECK(destroyed.error().message ==
        "vault: version 1 of " + f.setup.kv2 + "app/kv-ver is destroyed");
}

TEST_CASE("Issuer::issue renders KV values through templates and pins",
          "[issuer][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  f.use_rules(fmt::format(R"(rules:
  - name: env
    match: {{secret: "env-*"}}
    kind: kv
    token_role: {role}
    allowed_policies: [{kv}]
    path_prefix: {kv2}app/
    path: kv-db
    template: |
      DB_USER={{{{ user }}}}
      DB_PASS={{{{ password | shell }}}}
      DB_TASK={{{{ vsp.task_id }}}}
  - name: pinned
    match: {{secret: "pinned-*"}}
    kind: kv
    token_role: {role}
    allowed_policies: [{kv}]
    path_prefix: {kv2}app/
    path: kv-db
    kv_version: 2
    format: json
  - name: wrong-pin
    match: {{secret: "wrong-*"}}
    kind: kv
    token_role: {role}
    allowed_policies: [{kv}]
    path_prefix: {kv1}app/
    path: legacy-db
    kv_version: 2
)",
                          fmt::arg("role", f.setup.role),
                          fmt::arg("kv", f.setup.kv_policy),
                          fmt::arg("kv2", f.setup.kv2),
                          fmt::arg("kv1", f.setup.kv1)));

  SECTION("an .env file") {
    CHECK(text(f.issued(request("env-app", "t9"))) ==
          "DB_USER=app\nDB_PASS='s3cret'\nDB_TASK=t9\n");
  }
  SECTION("a pinned version needs no mount lookup") {
    if (!f.emulated()) {
      VSP_SKIP("counts requests in the emulator");
    }
    f.reset_stats();
    CHECK(json::parse(text(f.issued(request("pinned-a", "t1")))) ==
          json{{"user", "app"}, {"password", "s3cret"}});
    CHECK(f.count("sys/internal/ui/mounts/" + f.setup.kv2 + "app/kv-db") == 0);
    CHECK(f.total() == 2); // the reader token and the read
  }
  SECTION("a pin that does not match the mount fails in Vault") {
    // v2 paths (kv1-.../data/...) are outside the reader's policy.
    auto r = f.issue(request("wrong-a", "t1"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == vault::errc::permission_denied);
  }
}

TEST_CASE("Issuer::issue wraps a KV read in one round trip",
          "[issuer][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  f.use_rules(fmt::format(R"(rules:
  - name: sealed
    match: {{secret: "sealed-*"}}
    kind: kv
    token_role: {role}
    allowed_policies: [{kv}]
    path_prefix: {kv2}app/
    path: kv-db
    wrap: true
    wrap_ttl: 90s
)",
                          fmt::arg("role", f.setup.role),
                          fmt::arg("kv", f.setup.kv_policy),
                          fmt::arg("kv2", f.setup.kv2)));

  const Issued v = f.issued(request("sealed-a", "t1"));
  CHECK(v.do_not_reuse);
  CHECK_FALSE(v.wrapping_accessor.empty());
  CHECK(v.ttl == 90s);
  auto lookup = f.client->lookup_wrapping(v.value, Deadline::after(5s));
  REQUIRE(lookup.ok());
  CHECK(lookup->creation_path == f.setup.kv2 + "data/app/kv-db");
  CHECK(lookup->creation_ttl == 90s);
  auto inner = f.client->unwrap(v.value, Deadline::after(5s));
  REQUIRE(inner.ok());
  CHECK(inner->body.at("data").at("data") ==
        json{{"user", "app"}, {"password", "s3cret"}});

  if (f.emulated()) {
    f.reset_stats();
  }
  const Issued other = f.issued(request("sealed-a", "t2"));
  CHECK_FALSE(other.value == v.value);
  if (f.emulated()) {
    CHECK(f.total() == 1); // reader token and mount already known
  }
}

TEST_CASE("Issuer::issue coalesces a burst of KV reads", "[issuer][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why, {}, IssuerOptions{300s, 2000ms, 900s})) {
    VSP_SKIP(why);
  }
  if (!f.emulated()) {
    VSP_SKIP("counts requests in the emulator");
  }
  const std::string read_path = f.setup.kv2 + "data/app/kv-db";
  f.reset_stats();

  // 24 tasks at once, as after a leader change or a scale-out.
  const rules::Decision decision = f.decide(request("kv-db", "x"));
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 24; ++i) {
    threads.emplace_back([&, i] {
      auto r = f.issuer->issue(request("kv-db", "task-" + std::to_string(i)),
                               decision,
                               Deadline::after(5s));
      if (r.ok() && r->value.reveal() == "s3cret") {
        ++good;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(good == 24);
  CHECK(f.count(read_path) == 1);
  CHECK(f.count("auth/token/create/" + f.setup.role) == 1);
  CHECK(f.total() == 3); // reader token, mount lookup, one read

  SECTION("a rule reading with other policies reads on its own") {
    f.use_rules(test::kinds_rules(f.setup) +
                fmt::format(R"(  - name: wide
    match: {{secret: "wide-*"}}
    kind: kv
    allowed_policies: [{kv}, {db}]
    path_prefix: {kv2}app/
    path: kv-db
    field: password
)",
                            fmt::arg("kv", f.setup.kv_policy),
                            fmt::arg("db", f.setup.db_policy),
                            fmt::arg("kv2", f.setup.kv2)));
    CHECK(text(f.issued(request("wide-a", "w1"))) == "s3cret");
    CHECK(f.count(read_path) == 2);
    CHECK(f.count("auth/token/create/" + f.setup.role) == 2);
  }
  SECTION("after the window the value is read again") {
    std::this_thread::sleep_for(2100ms);
    CHECK(text(f.issued(request("kv-db", "late"))) == "s3cret");
    CHECK(f.count(read_path) == 2);
    CHECK(f.count("auth/token/create/" + f.setup.role) == 1);
  }
  SECTION("a revoked reader token is replaced once") {
    const json readers = f.emu().request("GET", "/_emulator/tokens");
    std::string accessor;
    for (const auto& t : readers.at("body").at("tokens")) {
      if (t.at("display_name") == "token-vsp-kv-reader") {
        accessor = t.at("accessor");
      }
    }
    REQUIRE_FALSE(accessor.empty());
    REQUIRE(f.client->revoke_accessor(f.root(), accessor, Deadline::after(5s))
                .ok());
    std::this_thread::sleep_for(2100ms);
    CHECK(text(f.issued(request("kv-db", "after-revoke"))) == "s3cret");
    CHECK(f.count("auth/token/create/" + f.setup.role) == 2);
  }
}

TEST_CASE("Issuer::issue fetches database credentials under a lease holder",
          "[issuer][emulator]") {
  Fixture f;
  std::string why;
  // The plugin's own token lives 3 minutes, the credentials an hour
  // (external-secrets#2198).
  if (!f.start(&why, {"3m", "1h", "24h"})) {
    VSP_SKIP(why);
  }
  if (!f.emulated()) {
    VSP_SKIP("needs the emulator's database engine");
  }
  f.reset_stats();
  const Issued v = f.issued(request("db-main", "t1"));
  CHECK(f.total() == 2); // the holder and the credentials

  const std::string value = text(v);
  const auto colon = value.find(':');
  REQUIRE(colon != std::string::npos);
  CHECK(value.substr(0, 2) == "v-");
  CHECK(v.do_not_reuse);
  CHECK(v.kind == rules::Kind::dynamic);
  CHECK(v.lease_id.rfind(f.setup.db + "creds/readonly/", 0) == 0);
  CHECK(v.ttl == 1h);
  CHECK(v.expires_at > std::chrono::system_clock::now() + 59min);

  SECTION("the lease belongs to an orphan holder tagged with the task") {
    const json lease = f.lease(v.lease_id);
    REQUIRE_FALSE(lease.is_null());
    CHECK(lease.at("owner_accessor") == v.accessor);
    const json holder = f.token(v.accessor);
    REQUIRE_FALSE(holder.is_null());
    CHECK(holder.at("orphan") == true);
    CHECK(holder.at("meta").at("vsp_task_id") == "t1");
    CHECK(holder.at("meta").at("vsp_kind") == "dynamic");
    CHECK(holder.at("meta").at("vsp_rule") == "db");
    CHECK(holder.at("policies") == json::array({f.setup.db_policy, "default"}));
  }
  SECTION("the lease outlives the plugin's own token") {
    REQUIRE(f.emu().advance_clock(5 * 60));
    CHECK_FALSE(f.lease(v.lease_id).is_null());
    REQUIRE(f.emu().advance_clock(56 * 60));
    CHECK(f.lease(v.lease_id).is_null()); // its own TTL still applies
  }
  SECTION("revoking the holder by accessor ends the lease") {
    REQUIRE(f.client->revoke_accessor(f.root(), v.accessor, Deadline::after(5s))
                .ok());
    CHECK(f.lease(v.lease_id).is_null());
  }
  SECTION("a repeated request for the task gets the same credentials") {
    f.reset_stats();
    const Issued again = f.issued(request("db-main", "t1"));
    CHECK(again.value == v.value);
    CHECK(again.reused);
    // It reports the decision behind the value it gets: the first one.
    CHECK(again.rule == "db");
    CHECK(again.policies == v.policies);
    CHECK_FALSE(v.policies.empty());
    CHECK(f.total() == 0);
    const Issued other = f.issued(request("db-main", "t2"));
    CHECK_FALSE(other.value == v.value);
  }
}

TEST_CASE("Issuer::issue keeps the lease holder alive as long as the lease",
          "[issuer][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why, {"1h", "3h", "24h"})) {
    VSP_SKIP(why);
  }
  if (!f.emulated()) {
    VSP_SKIP("needs the emulator's database engine");
  }

  SECTION("a longer lease renews the holder once") {
    f.reset_stats();
    const Issued v = f.issued(request("db-main", "t1")); // rule ttl 1h
    CHECK(f.total() == 3);
    CHECK(f.count("auth/token/renew-self") == 1);
    CHECK(f.token(v.accessor).at("ttl").get<long>() >= 3 * 3600 - 5);
  }
  SECTION("a holder capped below the lease is refused and revoked") {
    f.use_rules(fmt::format(R"(rules:
  - name: capped
    match: {{secret: "db-*"}}
    kind: dynamic
    token_role: {role}
    allowed_policies: [{db}]
    path_prefix: {dbm}creds/
    path: readonly
    ttl: 1h
    explicit_max_ttl: 2h
)",
                            fmt::arg("role", f.setup.role),
                            fmt::arg("db", f.setup.db_policy),
                            fmt::arg("dbm", f.setup.db)));
    const json before = f.emu().request("GET", "/_emulator/leases");
    auto r = f.issue(request("db-main", "t2"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "lease_outlives_holder");
    // The renewal is capped at the explicit max, less the time gone by.
    CHECK_THAT(r.error().message,
               Catch::Matches("the lease of " + f.setup.db +
                              "creds/readonly lasts 10800s but its holder "
                              "token only 7(199|200)s: raise the rule's ttl "
                              "\\(or the token role's limits\\) to at least "
                              "the lease's"));
    const json after = f.emu().request("GET", "/_emulator/leases");
    CHECK(after.at("body").at("leases").size() ==
          before.at("body").at("leases").size());
  }
}

TEST_CASE("Issuer::issue issues PKI certificates with parameters",
          "[issuer][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  if (!f.emulated()) {
    VSP_SKIP("needs the emulator's PKI engine");
  }

  SECTION("common_name from the service name") {
    const Issued v = f.issued(request("cert-tls", "t1", {}, "api"));
    const json value = json::parse(text(v));
    CHECK_THAT(value.at("data").at("certificate").get<std::string>(),
               Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
    CHECK(value.at("metadata").at("lease_id") == v.lease_id);
    CHECK(value.at("metadata").at("renewable") == false);
    CHECK(value.at("metadata").contains("expires_at"));
    CHECK(v.lease_id.rfind(f.setup.pki + "issue/web/", 0) == 0);
  }
  SECTION("common_name from a label, within the rule's glob") {
    const Issued v = f.issued(request(
        "cert-tls", "t2", {{"vsp.param.common-name", "www.example.test"}}));
    const auto cert =
        json::parse(text(v)).at("data").at("certificate").get<std::string>();
    CHECK(cert.size() > 100);
  }
  SECTION("Vault's refusal comes back, and the holder is revoked") {
    f.use_rules(fmt::format(R"(rules:
  - name: any-cn
    match: {{secret: "cert-*"}}
    kind: dynamic
    token_role: {role}
    allowed_policies: [{pki}]
    path_prefix: {pkim}issue/
    path: web
    method: post
    params: {{common_name: "{{service}}.example.com"}}
    format: json
)",
                            fmt::arg("role", f.setup.role),
                            fmt::arg("pki", f.setup.pki_policy),
                            fmt::arg("pkim", f.setup.pki)));
    f.reset_stats();
    auto r = f.issue(request("cert-tls", "t3"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == vault::errc::bad_request);
    CHECK_THAT(r.error().message,
               Catch::Contains("common name web.example.com not allowed"));
    CHECK(f.count("auth/token/revoke-self") == 1);
  }
}

TEST_CASE("Issuer::issue wraps dynamic secrets", "[issuer][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  if (!f.emulated()) {
    VSP_SKIP("needs the emulator's database engine");
  }
  f.use_rules(fmt::format(R"(rules:
  - name: sealed-db
    match: {{secret: "db-*"}}
    kind: dynamic
    token_role: {role}
    allowed_policies: [{db}]
    path_prefix: {dbm}creds/
    path: readonly
    wrap: true
    wrap_ttl: 2m
)",
                          fmt::arg("role", f.setup.role),
                          fmt::arg("db", f.setup.db_policy),
                          fmt::arg("dbm", f.setup.db)));
  f.reset_stats();
  const Issued v = f.issued(request("db-main", "t1"));
  CHECK(f.total() == 2);
  CHECK(v.do_not_reuse);
  CHECK_FALSE(v.accessor.empty()); // the holder
  CHECK_FALSE(v.wrapping_accessor.empty());
  CHECK(v.lease_id.empty()); // inside the wrapping, unseen

  auto lookup = f.client->lookup_wrapping(v.value, Deadline::after(5s));
  REQUIRE(lookup.ok());
  CHECK(lookup->creation_path == f.setup.db + "creds/readonly");
  auto inner = f.client->unwrap(v.value, Deadline::after(5s));
  REQUIRE(inner.ok());
  const std::string lease_id = inner->body.at("lease_id");
  CHECK(f.lease(lease_id).at("owner_accessor") == v.accessor);
}

TEST_CASE("Issuer::issue refuses values Docker would refuse",
          "[issuer][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  test::write_kv(*f.target,
                 f.setup.kv2,
                 2,
                 "app/kv-big",
                 {{"password", std::string(512000, 'x')}});
  test::write_kv(*f.target, f.setup.kv2, 2, "app/kv-empty", {{"password", ""}});
  test::write_kv(*f.target,
                 f.setup.kv2,
                 2,
                 "app/kv-limit",
                 {{"password", std::string(511999, 'y')}});

  auto big = f.issue(request("kv-big", "t1"));
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message ==
        "the value is 512000 bytes; Docker takes 1 to 511999 bytes");
  auto empty = f.issue(request("kv-empty", "t2"));
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message ==
        "the value is 0 bytes; Docker takes 1 to 511999 bytes");
  CHECK(f.issued(request("kv-limit", "t3")).value.size() == 511999);
}
