#include "core/vault/login.hpp"

#include "tests/support/vault_emulator.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <atomic>
#include <map>
#include <thread>

using namespace vsp;
using namespace vsp::vault;
using namespace vsp::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

Getenv fake(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

Deadline soon() {
  return Deadline::after(10s);
}

SecretString secret(const std::string& s) {
  return SecretString(s);
}

// Fast pacing so renewals and retries happen within a test.
RenewPolicy quick() {
  RenewPolicy p;
  p.backoff_min = 100ms;
  p.backoff_max = 500ms;
  p.min_interval = 100ms;
  p.budget = 2s;
  return p;
}

Config fast(const std::string& address) {
  Config c;
  c.address = address;
  c.retry_wait_min = 10ms;
  c.retry_wait_max = 20ms;
  return c;
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

long path_count(const VaultEmulator& emu, const std::string& path) {
  const json stats = emu.stats();
  if (!stats.contains("by_path") || !stats["by_path"].contains(path)) {
    return 0;
  }
  return stats["by_path"][path].get<long>();
}

// A Vault to log in to, with an AppRole role "vsp-plugin" whose ids are
// fixed (so a restarted emulator accepts them again).
struct Env {
  std::unique_ptr<VaultTarget> target;
  std::unique_ptr<Client> client;
  SecretString root;
  TempDir dir;

  bool real() const { return target->real(); }

  SecretString token(std::optional<Seconds> ttl,
                     std::optional<bool> renewable = std::nullopt,
                     std::optional<Seconds> max = std::nullopt) {
    TokenCreateRequest req;
    req.policies = {"default"};
    req.ttl = ttl;
    req.renewable = renewable;
    req.explicit_max_ttl = max;
    req.orphan = Orphan::yes;
    auto t = client->create_token(root, req, soon());
    REQUIRE(t.ok());
    return t->client_token;
  }

  Result<Response> as_root(Method m, const std::string& path, json body) {
    return client->call(m, path, &body, &root, {}, soon());
  }

  void approle(const std::string& ttl, const std::string& max) {
    (void)as_root(Method::post, "sys/auth/approle", {{"type", "approle"}});
    REQUIRE(as_root(Method::post,
                    "auth/approle/role/vsp-plugin",
                    {{"token_policies", {"default"}},
                     {"token_ttl", ttl},
                     {"token_max_ttl", max}})
                .ok());
    REQUIRE(as_root(Method::post,
                    "auth/approle/role/vsp-plugin/role-id",
                    {{"role_id", "vsp-role-id"}})
                .ok());
  }

  LoginConfig approle_files(const std::string& secret_id_content) {
    LoginConfig c;
    c.role_id_file = dir.write("role_id", "vsp-role-id\n");
    c.secret_id_file = dir.write("secret_id", secret_id_content + "\n");
    return c;
  }

  // A plain secret_id for the role.
  std::string new_secret_id() {
    auto r = as_root(
        Method::post, "auth/approle/role/vsp-plugin/secret-id", json::object());
    REQUIRE(r.ok());
    return r->body["data"]["secret_id"].get<std::string>();
  }
};

std::unique_ptr<Env> start(std::string* why, EmulatorOptions options = {}) {
  auto env = std::make_unique<Env>();
  env->target = vault_target(why, options);
  if (!env->target) {
    return nullptr;
  }
  env->client = std::make_unique<Client>(fast(env->target->address));
  env->root = secret(env->target->token);
  return env;
}

} // namespace

#define START(env, ...)                                                        \
  std::string why;                                                             \
  auto env = start(&why __VA_OPT__(, ) __VA_ARGS__);                           \
  if (!env) {                                                                  \
    VSP_SKIP(why);                                                             \
  }

#define EMULATOR_ONLY(env, what)                                               \
  if ((env)->real()) {                                                         \
    VSP_SKIP(what " needs the emulator");                                      \
  }

TEST_CASE("LoginConfig::from_env picks the plugin's login", "[vault]") {
  SECTION("a token file") {
    const auto c = LoginConfig::from_env(fake({{"VSP_TOKEN_FILE", "/t"}}));
    REQUIRE(c.ok());
    CHECK(c->token_file == "/t");
  }
  SECTION("approle with a wrapped secret_id and its expected path") {
    const auto c = LoginConfig::from_env(fake({
        {"VSP_ROLE_ID_FILE", "/r"},
        {"VSP_SECRET_ID_FILE", "/s"},
        {"VSP_APPROLE_MOUNT", "approle-vsp"},
        {"VSP_SECRET_ID_WRAPPED", "true"},
        {"VSP_SECRET_ID_WRAP_PATH", "auth/approle-vsp/role/p/secret-id"},
    }));
    REQUIRE(c.ok());
    CHECK(c->approle_mount == "approle-vsp");
    CHECK(c->secret_id_wrapping == SecretIdWrapping::wrapped);
    CHECK(c->secret_id_wrap_path == "auth/approle-vsp/role/p/secret-id");
  }
  SECTION("refusals") {
    const std::map<std::string, std::string> bad[] = {
        {},
        {{"VSP_ROLE_ID_FILE", "/r"}},
        {{"VSP_SECRET_ID_FILE", "/s"}},
        {{"VSP_TOKEN_FILE", "/t"},
         {"VSP_ROLE_ID_FILE", "/r"},
         {"VSP_SECRET_ID_FILE", "/s"}},
        {{"VSP_TOKEN_FILE", "/t"}, {"VSP_SECRET_ID_WRAPPED", "maybe"}},
        {{"VSP_ROLE_ID_FILE", "/r"},
         {"VSP_SECRET_ID_FILE", "/s"},
         {"VSP_APPROLE_MOUNT", "a/b"}},
    };
    for (const auto& vars : bad) {
      CHECK(LoginConfig::from_env(fake(vars)).error().code ==
            errc::invalid_argument);
    }
  }
  SECTION("VAULT_TOKEN is never the plugin's login") {
    CHECK_FALSE(LoginConfig::from_env(fake({{"VAULT_TOKEN", "x"}})).ok());
  }
}

TEST_CASE("read_credential_file trims and refuses empty files", "[vault]") {
  TempDir dir;
  CHECK(read_credential_file(dir.write("a", "  hvs.abc \n\n"))->reveal() ==
        "hvs.abc");
  CHECK(read_credential_file(dir.write("b", " \n")).error().code ==
        errc::invalid_argument);
  CHECK(read_credential_file(dir.file("none")).error().code ==
        errc::invalid_argument);
  CHECK(read_credential_file(dir.write("c", std::string(70'000, 'x')))
            .error()
            .code == errc::invalid_argument);
}

TEST_CASE("LoginConfig::file_warnings names credential files others read",
          "[vault]") {
  TempDir dir;
  LoginConfig c;
  c.token_file = dir.write("token", "hvs.x");
  c.secret_id_file = dir.write("secret-id", "x");
  c.role_id_file = dir.write("role-id", "x");
  REQUIRE(::chmod(c.token_file.c_str(), 0600) == 0);
  REQUIRE(::chmod(c.secret_id_file.c_str(), 0640) == 0);
  REQUIRE(::chmod(c.role_id_file.c_str(), 0644) == 0); // not a secret
  CHECK(c.file_warnings().empty());

  REQUIRE(::chmod(c.token_file.c_str(), 0644) == 0);
  REQUIRE(::chmod(c.secret_id_file.c_str(), 0604) == 0);
  CHECK(c.file_warnings() ==
        std::vector<std::string>{
            "VSP_TOKEN_FILE " + c.token_file +
                " can be read by any user (mode 0644); make it 0600 or 0640",
            "VSP_SECRET_ID_FILE " + c.secret_id_file +
                " can be read by any user (mode 0604); make it 0600 or "
                "0640"});

  c.token_file = dir.file("missing"); // the login reports it
  c.secret_id_file.clear();
  CHECK(c.file_warnings().empty());
}

TEST_CASE("Auth::for_cli uses VAULT_TOKEN, then ~/.vault-token", "[vault]") {
  Client client(fast("http://127.0.0.1:9"));
  TempDir home;
  SECTION("VAULT_TOKEN wins") {
    home.write(".vault-token", "from-file");
    auto a = Auth::for_cli(
        client, fake({{"VAULT_TOKEN", "from-env"}, {"HOME", home.path()}}));
    REQUIRE(a.ok());
    CHECK((*a)->current(soon())->reveal() == "from-env");
  }
  SECTION("then the token helper's file") {
    home.write(".vault-token", "from-file\n");
    auto a = Auth::for_cli(client, fake({{"HOME", home.path()}}));
    REQUIRE(a.ok());
    CHECK((*a)->current(soon())->reveal() == "from-file");
  }
  SECTION("neither") {
    CHECK(Auth::for_cli(client, fake({{"HOME", home.path()}})).error().code ==
          errc::invalid_argument);
  }
}

TEST_CASE("Auth from a token file re-reads it when the token is invalid",
          "[vault][emulator]") {
  START(env);
  const SecretString first = env->token(3600s);
  const std::string file = env->dir.write("token", std::string(first.reveal()));
  auto auth = Auth::from_token_file(*env->client, file, quick());

  const auto t1 = auth->current(soon());
  REQUIRE(t1.ok());
  CHECK(*t1 == first);
  CHECK(auth->state().logged_in);
  CHECK(auth->state().method == "token-file");

  SECTION("invalidate of some other token is ignored") {
    auth->invalidate(secret("hvs.someOtherTokenSomeOther0"));
    CHECK(auth->state().logins == 1);
    CHECK(*auth->current(soon()) == first);
    CHECK(auth->state().logins == 1);
  }
  SECTION("a revoked token, then a rotated file") {
    REQUIRE(env->client->revoke_self(first, soon()).ok());
    auth->invalidate(first);
    const auto stale = auth->current(soon());
    REQUIRE_FALSE(stale.ok());
    CHECK(stale.error().code == errc::invalid_token);
    CHECK_THAT(stale.error().message, Catch::Contains(file));

    const SecretString second = env->token(3600s);
    env->dir.write("token", std::string(second.reveal()) + "\n");
    const auto t2 = auth->current(soon());
    REQUIRE(t2.ok());
    CHECK(*t2 == second);
  }
}

TEST_CASE("Auth renewer keeps a token alive", "[vault][emulator]") {
  START(env);
  SECTION("renews at two thirds of the ttl") {
    const SecretString token = env->token(3s);
    auto auth = Auth::from_token_file(
        *env->client,
        env->dir.write("token", std::string(token.reveal())),
        quick());
    auth->start_renewer();
    REQUIRE(eventually([&] { return auth->state().renewals >= 2; }, 6s));
    // Well past the first TTL, the token still works.
    CHECK(env->client->lookup_self(token, soon()).ok());
    CHECK(auth->state().logins == 1);
    auth->stop_renewer();
  }
  SECTION("a non-renewable token is re-read, never renewed") {
    const SecretString token = env->token(3s, false);
    auto auth = Auth::from_token_file(
        *env->client,
        env->dir.write("token", std::string(token.reveal())),
        quick());
    auth->start_renewer();
    REQUIRE(eventually([&] { return auth->state().logins >= 2; }, 5s));
    auth->stop_renewer();
    CHECK(auth->state().renewals == 0);
    if (!env->real()) {
      CHECK(path_count(*env->target->emulator, "auth/token/renew-self") == 0);
    }
  }
  SECTION("approle: when the ttl stops growing, log in again") {
    env->approle("3s", "4s");
    auto auth = Auth::from_approle(
        *env->client, env->approle_files(env->new_secret_id()), quick());
    auth->start_renewer();
    REQUIRE(eventually([&] { return auth->state().logins >= 2; }, 8s));
    const auto t = auth->current(soon());
    REQUIRE(t.ok());
    CHECK(env->client->lookup_self(*t, soon()).ok());
    auth->stop_renewer();
  }
  SECTION("stop_renewer returns promptly") {
    const SecretString token = env->token(3600s);
    auto auth = Auth::from_token_file(
        *env->client,
        env->dir.write("token", std::string(token.reveal())),
        quick());
    auth->start_renewer();
    REQUIRE(eventually([&] { return auth->state().logins == 1; }, 3s));
    const auto t = std::chrono::steady_clock::now();
    auth->stop_renewer();
    CHECK(std::chrono::steady_clock::now() - t < 500ms);
  }
}

TEST_CASE("Auth with AppRole unwraps a checked secret_id",
          "[vault][emulator]") {
  START(env);
  env->approle("1h", "4h");

  SECTION("wrapped at generation: looked up, checked, unwrapped once") {
    const auto w =
        env->client->call_wrapped(Method::post,
                                  "auth/approle/role/vsp-plugin/secret-id",
                                  nullptr,
                                  env->root,
                                  300s,
                                  Minting::yes,
                                  soon());
    REQUIRE(w.ok());
    CHECK(w->creation_path == "auth/approle/role/vsp-plugin/secret-id");
    auto auth =
        Auth::from_approle(*env->client,
                           env->approle_files(std::string(w->token.reveal())),
                           quick());
    const auto t = auth->current(soon());
    REQUIRE(t.ok());
    CHECK(env->client->lookup_self(*t, soon()).ok());
    // The wrapping token is spent; a second login reuses the secret_id.
    CHECK(env->client->lookup_wrapping(w->token, soon()).error().code ==
          errc::wrapping_token_invalid);
    auth->invalidate(*t);
    const auto t2 = auth->current(soon());
    REQUIRE(t2.ok());
    CHECK_FALSE(*t2 == *t);
    CHECK(auth->state().logins == 2);
  }
  SECTION("wrapped anywhere else: refused, and left unspent") {
    const auto w = env->client->wrap(
        env->root, {{"secret_id", env->new_secret_id()}}, 300s, soon());
    REQUIRE(w.ok());
    auto auth =
        Auth::from_approle(*env->client,
                           env->approle_files(std::string(w->token.reveal())),
                           quick());
    const auto r = auth->current(soon());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::wrapping_token_invalid);
    CHECK_THAT(r.error().message, Catch::Contains("sys/wrapping/wrap"));
    CHECK(env->client->lookup_wrapping(w->token, soon()).ok());
  }
  SECTION("a configured path must match exactly") {
    const auto w =
        env->client->call_wrapped(Method::post,
                                  "auth/approle/role/vsp-plugin/secret-id",
                                  nullptr,
                                  env->root,
                                  300s,
                                  Minting::yes,
                                  soon());
    REQUIRE(w.ok());
    LoginConfig c = env->approle_files(std::string(w->token.reveal()));
    c.secret_id_wrap_path = "auth/approle/role/other/secret-id";
    auto auth = Auth::from_approle(*env->client, c, quick());
    CHECK(auth->current(soon()).error().code == errc::wrapping_token_invalid);
  }
  SECTION("a plain secret_id") {
    auto auth = Auth::from_approle(
        *env->client, env->approle_files(env->new_secret_id()), quick());
    REQUIRE(auth->current(soon()).ok());
    CHECK(auth->state().method == "approle");
  }
  SECTION("a wrong secret_id") {
    LoginConfig c = env->approle_files("00000000-0000-0000-0000-000000000000");
    auto auth = Auth::from_approle(*env->client, c, quick());
    const auto r = auth->current(soon());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::bad_request);
    CHECK(auth->state().last_error == r.error().message);
  }
  SECTION("concurrent callers share one login") {
    auto auth = Auth::from_approle(
        *env->client, env->approle_files(env->new_secret_id()), quick());
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] { ok += auth->current(soon()).ok() ? 1 : 0; });
    }
    for (auto& t : threads) {
      t.join();
    }
    CHECK(ok == 8);
    CHECK(auth->state().logins == 1);
  }
}

TEST_CASE("Auth heals after an expired login", "[vault][emulator]") {
  START(env);
  EMULATOR_ONLY(env, "moving the clock");
  env->approle("60s", "1h");
  auto auth = Auth::from_approle(
      *env->client, env->approle_files(env->new_secret_id()), quick());
  const auto t1 = auth->current(soon());
  REQUIRE(t1.ok());
  REQUIRE(env->target->emulator->advance_clock(120));
  const auto used = env->client->lookup_self(*t1, soon());
  REQUIRE(used.error().code == errc::invalid_token);
  auth->invalidate(*t1);
  const auto t2 = auth->current(soon());
  REQUIRE(t2.ok());
  CHECK(env->client->lookup_self(*t2, soon()).ok());
}

TEST_CASE("Auth heals after Vault restarts", "[vault][emulator]") {
  // Fixed ids, so the restarted (empty) emulator accepts the same login.
  EmulatorOptions options;
  options.config = {
      {"approle",
       {{"roles",
         {{"vsp-plugin",
           {{"role_id", "vsp-role-id"},
            {"token_policies", {"default"}},
            {"token_ttl", "3s"},
            {"token_max_ttl", "1h"},
            {"secret_ids",
             {{{"secret_id", "11111111-2222-3333-4444-555555555555"}}}}}}}}}}};
  std::string why;
  auto first = VaultEmulator::start(options, &why);
  if (!first) {
    VSP_SKIP(why);
  }
  if (std::getenv("VSP_TEST_VAULT_ADDR")) { // NOLINT(concurrency-mt-unsafe)
    WARN("restart test runs on the emulator even with a real Vault set");
  }
  const std::string address = first->address();
  TempDir dir;
  LoginConfig files;
  files.role_id_file = dir.write("role_id", "vsp-role-id");
  files.secret_id_file =
      dir.write("secret_id", "11111111-2222-3333-4444-555555555555");
  Client client(fast(address));
  auto auth = Auth::from_approle(client, files, quick());
  auth->start_renewer();
  REQUIRE(eventually([&] { return auth->state().logins == 1; }, 5s));
  const auto t1 = auth->current(soon());
  REQUIRE(t1.ok());

  // Vault goes away (its in-memory state with it) and comes back on the
  // same address.
  first.reset();
  options.listen = address.substr(std::string("http://").size());
  // Down long enough for a scheduled renewal to fail and back off.
  std::this_thread::sleep_for(3s);
  auto second = VaultEmulator::start(options, &why);
  REQUIRE(second);
  REQUIRE(second->address() == address);

  // The renewer finds the old token gone and logs in again by itself.
  REQUIRE(eventually([&] { return auth->state().logins >= 2; }, 10s));
  const auto t2 = auth->current(soon());
  REQUIRE(t2.ok());
  CHECK_FALSE(*t2 == *t1);
  CHECK(client.lookup_self(*t2, soon()).ok());
  auth->stop_renewer();
}
