// Client behaviour on the wire, against a scripted loopback server: the
// headers it sends, retries, minting safety, deadlines, bad replies,
// redirects and connection reuse. tests/unit/core/vault/
// client_emulator_test.cpp covers the operations against the emulator.

#include "core/vault/client.hpp"

#include "core/util/log.hpp"
#include "tests/support/scripted_server.hpp"
#include "tests/support/vault_emulator.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <sstream>
#include <thread>

using namespace vsp;
using namespace vsp::vault;
using namespace vsp::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Action = Reply::Action;

namespace {

SecretString secret(const char* text) {
  return SecretString(std::string(text));
}

const SecretString k_token = secret("hvs.TESTtokenTESTtokenTESTtoken01");

Config fast(const std::string& address) {
  Config c;
  c.address = address;
  c.retry_wait_min = 10ms;
  c.retry_wait_max = 20ms;
  return c;
}

Deadline soon() {
  return Deadline::after(5s);
}

std::chrono::milliseconds since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t);
}

const char* k_token_reply = R"({"request_id":"r","lease_id":"","renewable":
  false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,
  "auth":{"client_token":"hvs.NEWtokenNEWtokenNEWtoken0001","accessor":"acc",
  "policies":["default"],"metadata":null,"lease_duration":60,
  "renewable":true,"token_type":"service","orphan":true}})";

Result<Response> get(Client& c, std::string_view path, Deadline d = soon()) {
  return c.call(Method::get, path, nullptr, &k_token, {}, d);
}

Result<Response> mint(Client& c, Deadline d = soon()) {
  CallOptions o;
  o.minting = Minting::yes;
  const json body = {{"policies", {"web"}}};
  return c.call(Method::post, "auth/token/create/task", &body, &k_token, o, d);
}

} // namespace

TEST_CASE("Client::call sends Vault's headers, the token only in one",
          "[vault]") {
  ScriptedServer server(
      [](const SeenRequest&) { return Reply::json(200, R"({"data":{}})"); });
  Config cfg = fast(server.address());
  cfg.namespace_name = "ns1/";
  Client client(cfg);

  SECTION("a read") {
    REQUIRE(get(client, "secret/my app/x").ok());
    const auto seen = server.seen().at(0);
    CHECK(seen.method == "GET");
    CHECK(seen.target == "/v1/secret/my%20app/x");
    CHECK(seen.headers.at("x-vault-request") == "true");
    CHECK(seen.headers.at("x-vault-token") == k_token.reveal());
    CHECK(seen.headers.at("x-vault-namespace") == "ns1/");
    CHECK(seen.headers.count("x-vault-wrap-ttl") == 0);
  }
  SECTION("a wrapped write with a query") {
    CallOptions o;
    o.wrap_ttl = 300s;
    o.query = {{"version", "3"}};
    const json body = {{"k", "v"}};
    REQUIRE(client.call(Method::put, "a/b", &body, &k_token, o, soon()).ok());
    const auto seen = server.seen().at(0);
    CHECK(seen.method == "PUT");
    CHECK(seen.target == "/v1/a/b?version=3");
    CHECK(seen.headers.at("x-vault-wrap-ttl") == "300");
    CHECK(seen.headers.at("content-type") == "application/json");
    CHECK(json::parse(seen.body) == body);
  }
  SECTION("list and delete") {
    REQUIRE(client.call(Method::list, "kv/dir/", nullptr, &k_token, {}, soon())
                .ok());
    REQUIRE(
        client.call(Method::del, "kv/x", nullptr, &k_token, {}, soon()).ok());
    CHECK(server.seen().at(0).target == "/v1/kv/dir/?list=true");
    CHECK(server.seen().at(0).method == "GET");
    CHECK(server.seen().at(1).method == "DELETE");
  }
  SECTION("no token, no header") {
    REQUIRE(
        client.call(Method::get, "sys/x", nullptr, nullptr, {}, soon()).ok());
    CHECK(server.seen().at(0).headers.count("x-vault-token") == 0);
  }
  SECTION("the token never appears in the url or body") {
    (void)client.lookup_token(k_token, secret("hvs.otherOTHERother"), soon());
    const auto seen = server.seen().at(0);
    CHECK(seen.target.find("hvs.") == std::string::npos);
    CHECK(seen.body.find(std::string(k_token.reveal())) == std::string::npos);
  }
}

TEST_CASE("Client::call refuses paths that could escape their prefix",
          "[vault]") {
  ScriptedServer server(
      [](const SeenRequest&) { return Reply::json(200, "{}"); });
  Client client(fast(server.address()));
  for (const char* bad : {"",
                          "/sys/health",
                          "secret/../sys/x",
                          "secret/./x",
                          "a//b",
                          "x?list=true",
                          "x#y",
                          "a\nb",
                          "ends."}) {
    INFO(bad);
    const auto r = get(client, bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::invalid_argument);
  }
  CHECK(server.requests() == 0);
}

TEST_CASE("Client::call retries per spec 8.2", "[vault]") {
  std::atomic<int> n{0};
  std::function<Reply(int)> script;
  ScriptedServer server([&](const SeenRequest&) { return script(++n); });
  Client client(fast(server.address()));

  SECTION("a 5xx burst, then success") {
    script = [](int i) {
      return i <= 2 ? Reply::json(500, R"({"errors":["internal error"]})")
                    : Reply::json(200, "{}");
    };
    REQUIRE(get(client, "secret/x").ok());
    CHECK(server.requests() == 3);
  }
  SECTION("412 is retried") {
    script = [](int i) {
      return i == 1 ? Reply::json(412, R"({"errors":["index not ready"]})")
                    : Reply::json(200, "{}");
    };
    REQUIRE(get(client, "secret/x").ok());
    CHECK(server.requests() == 2);
  }
  SECTION("429 waits exactly Retry-After") {
    script = [](int i) {
      Reply r = Reply::json(429, R"({"errors":["rate limit quota exceeded"]})");
      r.headers.emplace_back("Retry-After", "1");
      return i == 1 ? r : Reply::json(200, "{}");
    };
    const auto t = std::chrono::steady_clock::now();
    REQUIRE(get(client, "secret/x").ok());
    CHECK(since(t) >= 950ms);
    CHECK(server.requests() == 2);
  }
  SECTION("a Retry-After past the deadline fails at once") {
    script = [](int) {
      Reply r = Reply::json(429, R"({"errors":["rate limit quota exceeded"]})");
      r.headers.emplace_back("Retry-After", "30");
      return r;
    };
    const auto t = std::chrono::steady_clock::now();
    const auto r = get(client, "secret/x", Deadline::after(2s));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::rate_limited);
    CHECK(since(t) < 500ms);
    CHECK(server.requests() == 1);
  }
  SECTION("exhausted retries report the last answer") {
    script = [](int) {
      return Reply::json(503, R"({"errors":["Vault is sealed"]})");
    };
    const auto r = get(client, "secret/x");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::sealed);
    CHECK(server.requests() == 3);
  }
  SECTION("501 and 4xx are not retried") {
    script = [](int i) {
      return i == 1 ? Reply::json(501, R"({"errors":["not implemented"]})")
                    : Reply::json(400, R"({"errors":["bad"]})");
    };
    CHECK(get(client, "secret/x").error().code == errc::server_error);
    CHECK(get(client, "secret/x").error().code == errc::bad_request);
    CHECK(server.requests() == 2);
  }
  SECTION("a connection reset is retried") {
    script = [](int i) {
      return i == 1 ? Reply::act(Action::reset) : Reply::json(200, "{}");
    };
    REQUIRE(get(client, "secret/x").ok());
    CHECK(server.requests() == 2);
  }
  SECTION("max_retries 0 means one attempt") {
    Config cfg = fast(server.address());
    cfg.max_retries = 0;
    Client once(cfg);
    script = [](int) { return Reply::json(500, R"({"errors":["x"]})"); };
    CHECK_FALSE(get(once, "secret/x").ok());
    CHECK(server.requests() == 1);
  }
}

TEST_CASE("Client::call never replays a minting request that was sent",
          "[vault]") {
  std::atomic<int> n{0};
  std::function<Reply(int)> script;
  ScriptedServer server([&](const SeenRequest&) { return script(++n); });
  Client client(fast(server.address()));

  SECTION("Vault's own 500: refused, rolled back, not retried") {
    script = [](int) {
      return Reply::json(500, R"({"errors":["internal error"]})");
    };
    const auto r = mint(client);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::server_error);
    CHECK(server.requests() == 1);
  }
  SECTION("a proxy's 502 page: the outcome is unknown") {
    script = [](int) {
      Reply r = Reply::empty(502);
      r.body = "<html><body>Bad Gateway</body></html>";
      return r;
    };
    const auto r = mint(client);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::outcome_unknown);
    CHECK(r.error().kind == ErrorKind::unavailable);
    CHECK(server.requests() == 1);
  }
  SECTION("a reset after sending: the outcome is unknown") {
    script = [](int) { return Reply::act(Action::reset); };
    const auto r = mint(client);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::outcome_unknown);
    CHECK(server.requests() == 1);
  }
  SECTION("a 200 cut short: the token exists but was lost") {
    script = [](int) {
      Reply r = Reply::json(200, k_token_reply);
      r.action = Action::truncate;
      return r;
    };
    const auto r = mint(client);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::outcome_unknown);
    CHECK(server.requests() == 1);
  }
  SECTION("no answer before the deadline: unknown, with kind timeout") {
    script = [](int) { return Reply::act(Action::hang); };
    const auto r = mint(client, Deadline::after(300ms));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::outcome_unknown);
    CHECK(r.error().kind == ErrorKind::timeout);
    CHECK(server.requests() == 1);
  }
  SECTION("429 and sealed are refusals before acting: replayed") {
    script = [](int i) {
      if (i == 1) {
        return Reply::json(429, R"({"errors":["quota"]})");
      }
      if (i == 2) {
        return Reply::json(503, R"({"errors":["Vault is sealed"]})");
      }
      return Reply::json(200, k_token_reply);
    };
    REQUIRE(mint(client).ok());
    CHECK(server.requests() == 3);
  }
  SECTION("create_token reports the token") {
    script = [](int) { return Reply::json(200, k_token_reply); };
    TokenCreateRequest req;
    req.role = "task";
    req.meta = {{"vsp_task_id", "t1"}};
    req.ttl = 60s;
    const auto a = client.create_token(k_token, req, soon());
    REQUIRE(a.ok());
    CHECK(a->client_token.reveal() == "hvs.NEWtokenNEWtokenNEWtoken0001");
    const auto body = json::parse(server.seen().at(0).body);
    CHECK(body["meta"]["vsp_task_id"] == "t1");
    CHECK(body["ttl"] == "60s");
    CHECK(server.seen().at(0).target == "/v1/auth/token/create/task");
  }
}

TEST_CASE("Client::call replays a mint that never left", "[vault]") {
  // A port with nobody listening: refused before anything is sent.
  int port = 0;
  {
    ScriptedServer probe([](const SeenRequest&) { return Reply::empty(200); });
    port = probe.port();
  }
  Client client(fast("http://127.0.0.1:" + std::to_string(port)));
  const auto t = std::chrono::steady_clock::now();
  const auto r = mint(client);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::unreachable);
  CHECK(r.error().kind == ErrorKind::unavailable);
  // Two backoffs of at least 10 and 20 ms show the retries happened.
  CHECK(since(t) >= 30ms);
}

TEST_CASE("Client::cancel ends calls in flight and those to come", "[vault]") {
  // A stopping plugin must not wait for an unreachable Vault: the task
  // watcher's calls carry budgets of minutes.
  std::function<Reply()> script;
  ScriptedServer server([&](const SeenRequest&) { return script(); });
  Config cfg = fast(server.address());
  const auto cancel_after = [](Client& c, std::chrono::milliseconds wait) {
    return std::thread([&c, wait] {
      std::this_thread::sleep_for(wait);
      c.cancel();
    });
  };
  // libcurl looks at the flag about once a second, hence the margin.
  constexpr auto k_bound = 200ms + 1500ms;

  SECTION("a server that accepts and never answers") {
    Client client(cfg);
    script = [] { return Reply::act(Action::hang); };
    const auto t = std::chrono::steady_clock::now();
    auto canceller = cancel_after(client, 200ms);
    const auto r = get(client, "secret/x", Deadline::after(60s));
    canceller.join();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::cancelled);
    CHECK(r.error().kind == ErrorKind::unavailable);
    CHECK(since(t) < k_bound);
  }
  SECTION("a mint cut off after it was sent may have taken effect") {
    Client client(cfg);
    script = [] { return Reply::act(Action::hang); };
    auto canceller = cancel_after(client, 200ms);
    const auto r = mint(client, Deadline::after(60s));
    canceller.join();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::outcome_unknown);
  }
  SECTION("a wait between retries") {
    cfg.retry_wait_min = 30s;
    cfg.retry_wait_max = 30s;
    Client client(cfg);
    script = [] { return Reply::json(500, R"({"errors":["busy"]})"); };
    const auto t = std::chrono::steady_clock::now();
    auto canceller = cancel_after(client, 200ms);
    const auto r = get(client, "secret/x", Deadline::after(120s));
    canceller.join();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::server_error);
    CHECK(since(t) < k_bound);
  }
  SECTION("every later call, without asking Vault") {
    Client client(cfg);
    script = [] { return Reply::json(200, "{}"); };
    REQUIRE(get(client, "secret/x").ok());
    const int before = server.requests();
    client.cancel();
    const auto r = get(client, "secret/x");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::cancelled);
    CHECK(server.requests() == before);
  }
}

TEST_CASE("Client::call is bounded by its deadline", "[vault]") {
  std::function<Reply()> script;
  ScriptedServer server([&](const SeenRequest&) { return script(); });
  Client client(fast(server.address()));
  constexpr auto k_margin = 150ms;

  SECTION("a server that accepts and never answers") {
    script = [] { return Reply::act(Action::hang); };
    const auto t = std::chrono::steady_clock::now();
    const auto r = get(client, "secret/x", Deadline::after(400ms));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::timeout);
    CHECK(r.error().kind == ErrorKind::timeout);
    CHECK(since(t) < 400ms + k_margin);
  }
  SECTION("latency beyond the deadline") {
    script = [] {
      Reply r = Reply::json(200, "{}");
      r.delay = 2s;
      return r;
    };
    const auto t = std::chrono::steady_clock::now();
    const auto r = get(client, "secret/x", Deadline::after(300ms));
    CHECK(r.error().code == errc::timeout);
    CHECK(since(t) < 300ms + k_margin);
  }
  SECTION("retries stop at the deadline") {
    Config cfg = fast(server.address());
    cfg.retry_wait_min = 200ms;
    cfg.retry_wait_max = 200ms;
    cfg.max_retries = 10;
    Client slow(cfg);
    script = [] { return Reply::json(500, R"({"errors":["x"]})"); };
    const auto t = std::chrono::steady_clock::now();
    const auto r = get(slow, "secret/x", Deadline::after(700ms));
    CHECK(r.error().code == errc::server_error);
    CHECK(since(t) < 700ms + k_margin);
  }
  SECTION("a spent deadline sends nothing") {
    script = [] { return Reply::json(200, "{}"); };
    const auto r = get(client, "secret/x", Deadline::after(0ms));
    CHECK(r.error().code == errc::timeout);
    CHECK(server.requests() == 0);
  }
}

TEST_CASE("Client::call refuses replies Vault would not send", "[vault]") {
  std::function<Reply()> script;
  ScriptedServer server([&](const SeenRequest&) { return script(); });
  Config cfg = fast(server.address());
  cfg.max_retries = 0;
  Client client(cfg);

  SECTION("an html page with status 200") {
    script = [] {
      Reply r = Reply::empty(200);
      r.body = "<html><title>Login</title></html>";
      r.headers.emplace_back("Content-Type", "text/html");
      return r;
    };
    const auto r = get(client, "secret/x");
    CHECK(r.error().code == errc::invalid_response);
    CHECK(r.error().kind == ErrorKind::internal);
  }
  SECTION("an html error page") {
    script = [] {
      Reply r = Reply::empty(403);
      r.body = "<html>Forbidden by proxy</html>";
      return r;
    };
    const auto r = get(client, "secret/x");
    CHECK(r.error().code == errc::permission_denied);
    CHECK_THAT(r.error().message, Catch::Contains("not json"));
  }
  SECTION("truncated json") {
    script = [] { return Reply::json(200, R"({"data":{"user":"a)"); };
    CHECK(get(client, "secret/x").error().code == errc::invalid_response);
  }
  SECTION("a body cut off by the connection") {
    script = [] {
      Reply r = Reply::json(200, R"({"data":{}})");
      r.action = Action::truncate;
      return r;
    };
    CHECK(get(client, "secret/x").error().code == errc::invalid_response);
  }
  SECTION("a 200 with no body where a body is needed") {
    script = [] { return Reply::empty(200); };
    TokenCreateRequest req;
    const auto r = client.create_token(k_token, req, soon());
    CHECK(r.error().code == errc::invalid_response);
    CHECK(client.lookup_self(k_token, soon()).error().code ==
          errc::invalid_response);
  }
  SECTION("a declared 100 MiB body is refused before it is read") {
    script = [] {
      Reply r = Reply::empty(200);
      r.action = Action::stream;
      r.stream_bytes = std::uint64_t{100} << 20;
      return r;
    };
    const auto r = get(client, "secret/x");
    CHECK(r.error().code == errc::invalid_response);
    CHECK(server.bytes_streamed() < (std::uint64_t{40} << 20));
  }
  SECTION("an endless chunked body stops at the cap") {
    script = [] {
      Reply r = Reply::empty(200);
      r.action = Action::stream;
      return r;
    };
    const auto r = get(client, "secret/x");
    CHECK(r.error().code == errc::invalid_response);
    CHECK_THAT(r.error().message, Catch::Contains("exceeds"));
    CHECK(server.bytes_streamed() < (std::uint64_t{48} << 20));
  }
  SECTION("a connection closed without an answer") {
    script = [] { return Reply::act(Action::close); };
    CHECK(get(client, "secret/x").error().code == errc::unreachable);
  }
  SECTION("a reset") {
    script = [] { return Reply::act(Action::reset); };
    const auto r = get(client, "secret/x");
    CHECK(r.error().code == errc::unreachable);
  }
}

TEST_CASE("Client follows one redirect to the active node", "[vault]") {
  ScriptedServer active(
      [](const SeenRequest&) { return Reply::json(200, R"({"data":{}})"); });
  std::string location;
  ScriptedServer standby([&](const SeenRequest& r) {
    Reply reply = Reply::empty(307);
    reply.headers.emplace_back("Location", location + r.target);
    return reply;
  });
  Client client(fast(standby.address()));

  SECTION("once, keeping method, body and token") {
    location = active.address();
    const json body = {{"a", 1}};
    REQUIRE(client.call(Method::post, "secret/x", &body, &k_token, {}, soon())
                .ok());
    REQUIRE(active.requests() == 1);
    const auto seen = active.seen().at(0);
    CHECK(seen.method == "POST");
    CHECK(json::parse(seen.body) == body);
    CHECK(seen.headers.at("x-vault-token") == k_token.reveal());
  }
  SECTION("not twice") {
    location = standby.address();
    const auto r = get(client, "secret/x");
    CHECK(r.error().code == errc::standby);
    CHECK(standby.requests() == 2);
  }
  SECTION("not to another scheme") {
    location = "ftp://127.0.0.1:1";
    CHECK(get(client, "secret/x").error().code == errc::standby);
  }
}

TEST_CASE("Client reuses one connection for sequential calls", "[vault]") {
  ScriptedServer server(
      [](const SeenRequest&) { return Reply::json(200, R"({"data":{}})"); });
  Client client(fast(server.address()));
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(get(client, "secret/x").ok());
  }
  CHECK(server.requests() == 1000);
  CHECK(server.connections() == 1);
}

TEST_CASE("Client serves concurrent callers in parallel", "[vault]") {
  std::mutex m;
  std::condition_variable cv;
  int in_flight = 0;
  int most = 0;
  ScriptedServer server([&](const SeenRequest&) {
    std::unique_lock<std::mutex> lock(m);
    most = std::max(most, ++in_flight);
    cv.notify_all();
    // Hold each request until four are in flight at once (or give up).
    cv.wait_for(lock, 2s, [&] { return most >= 4; });
    --in_flight;
    return Reply::json(200, "{}");
  });
  Client client(fast(server.address()));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        ok += get(client, "secret/x").ok() ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(ok == 80);
  CHECK(most >= 4);
  // Each thread's handle keeps its connection: no handshake per request.
  CHECK(server.connections() <= 8);
}

TEST_CASE("Client talks over a unix socket", "[vault]") {
  TempDir dir;
  ScriptedServer server(
      [](const SeenRequest&) {
        return Reply::json(200, R"({"initialized":true,"sealed":false,
          "standby":false,"version":"1.15.0"})");
      },
      dir.file("vault.sock"));
  Client client(fast(server.address()));
  const auto h = client.health(soon());
  REQUIRE(h.ok());
  CHECK(h->version == "1.15.0");
  CHECK(server.seen().at(0).headers.at("host") == "localhost");
}

TEST_CASE("Client::health asks for 299 on every non-active state", "[vault]") {
  ScriptedServer server([](const SeenRequest&) {
    return Reply::json(299, R"({"initialized":true,"sealed":true,
      "standby":true,"version":"1.15.0"})");
  });
  Client client(fast(server.address()));
  const auto h = client.health(soon());
  REQUIRE(h.ok());
  CHECK(h->status == 299);
  CHECK(h->sealed);
  const auto target = server.seen().at(0).target;
  for (const char* q : {"standbycode=299",
                        "sealedcode=299",
                        "performancestandbycode=299",
                        "drsecondarycode=299",
                        "uninitcode=299"}) {
    CHECK_THAT(target, Catch::Contains(q));
  }
  CHECK(server.seen().at(0).headers.count("x-vault-token") == 0);
  CHECK(server.requests() == 1);
}

TEST_CASE("Client::unwrap puts the wrapping token in one place", "[vault]") {
  std::function<Reply()> script;
  ScriptedServer server([&](const SeenRequest&) { return script(); });
  Client client(fast(server.address()));
  const SecretString wrapping = secret("hvs.WRAPwrapWRAPwrapWRAPwrap01");

  SECTION("unwrap: header only, never replayed") {
    script = [] { return Reply::json(200, k_token_reply); };
    const auto r = client.unwrap(wrapping, soon());
    REQUIRE(r.ok());
    CHECK(r->body["auth"]["accessor"] == "acc");
    const auto seen = server.seen().at(0);
    CHECK(seen.headers.at("x-vault-token") == wrapping.reveal());
    CHECK(seen.body.empty());
    CHECK(seen.target == "/v1/sys/wrapping/unwrap");
  }
  SECTION("an original 204 unwraps to a 204") {
    script = [] { return Reply::empty(204); };
    const auto r = client.unwrap(wrapping, soon());
    REQUIRE(r.ok());
    CHECK(r->status == 204);
    CHECK(r->body.is_null());
  }
  SECTION("lookup: body only, no header") {
    script = [] {
      return Reply::json(200, R"({"data":{"creation_path":"auth/token/create",
        "creation_time":"2024-01-01T00:00:00Z","creation_ttl":300}})");
    };
    const auto l = client.lookup_wrapping(wrapping, soon());
    REQUIRE(l.ok());
    CHECK(l->creation_ttl == 300s);
    const auto seen = server.seen().at(0);
    CHECK(seen.headers.count("x-vault-token") == 0);
    CHECK(json::parse(seen.body)["token"] == wrapping.reveal());
  }
  SECTION("spent or unknown tokens") {
    script = [] {
      return Reply::json(
          400,
          R"({"errors":["wrapping token is not valid or does not exist"]})");
    };
    CHECK(client.unwrap(wrapping, soon()).error().code ==
          errc::wrapping_token_invalid);
    CHECK(client.lookup_wrapping(wrapping, soon()).error().code ==
          errc::wrapping_token_invalid);
    CHECK(server.requests() == 2);
  }
  SECTION("a 403 for the wrapping token means the same") {
    script = [] {
      return Reply::json(403,
                         R"({"errors":["permission denied","invalid token"]})");
    };
    CHECK(client.unwrap(wrapping, soon()).error().code ==
          errc::wrapping_token_invalid);
  }
}

TEST_CASE("Client::read_kv detects the version and reads deleted ones",
          "[vault]") {
  std::atomic<int> mount_lookups{0};
  std::string kv2_reply;
  ScriptedServer server([&](const SeenRequest& r) {
    if (r.target.rfind("/v1/sys/internal/ui/mounts/", 0) == 0) {
      ++mount_lookups;
      const bool v2 = r.target.find("/kv2/") != std::string::npos;
      return Reply::json(
          200,
          json{{"data",
                {{"path", v2 ? "kv2/" : "kv1/"},
                 {"type", "kv"},
                 {"options", v2 ? json{{"version", "2"}} : json()}}}}
              .dump());
    }
    if (r.target.rfind("/v1/kv1/", 0) == 0) {
      return Reply::json(200, R"({"lease_duration":2764800,
        "data":{"password":"p1"}})");
    }
    return Reply::json(kv2_reply.rfind("404", 0) == 0 ? 404 : 200,
                       kv2_reply.substr(3));
  });
  Client client(fast(server.address()));

  SECTION("v1") {
    const auto s = client.read_kv(k_token, "kv1/app/db", std::nullopt, soon());
    REQUIRE(s.ok());
    CHECK(s->kv_version == 1);
    CHECK(s->data["password"] == "p1");
    CHECK(s->lease_duration == 2764800s);
    CHECK(client.read_kv(k_token, "kv1/app/db", 2, soon()).error().code ==
          errc::invalid_argument);
  }
  SECTION("v2, a version, and the mount cache") {
    kv2_reply = R"(200{"data":{"data":{"password":"p2"},"metadata":{
      "created_time":"2024-01-01T00:00:00Z","custom_metadata":null,
      "deletion_time":"","destroyed":false,"version":3}}})";
    const auto s = client.read_kv(k_token, "kv2/app/db", 3, soon());
    REQUIRE(s.ok());
    CHECK(s->kv_version == 2);
    CHECK(s->mount == "kv2/");
    CHECK(s->data["password"] == "p2");
    CHECK(s->metadata.version == 3);
    REQUIRE(client.read_kv(k_token, "kv2/other", std::nullopt, soon()).ok());
    CHECK(mount_lookups == 1);
    const auto targets = server.seen();
    CHECK(targets.at(1).target == "/v1/kv2/data/app/db?version=3");
  }
  SECTION("a soft-deleted version is surfaced as deleted") {
    kv2_reply = R"(404{"data":{"data":null,"metadata":{
      "created_time":"2024-01-01T00:00:00Z","deletion_time":
      "2024-02-01T00:00:00Z","destroyed":false,"version":2}}})";
    const auto s = client.read_kv(k_token, "kv2/app/db", 2, soon());
    CHECK(s.error().code == errc::deleted);
    CHECK(s.error().kind == ErrorKind::not_found);
  }
  SECTION("a destroyed version is surfaced as destroyed") {
    kv2_reply = R"(404{"data":{"data":null,"metadata":{
      "created_time":"2024-01-01T00:00:00Z","deletion_time":"",
      "destroyed":true,"version":1}}})";
    CHECK(client.read_kv(k_token, "kv2/app/db", 1, soon()).error().code ==
          errc::destroyed);
  }
  SECTION("a plain miss is not found") {
    kv2_reply = R"(404{"errors":[]})";
    CHECK(client.read_kv(k_token, "kv2/none", std::nullopt, soon())
              .error()
              .code == errc::not_found);
  }
}

TEST_CASE("Client keeps tokens out of logs and errors", "[vault]") {
  TempDir dir;
  const std::string log_path = dir.file("log");
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT, 0600);
  REQUIRE(fd >= 0);
  const auto old = log::level();
  log::set_level(log::Level::debug);
  log::set_fds(fd, fd);

  std::atomic<int> n{0};
  ScriptedServer server([&](const SeenRequest&) {
    // A hostile or buggy server echoing the token in its error.
    const char* echo =
        R"({"errors":["token hvs.TESTtokenTESTtokenTESTtoken01 broke"]})";
    return ++n % 2 ? Reply::json(500, echo) : Reply::act(Action::reset);
  });
  Client client(fast(server.address()));
  const auto r = get(client, "secret/x");
  const auto m = mint(client);
  const auto l = client.login_approle(
      secret("role-id-value"), secret("secret-id-value"), "approle", soon());
  log::set_fds(-1, -1);
  log::set_level(old);
  ::close(fd);

  std::ifstream in(log_path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK_FALSE(text.str().empty());
  CHECK(text.str().find("TESTtoken") == std::string::npos);
  CHECK(text.str().find("secret-id-value") == std::string::npos);
  const Error* errors[] = {&r.error(), &m.error(), &l.error()};
  for (const Error* e : errors) {
    CHECK(e->message.find("TESTtoken") == std::string::npos);
    CHECK(e->message.find("secret-id-value") == std::string::npos);
  }
}

TEST_CASE("Client::revoke_accessor treats an unknown accessor as revoked",
          "[vault]") {
  ScriptedServer server([](const SeenRequest&) {
    return Reply::json(
        400, R"({"errors":["1 error occurred:\n\t* invalid accessor\n\n"]})");
  });
  Client client(fast(server.address()));
  CHECK(client.revoke_accessor(k_token, "nope", soon()).ok());
  CHECK(client.lookup_accessor(k_token, "nope", soon()).error().code ==
        errc::not_found);
  CHECK(client.revoke_accessor(k_token, "", soon()).error().code ==
        errc::invalid_argument);
}

TEST_CASE("Client with an invalid config fails every call", "[vault]") {
  Config cfg;
  cfg.address = "vault:8200";
  Client client(cfg);
  const auto r = get(client, "secret/x");
  CHECK(r.error().code == errc::invalid_argument);
}
