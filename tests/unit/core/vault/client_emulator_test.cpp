// Client operations and fault handling against the Vault emulator, or a
// real Vault when VSP_TEST_VAULT_ADDR and VSP_TEST_VAULT_TOKEN are set
// (then the fault and clock cases skip, saying why).

#include "core/vault/client.hpp"

#include "tests/support/vault_emulator.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <thread>

using namespace vsp;
using namespace vsp::vault;
using namespace vsp::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// Parts no API call can create on a real Vault without outside systems.
json emulator_config() {
  return {
      {"mounts",
       {{"secret/", {{"type", "kv"}, {"options", {{"version", "2"}}}}},
        {"database/",
         {{"type", "database"},
          {"roles",
           {{"readonly", {{"default_ttl", "1h"}, {"max_ttl", "24h"}}}}}}},
        {"pki/",
         {{"type", "pki"},
          {"roles",
           {{"web",
             {{"allowed_domains", {"example.test"}},
              {"allow_subdomains", true},
              {"max_ttl", "72h"},
              {"generate_lease", true}}}}}}}}},
  };
}

Deadline soon() {
  return Deadline::after(10s);
}

std::chrono::milliseconds since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t);
}

struct Fixture {
  std::unique_ptr<VaultTarget> target;
  std::unique_ptr<Client> client;
  SecretString root;

  bool real() const { return target->real(); }
  VaultEmulator& emu() const { return *target->emulator; }

  Result<Response>
  as_root(Method m, const std::string& path, const json& body = nullptr) {
    return client->call(
        m, path, body.is_null() ? nullptr : &body, &root, {}, soon());
  }

  // Creates what the tests need through the API, so a real Vault gets the
  // same setup; "already there" answers are fine.
  void provision() {
    (void)as_root(Method::post,
                  "sys/mounts/kv1",
                  {{"type", "kv"}, {"options", {{"version", "1"}}}});
    (void)as_root(Method::post, "sys/auth/approle", {{"type", "approle"}});
    REQUIRE(as_root(Method::put,
                    "sys/policies/acl/app-read",
                    {{"policy",
                      "path \"secret/data/app/*\" { capabilities = "
                      "[\"read\"] }"}})
                .ok());
    REQUIRE(as_root(Method::post,
                    "auth/token/roles/vsp-task",
                    {{"allowed_policies", {"app-read"}},
                     {"orphan", true},
                     {"renewable", true}})
                .ok());
    REQUIRE(as_root(Method::post,
                    "auth/approle/role/vsp-plugin",
                    {{"token_policies", {"default"}},
                     {"token_ttl", "1h"},
                     {"token_max_ttl", "4h"}})
                .ok());
  }
};

Config fast(const std::string& address) {
  Config c;
  c.address = address;
  c.retry_wait_min = 10ms;
  c.retry_wait_max = 20ms;
  return c;
}

std::unique_ptr<Fixture> start(std::string* why, EmulatorOptions options = {}) {
  if (options.config.is_null()) {
    options.config = emulator_config();
  }
  auto f = std::make_unique<Fixture>();
  f->target = vault_target(why, options);
  if (!f->target) {
    return nullptr;
  }
  f->client = std::make_unique<Client>(fast(f->target->address));
  f->root = SecretString(std::string(f->target->token));
  f->provision();
  return f;
}

TokenCreateRequest task_request() {
  TokenCreateRequest req;
  req.role = "vsp-task";
  req.policies = {"app-read"};
  req.meta = {{"vsp_task_id", "task-1"}, {"vsp_service_name", "web"}};
  req.ttl = 120s;
  return req;
}

long path_count(const VaultEmulator& emu, const std::string& path) {
  const json stats = emu.stats();
  if (!stats.contains("by_path") || !stats["by_path"].contains(path)) {
    return 0;
  }
  return stats["by_path"][path].get<long>();
}

} // namespace

#define START(f, ...)                                                          \
  std::string why;                                                             \
  auto f = start(&why __VA_OPT__(, ) __VA_ARGS__);                             \
  if (!f) {                                                                    \
    VSP_SKIP(why);                                                             \
  }

#define EMULATOR_ONLY(f, what)                                                 \
  if ((f)->real()) {                                                           \
    VSP_SKIP(what " needs the emulator's fault injection or clock");           \
  }

TEST_CASE("Client token operations", "[vault][emulator]") {
  START(f);
  Client& c = *f->client;

  SECTION("create by role, look up, renew, revoke by accessor") {
    const auto a = c.create_token(f->root, task_request(), soon());
    REQUIRE(a.ok());
    CHECK(a->orphan);
    CHECK(a->lease_duration == 120s);
    CHECK(a->metadata.at("vsp_task_id") == "task-1");

    const auto self = c.lookup_self(a->client_token, soon());
    REQUIRE(self.ok());
    CHECK(self->accessor == a->accessor);
    CHECK(self->path == "auth/token/create/vsp-task");
    CHECK(self->meta.at("vsp_service_name") == "web");

    const auto by_token = c.lookup_token(f->root, a->client_token, soon());
    REQUIRE(by_token.ok());
    CHECK(by_token->accessor == a->accessor);
    const auto by_accessor = c.lookup_accessor(f->root, a->accessor, soon());
    REQUIRE(by_accessor.ok());
    CHECK(by_accessor->policies ==
          std::vector<std::string>{"app-read", "default"});

    const auto renewed = c.renew_self(a->client_token, 300s, soon());
    REQUIRE(renewed.ok());
    CHECK(renewed->lease_duration == 300s);
    CHECK(
        c.renew_token(f->root, a->client_token, 200s, soon())->lease_duration ==
        200s);
    CHECK(
        c.renew_accessor(f->root, a->accessor, 100s, soon())->lease_duration ==
        100s);

    const auto accessors = c.list_accessors(f->root, soon());
    REQUIRE(accessors.ok());
    CHECK(std::find(accessors->begin(), accessors->end(), a->accessor) !=
          accessors->end());

    REQUIRE(c.revoke_accessor(f->root, a->accessor, soon()).ok());
    CHECK(c.lookup_accessor(f->root, a->accessor, soon()).error().code ==
          errc::not_found);
    CHECK(c.lookup_self(a->client_token, soon()).error().code ==
          errc::invalid_token);
    CHECK(c.lookup_token(f->root, a->client_token, soon()).error().code ==
          errc::invalid_token);
    SECTION("revoking it again counts as done") {
      CHECK(c.revoke_accessor(f->root, a->accessor, soon()).ok());
    }
  }
  SECTION("plain and orphan creates; revoke self and by token") {
    TokenCreateRequest req;
    req.policies = {"default"};
    req.ttl = 60s;
    req.display_name = "plain";
    const auto child = c.create_token(f->root, req, soon());
    REQUIRE(child.ok());
    CHECK_FALSE(child->orphan);
    req.orphan = Orphan::yes;
    const auto orphan = c.create_token(f->root, req, soon());
    REQUIRE(orphan.ok());
    CHECK(orphan->orphan);

    REQUIRE(c.revoke_self(child->client_token, soon()).ok());
    CHECK(c.lookup_self(child->client_token, soon()).error().code ==
          errc::invalid_token);
    REQUIRE(c.revoke_token(f->root, orphan->client_token, soon()).ok());
    CHECK(c.lookup_self(orphan->client_token, soon()).error().code ==
          errc::invalid_token);
  }
  SECTION("a role refuses policies outside its allowed set") {
    TokenCreateRequest req = task_request();
    req.policies = {"root"};
    const auto r = c.create_token(f->root, req, soon());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::bad_request);
    CHECK_THAT(r.error().message,
               Catch::Contains("auth/token/create/vsp-task"));
  }
  SECTION("a token without the right policy is denied") {
    TokenCreateRequest req;
    req.policies = {"app-read"};
    req.no_default_policy = NoDefaultPolicy::yes;
    const auto weak = c.create_token(f->root, req, soon());
    REQUIRE(weak.ok());
    const auto r = c.create_token(weak->client_token, task_request(), soon());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::permission_denied);
    CHECK(r.error().message ==
          "vault: permission denied on auth/token/create/vsp-task");
  }
  SECTION("a non-renewable token") {
    TokenCreateRequest req;
    req.policies = {"default"};
    req.renewable = false;
    req.ttl = 60s;
    const auto t = c.create_token(f->root, req, soon());
    REQUIRE(t.ok());
    CHECK_FALSE(t->renewable);
    CHECK(c.renew_self(t->client_token, 60s, soon()).error().code ==
          errc::not_renewable);
  }
}

TEST_CASE("Client::create_token_wrapped mints in one round trip",
          "[vault][emulator]") {
  START(f);
  Client& c = *f->client;
  const auto w = c.create_token_wrapped(f->root, task_request(), 300s, soon());
  REQUIRE(w.ok());
  CHECK(w->ttl == 300s);
  CHECK(w->creation_path == "auth/token/create/vsp-task");
  CHECK_FALSE(w->wrapped_accessor.empty());

  // The task's token can be revoked without ever unwrapping it.
  const auto inner = c.lookup_accessor(f->root, w->wrapped_accessor, soon());
  REQUIRE(inner.ok());
  CHECK(inner->meta.at("vsp_task_id") == "task-1");

  const auto look = c.lookup_wrapping(w->token, soon());
  REQUIRE(look.ok());
  CHECK(look->creation_path == "auth/token/create/vsp-task");
  CHECK(look->creation_ttl == 300s);

  auto unwrapped = c.unwrap(w->token, soon());
  REQUIRE(unwrapped.ok());
  const auto auth = parse_token_auth(*unwrapped, "sys/wrapping/unwrap");
  REQUIRE(auth.ok());
  CHECK(auth->accessor == w->wrapped_accessor);
  CHECK(c.lookup_self(auth->client_token, soon()).ok());

  SECTION("single use") {
    CHECK(c.unwrap(w->token, soon()).error().code ==
          errc::wrapping_token_invalid);
    CHECK(c.lookup_wrapping(w->token, soon()).error().code ==
          errc::wrapping_token_invalid);
  }
  if (!f->real()) {
    SECTION("one request, with the wrap ttl header") {
      CHECK(path_count(f->emu(), "auth/token/create/vsp-task") == 1);
      const json audit = f->emu().audit();
      bool seen = false;
      for (const auto& e : audit["entries"]) {
        if (e["path"] == "auth/token/create/vsp-task") {
          CHECK(e["wrap_ttl"] == 300);
          seen = true;
        }
      }
      CHECK(seen);
    }
  }
}

TEST_CASE("Client wrapping: wrap, lookup, rewrap, unwrap",
          "[vault][emulator]") {
  START(f);
  Client& c = *f->client;
  const auto w = c.wrap(f->root, {{"answer", 42}}, 60s, soon());
  REQUIRE(w.ok());
  CHECK(w->creation_path == "sys/wrapping/wrap");
  CHECK(w->wrapped_accessor.empty());
  const auto again = c.rewrap(w->token, soon());
  REQUIRE(again.ok());
  CHECK(again->creation_path == "sys/wrapping/wrap");
  CHECK(c.lookup_wrapping(w->token, soon()).error().code ==
        errc::wrapping_token_invalid);
  const auto r = c.unwrap(again->token, soon());
  REQUIRE(r.ok());
  CHECK(r->body["data"]["answer"] == 42);
  CHECK(c.wrap(f->root, json::array(), 60s, soon()).error().code ==
        errc::invalid_argument);
}

TEST_CASE("Client KV reads, v1 and v2, deleted and destroyed",
          "[vault][emulator]") {
  START(f);
  Client& c = *f->client;
  const CallOptions none;
  // A fresh name per run: a real Vault keeps what earlier runs wrote.
  const std::string name = "db-" + std::to_string(std::random_device{}());
  const std::string path = "secret/app/" + name;
  const auto write = [&](const char* password) {
    auto w = c.write_secret(f->root,
                            "secret/data/app/" + name,
                            {{"data", {{"password", password}}}},
                            none,
                            soon());
    REQUIRE(w.ok());
    return w->data["version"].get<int>();
  };
  const int first = write("v1");
  const int second = write("v2");
  REQUIRE(second == first + 1);
  REQUIRE(c.write_secret(f->root, "kv1/" + name, {{"user", "u1"}}, none, soon())
              .ok());

  SECTION("latest and a given version of v2") {
    const auto s = c.read_kv(f->root, path, std::nullopt, soon());
    REQUIRE(s.ok());
    CHECK(s->kv_version == 2);
    CHECK(s->mount == "secret/");
    CHECK(s->data["password"] == "v2");
    CHECK(s->metadata.version == second);
    const auto v1 = c.read_kv(f->root, path, first, soon());
    REQUIRE(v1.ok());
    CHECK(v1->data["password"] == "v1");
  }
  SECTION("v1") {
    const auto s = c.read_kv(f->root, "kv1/" + name, std::nullopt, soon());
    REQUIRE(s.ok());
    CHECK(s->kv_version == 1);
    CHECK(s->data["user"] == "u1");
    const auto m = c.mount_info(f->root, "kv1/" + name, soon());
    CHECK(m->path == "kv1/");
  }
  SECTION("soft-deleted, then destroyed") {
    REQUIRE(c.write_secret(f->root,
                           "secret/delete/app/" + name,
                           {{"versions", {first}}},
                           none,
                           soon())
                .ok());
    CHECK(c.read_kv(f->root, path, first, soon()).error().code ==
          errc::deleted);
    REQUIRE(c.write_secret(f->root,
                           "secret/destroy/app/" + name,
                           {{"versions", {first}}},
                           none,
                           soon())
                .ok());
    CHECK(c.read_kv(f->root, path, first, soon()).error().code ==
          errc::destroyed);
    CHECK(c.read_kv(f->root, path, std::nullopt, soon()).ok());
  }
  SECTION("misses") {
    CHECK(
        c.read_kv(f->root, path + "-none", std::nullopt, soon()).error().code ==
        errc::not_found);
    CHECK(c.read_kv(f->root, path, second + 50, soon()).error().code ==
          errc::not_found);
    CHECK(c.read_kv(f->root, "kv1/" + name + "-none", std::nullopt, soon())
              .error()
              .code == errc::not_found);
  }
  SECTION("a token without access is denied, not guessed") {
    TokenCreateRequest req;
    req.policies = {"default"};
    const auto t = c.create_token(f->root, req, soon());
    REQUIRE(t.ok());
    const auto r = c.read_kv(t->client_token, path, std::nullopt, soon());
    CHECK(r.error().code == errc::permission_denied);
  }
  SECTION("list") {
    const auto keys = c.list_keys(f->root, "secret/metadata/app", soon());
    REQUIRE(keys.ok());
    CHECK(std::find(keys->begin(), keys->end(), name) != keys->end());
    const auto empty =
        c.list_keys(f->root, "secret/metadata/nothing-" + name, soon());
    REQUIRE(empty.ok());
    CHECK(empty->empty());
  }
}

TEST_CASE("Client dynamic secrets and leases", "[vault][emulator]") {
  START(f);
  EMULATOR_ONLY(f, "database and pki engines");
  Client& c = *f->client;
  CallOptions mint;
  mint.minting = Minting::yes;

  const auto creds =
      c.read_secret(f->root, "database/creds/readonly", mint, soon());
  REQUIRE(creds.ok());
  CHECK(creds->renewable);
  CHECK(creds->lease_duration == 3600s);
  CHECK(creds->data.contains("username"));
  const std::string lease = creds->lease_id;
  CHECK(lease.rfind("database/creds/readonly/", 0) == 0);

  const auto info = c.lookup_lease(f->root, lease, soon());
  REQUIRE(info.ok());
  CHECK(info->id == lease);
  CHECK(info->renewable);

  const auto keys = c.list_leases(f->root, "database/creds/readonly/", soon());
  REQUIRE(keys.ok());
  CHECK(keys->size() == 1);

  const auto renewed = c.renew_lease(f->root, lease, 600s, soon());
  REQUIRE(renewed.ok());
  CHECK(renewed->lease_id == lease);
  CHECK(renewed->lease_duration == 600s);

  REQUIRE(c.revoke_lease(f->root, lease, soon()).ok());
  CHECK(c.lookup_lease(f->root, lease, soon()).error().code == errc::not_found);
  CHECK(c.revoke_lease(f->root, lease, soon()).ok());

  SECTION("revoke by prefix") {
    REQUIRE(
        c.read_secret(f->root, "database/creds/readonly", mint, soon()).ok());
    REQUIRE(
        c.read_secret(f->root, "database/creds/readonly", mint, soon()).ok());
    REQUIRE(
        c.revoke_lease_prefix(f->root, "database/creds/readonly", soon()).ok());
    CHECK(c.list_leases(f->root, "database/creds/readonly/", soon())->empty());
  }
  SECTION("wrapped creds in one round trip") {
    const auto w = c.call_wrapped(Method::get,
                                  "database/creds/readonly",
                                  nullptr,
                                  f->root,
                                  120s,
                                  Minting::yes,
                                  soon());
    REQUIRE(w.ok());
    CHECK(w->creation_path == "database/creds/readonly");
    auto inner = c.unwrap(w->token, soon());
    REQUIRE(inner.ok());
    const auto s = parse_secret(*inner, "sys/wrapping/unwrap");
    CHECK_FALSE(s->lease_id.empty());
  }
  SECTION("pki issue") {
    const auto cert = c.write_secret(f->root,
                                     "pki/issue/web",
                                     {{"common_name", "a.example.test"}},
                                     mint,
                                     soon());
    REQUIRE(cert.ok());
    CHECK(cert->data.contains("certificate"));
    CHECK_FALSE(cert->lease_id.empty());
    CHECK(c.write_secret(f->root,
                         "pki/issue/web",
                         {{"common_name", "evil.test"}},
                         mint,
                         soon())
              .error()
              .code == errc::bad_request);
  }
}

TEST_CASE("Client::login_approle", "[vault][emulator]") {
  START(f);
  Client& c = *f->client;
  const auto role =
      f->as_root(Method::get, "auth/approle/role/vsp-plugin/role-id");
  REQUIRE(role.ok());
  const SecretString role_id(role->body["data"]["role_id"].get<std::string>());
  const auto sid = f->as_root(
      Method::post, "auth/approle/role/vsp-plugin/secret-id", json::object());
  REQUIRE(sid.ok());
  const SecretString secret_id(
      sid->body["data"]["secret_id"].get<std::string>());

  const auto login = c.login_approle(role_id, secret_id, "approle", soon());
  REQUIRE(login.ok());
  CHECK(login->orphan);
  CHECK(login->lease_duration == 3600s);
  CHECK(login->metadata.at("role_name") == "vsp-plugin");
  CHECK(c.lookup_self(login->client_token, soon()).ok());

  const auto bad = c.login_approle(
      role_id, SecretString(std::string("wrong-secret")), "approle", soon());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == errc::bad_request);
  CHECK(bad.error().message.find("wrong-secret") == std::string::npos);
}

TEST_CASE("Client::health reads every state", "[vault][emulator]") {
  START(f);
  Client& c = *f->client;
  const auto active = c.health(soon());
  REQUIRE(active.ok());
  CHECK(active->status == 200);
  CHECK(active->initialized);
  CHECK_FALSE(active->sealed);
  EMULATOR_ONLY(f, "sealed and standby states");
  REQUIRE(f->emu().faults({{"sealed", true}}));
  const auto sealed = c.health(soon());
  REQUIRE(sealed.ok());
  CHECK(sealed->status == 299);
  CHECK(sealed->sealed);
  REQUIRE(f->emu().faults({{"standby", true}}));
  const auto standby = c.health(soon());
  REQUIRE(standby.ok());
  CHECK(standby->status == 299);
  CHECK(standby->standby);
  CHECK(path_count(f->emu(), "sys/health") == 3); // no retries
}

TEST_CASE("Client under emulator faults", "[vault][emulator]") {
  START(f);
  EMULATOR_ONLY(f, "fault cases");
  Client& c = *f->client;
  const VaultEmulator& emu = f->emu();
  const auto lookup = [&](Deadline d = soon()) {
    return c.lookup_self(f->root, d);
  };

  SECTION("sealed") {
    REQUIRE(emu.faults({{"sealed", true}}));
    const auto r = lookup();
    CHECK(r.error().code == errc::sealed);
    CHECK(r.error().kind == ErrorKind::unavailable);
  }
  SECTION("standby: one redirect to the active node is followed") {
    REQUIRE(emu.faults(
        {{"standby", {{"active_address", emu.address()}, {"count", 1}}}}));
    CHECK(lookup().ok());
  }
  SECTION("standby: a redirect back to a standby is not followed twice") {
    REQUIRE(emu.faults({{"standby", {{"active_address", emu.address()}}}}));
    CHECK(lookup().error().code == errc::standby);
  }
  SECTION("429 with Retry-After") {
    REQUIRE(emu.faults({{"rate_limit", {{"retry_after", 1}, {"count", 1}}}}));
    const auto t = std::chrono::steady_clock::now();
    CHECK(lookup().ok());
    CHECK(since(t) >= 950ms);
  }
  SECTION("429 beyond the deadline") {
    REQUIRE(emu.faults({{"rate_limit", {{"retry_after", 30}}}}));
    CHECK(lookup(Deadline::after(2s)).error().code == errc::rate_limited);
  }
  SECTION("a 5xx burst, then success") {
    REQUIRE(emu.faults({{"error", {{"status", 502}, {"count", 2}}}}));
    CHECK(lookup().ok());
    CHECK(path_count(emu, "auth/token/lookup-self") == 3);
  }
  SECTION("412") {
    REQUIRE(emu.faults({{"error", {{"status", 412}, {"count", 1}}}}));
    CHECK(lookup().ok());
  }
  SECTION("latency beyond the deadline") {
    REQUIRE(emu.faults({{"latency_ms", 3000}}));
    const auto t = std::chrono::steady_clock::now();
    CHECK(lookup(Deadline::after(500ms)).error().code == errc::timeout);
    CHECK(since(t) < 650ms);
  }
  SECTION("a connection reset") {
    REQUIRE(emu.faults({{"reset", {{"count", 1}}}}));
    CHECK(lookup().ok());
  }
  SECTION("accepts and never answers") {
    REQUIRE(emu.faults({{"hang", true}}));
    const auto t = std::chrono::steady_clock::now();
    CHECK(lookup(Deadline::after(500ms)).error().code == errc::timeout);
    CHECK(since(t) < 650ms);
    REQUIRE(emu.reset_faults());
  }
  SECTION("an html error page") {
    REQUIRE(
        emu.faults({{"raw",
                     {{"status", 200},
                      {"headers", {{"Content-Type", "text/html"}}},
                      {"body", "<html><body>proxy login</body></html>"}}}}));
    CHECK(lookup().error().code == errc::invalid_response);
  }
  SECTION("truncated json") {
    REQUIRE(emu.faults({{"raw", {{"status", 200}, {"body", "{\"data\": {"}}}}));
    CHECK(lookup().error().code == errc::invalid_response);
  }
  SECTION("a 200 with no body") {
    REQUIRE(emu.faults({{"raw", {{"status", 200}, {"body", ""}}}}));
    CHECK(lookup().error().code == errc::invalid_response);
  }
  SECTION("a 100 MiB body") {
    REQUIRE(emu.faults({{"raw",
                         {{"status", 200},
                          {"body", {{"repeat", "x"}, {"size", 100 << 20}}}}}}));
    const auto t = std::chrono::steady_clock::now();
    const auto r = lookup();
    CHECK(r.error().code == errc::invalid_response);
    CHECK(since(t) < 3s);
  }
  SECTION("a 100 MiB body without a length") {
    REQUIRE(emu.faults({{"raw",
                         {{"status", 200},
                          {"omit_content_length", true},
                          {"body", {{"repeat", "x"}, {"size", 100 << 20}}}}}}));
    CHECK(lookup().error().code == errc::invalid_response);
  }
  SECTION("a mint answered with 500 after the effect is not replayed") {
    REQUIRE(emu.faults({{"error",
                         {{"status", 500},
                          {"after_effect", true},
                          {"count", 1},
                          {"path_prefix", "auth/token/create/vsp-task"}}}}));
    const long tokens_before = emu.stats()["live_tokens"].get<long>();
    const auto r = c.create_token(f->root, task_request(), soon());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::server_error);
    CHECK(path_count(emu, "auth/token/create/vsp-task") == 1);
    // The emulator did mint one (that is what after_effect means); exactly
    // one, because the client did not send it again.
    CHECK(emu.stats()["live_tokens"].get<long>() == tokens_before + 1);
  }
  SECTION("a mint whose connection is reset after the effect") {
    REQUIRE(emu.faults({{"reset",
                         {{"after_effect", true},
                          {"count", 1},
                          {"path_prefix", "auth/token/create"}}}}));
    const auto r = c.create_token(f->root, task_request(), soon());
    CHECK(r.error().code == errc::outcome_unknown);
    CHECK(path_count(emu, "auth/token/create/vsp-task") == 1);
  }
  SECTION("a mint that is rate limited is replayed") {
    REQUIRE(emu.faults({{"rate_limit", {{"retry_after", 0}, {"count", 1}}}}));
    CHECK(c.create_token(f->root, task_request(), soon()).ok());
    CHECK(path_count(emu, "auth/token/create/vsp-task") == 2);
  }
}

TEST_CASE("Client keeps one TCP connection for 1000 sequential calls",
          "[vault][emulator]") {
  START(f);
  EMULATOR_ONLY(f, "connection counting");
  Client& c = *f->client;
  REQUIRE(c.lookup_self(f->root, soon()).ok()); // opens the connection
  const long before = f->emu().connection_count();
  REQUIRE(before > 0);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(c.lookup_self(f->root, soon()).ok());
  }
  const long after = f->emu().connection_count();
  // Each stats call opens one control connection of its own.
  const long used = after - before - 1;
  WARN("connections opened by 1000 sequential calls: " << used);
  CHECK(used == 0);
}

TEST_CASE("Client follows the emulator's clock on expiry",
          "[vault][emulator]") {
  START(f);
  EMULATOR_ONLY(f, "moving the clock");
  Client& c = *f->client;
  const auto t = c.create_token(f->root, task_request(), soon());
  REQUIRE(t.ok());
  REQUIRE(f->emu().advance_clock(121));
  CHECK(c.lookup_self(t->client_token, soon()).error().code ==
        errc::invalid_token);
  CHECK(c.renew_self(t->client_token, 60s, soon()).error().code ==
        errc::invalid_token);
}

TEST_CASE("Client over the emulator's unix socket", "[vault][emulator]") {
  TempDir dir;
  EmulatorOptions options;
  options.unix_path = dir.file("vault.sock");
  options.config = emulator_config();
  std::string why;
  auto emu = VaultEmulator::start(options, &why);
  if (!emu) {
    VSP_SKIP(why);
  }
  Client client(fast("unix://" + options.unix_path));
  const SecretString root(std::string(emu->root_token()));
  const auto self = client.lookup_self(root, soon());
  REQUIRE(self.ok());
  CHECK(self->policies == std::vector<std::string>{"root"});
}
