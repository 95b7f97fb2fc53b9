#include "plugin/http_server.hpp"

#include "tests/support/temp_dir.hpp"
#include "tests/support/unix_http_client.hpp"

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace vsp;
using namespace vsp::plugin;
using namespace std::chrono_literals;
using vsp::test::docker_request;
using vsp::test::TempDir;
using vsp::test::UnixHttpClient;

namespace {

using Clock = std::chrono::steady_clock;

// Remembers every request its handler saw and answers `reply`.
class Recorder {
public:
  Handler handler(const HttpResponse& reply = {}) {
    return [this, reply](const HttpRequest& request) {
      std::lock_guard lock(m_mutex);
      m_seen.push_back(request);
      return reply;
    };
  }
  std::vector<HttpRequest> seen() const {
    std::lock_guard lock(m_mutex);
    return m_seen;
  }

private:
  mutable std::mutex m_mutex;
  std::vector<HttpRequest> m_seen;
};

// Holds handlers inside until the test opens it.
class Gate {
public:
  // Called by a handler: counts it in, then blocks until open().
  void pass() {
    std::unique_lock lock(m_mutex);
    ++m_entered;
    m_changed.notify_all();
    m_changed.wait(lock, [this] { return m_open; });
  }
  bool wait_entered(int count, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(
        lock, timeout, [&] { return m_entered >= count; });
  }
  void open() {
    std::lock_guard lock(m_mutex);
    m_open = true;
    m_changed.notify_all();
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  int m_entered = 0;
  bool m_open = false;
};

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (!predicate()) {
    if (Clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::unique_ptr<HttpServer>
serve(const std::string& path, Handler handler, ServerOptions options = {}) {
  auto listener = UnixListener::bind({.path = path});
  REQUIRE(listener.ok());
  auto server =
      HttpServer::start(std::move(*listener), std::move(handler), options);
  REQUIRE(server.ok());
  return std::move(*server);
}

UnixHttpClient connect(const std::string& path) {
  auto client = UnixHttpClient::connect(path);
  REQUIRE(client.ok());
  return std::move(*client);
}

// Checks that a new connection to `path` gets a request answered (the
// server's handler must answer 200).
void check_serves(const std::string& path) {
  auto client = connect(path);
  auto response = client.round_trip(docker_request("/x", ""));
  REQUIRE(response.ok());
  CHECK(response->status == 200);
}

HttpResponse json(std::string body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A GetSecret body exactly as Docker 20.10 sent it (trailing newline).
const std::string k_get_secret_body =
    R"({"SecretName":"mysecret","SecretLabels":{"a":"b"},)"
    R"("ServiceID":"ufw77opoozhze1xx9961mb1nu","ServiceName":"t",)"
    R"("TaskID":"1vdgm0ucpc8t2safefl3x93kh",)"
    R"("TaskName":"t.1.1vdgm0ucpc8t2safefl3x93kh",)"
    R"("TaskImage":"local/busybox:latest",)"
    R"("NodeID":"bmp56nw8m4rmb0vrp6pqz4atj","ServiceEndpointSpec":{}})"
    "\n";

} // namespace

TEST_CASE("HttpServer serves requests shaped like Docker's", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  Recorder recorder;
  auto server = serve(path, recorder.handler(json(R"({"Value":"aGVsbG8="})")));
  auto client = connect(path);

  SECTION("GetSecret: empty Host, no Content-Type, body ending in newline") {
    auto response = client.round_trip(
        docker_request("/SecretProvider.GetSecret", k_get_secret_body));
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    CHECK(response->header("content-type") == "application/json");
    CHECK(response->body == R"({"Value":"aGVsbG8="})");

    const auto seen = recorder.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].path == "/SecretProvider.GetSecret");
    CHECK(seen[0].body == k_get_secret_body);
    CHECK_FALSE(seen[0].body_too_large);
  }
  SECTION("Plugin.Activate with Content-Length 0") {
    auto response = client.round_trip(docker_request("/Plugin.Activate", ""));
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    REQUIRE(recorder.seen().size() == 1);
    CHECK(recorder.seen()[0].body.empty());
  }
  SECTION("a POST with no Content-Length has an empty body") {
    auto response = client.round_trip("POST /x HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    REQUIRE(recorder.seen().size() == 1);
    CHECK(recorder.seen()[0].body.empty());
  }
  SECTION("unknown methods and paths reach the handler") {
    auto response = client.round_trip(
        "BREW /no/such/thing?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(response.ok());
    REQUIRE(recorder.seen().size() == 1);
    CHECK(recorder.seen()[0].method == "BREW");
    CHECK(recorder.seen()[0].path == "/no/such/thing");
  }
}

TEST_CASE("HttpServer sends the handler's response as given", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  HttpResponse reply;
  reply.status = 404;
  reply.content_type = "application/vnd.docker.plugins.v1.1+json";
  auto server = serve(path, [&](const HttpRequest&) { return reply; });
  auto client = connect(path);

  auto response = client.round_trip(docker_request("/Nope", ""));
  REQUIRE(response.ok());
  CHECK(response->status == 404);
  CHECK(response->header("content-type") ==
        "application/vnd.docker.plugins.v1.1+json");
  CHECK(response->header("content-length") == "0");
  CHECK(response->body.empty());
}

TEST_CASE("HttpServer keeps connections alive", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  auto server = serve(
      path, [](const HttpRequest& request) { return json(request.body); });
  auto client = connect(path);

  for (int i = 0; i < 100; ++i) {
    const std::string body = "request " + std::to_string(i) + "\n";
    auto response = client.round_trip(docker_request("/Echo", body));
    REQUIRE(response.ok());
    REQUIRE(response->status == 200);
    REQUIRE(response->body == body);
  }
  CHECK(server->stats().connections_open == 1);
  CHECK(eventually([&] { return server->stats().requests_served == 100; }));
  CHECK(server->stats().in_flight == 0);
}

TEST_CASE("HttpServer runs slow handlers on its worker pool", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  constexpr int k_clients = 64;
  constexpr auto k_sleep = 200ms;
  ServerOptions options;
  options.workers = 8;

  std::atomic<int> active{0};
  std::atomic<int> most_active{0};
  auto server = serve(
      path,
      [&](const HttpRequest&) {
        const int now = ++active;
        int seen = most_active.load();
        while (now > seen && !most_active.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(k_sleep);
        --active;
        return json("{}");
      },
      options);

  std::vector<UnixHttpClient> clients;
  clients.reserve(k_clients);
  for (int i = 0; i < k_clients; ++i) {
    clients.push_back(connect(path));
  }
  const auto started = Clock::now();
  std::vector<std::future<int>> statuses;
  statuses.reserve(k_clients);
  for (auto& client : clients) {
    statuses.push_back(std::async(std::launch::async, [&client] {
      auto response = client.round_trip(docker_request("/Slow", "{}\n"), 30s);
      return response.ok() ? response->status : -1;
    }));
  }
  for (auto& status : statuses) {
    CHECK(status.get() == 200);
  }
  const auto elapsed = Clock::now() - started;

  // Exactly `workers` handlers at a time: so 8 rounds of 200 ms, far from
  // the 12.8 s of one at a time, and never fewer rounds than the pool size
  // allows (no thread per request).
  const int rounds = k_clients / static_cast<int>(options.workers);
  CHECK(most_active.load() == static_cast<int>(options.workers));
  CHECK(elapsed >= rounds * k_sleep - 50ms);
  CHECK(elapsed < 2 * rounds * k_sleep + 1s);
}

TEST_CASE("HttpServer starts workers as requests need them, up to its cap",
          "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  ServerOptions options;
  options.min_workers = 1;
  options.workers = 4;
  Gate gate;
  auto server = serve(
      path,
      [&](const HttpRequest&) {
        gate.pass();
        return json("{}");
      },
      options);
  CHECK(server->stats().workers == 1);

  constexpr int k_clients = 6;
  std::vector<UnixHttpClient> clients;
  for (int i = 0; i < k_clients; ++i) {
    clients.push_back(connect(path));
  }
  std::vector<std::future<int>> statuses;
  for (auto& client : clients) {
    statuses.push_back(std::async(std::launch::async, [&client] {
      auto response = client.round_trip(docker_request("/Held", "{}\n"), 30s);
      return response.ok() ? response->status : -1;
    }));
  }
  // Four run at once, the other two wait: never more threads than the cap.
  REQUIRE(gate.wait_entered(4));
  CHECK_FALSE(gate.wait_entered(5, 300ms));
  CHECK(server->stats().workers == 4);
  gate.open();
  for (auto& status : statuses) {
    CHECK(status.get() == 200);
  }
  // The threads stay for the next burst: a steady load creates none.
  CHECK(server->stats().workers == 4);
}

TEST_CASE("HttpServer serves a thousand concurrent connections", "[plugin]") {
  constexpr int k_clients = 1000;
  rlimit files{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  if (files.rlim_cur < 2 * k_clients + 100) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 2 * k_clients + 100);
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur < 2 * k_clients + 100) {
    WARN("skipped: RLIMIT_NOFILE too low for " << k_clients << " connections");
    return;
  }
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  auto server = serve(
      path, [](const HttpRequest& request) { return json(request.body); });

  std::vector<UnixHttpClient> clients;
  for (int i = 0; i < k_clients; ++i) {
    clients.push_back(connect(path));
    REQUIRE(clients.back().send(docker_request("/Echo", std::to_string(i))));
  }
  CHECK(eventually([&] {
    return server->stats().connections_open == std::size_t(k_clients);
  }));
  int answered = 0;
  for (int i = 0; i < k_clients; ++i) {
    auto response = clients[std::size_t(i)].read_response();
    if (response.ok() && response->body == std::to_string(i)) {
      ++answered;
    }
  }
  CHECK(answered == k_clients);
}

TEST_CASE("HttpServer refuses connections over max_connections", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  ServerOptions options;
  options.max_connections = 4;
  auto server = serve(
      path, [](const HttpRequest&) { return json("{}"); }, options);

  std::vector<UnixHttpClient> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(connect(path));
    REQUIRE(clients.back().round_trip(docker_request("/x", "")).ok());
  }
  auto extra = connect(path);
  CHECK(extra.wait_closed(5s));

  clients.front().close();
  REQUIRE(eventually([&] { return server->stats().connections_open == 3; }));
  check_serves(path);
}

TEST_CASE("HttpServer caps request bodies", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  ServerOptions options;
  options.max_body_bytes = 1024;
  Recorder recorder;
  auto server = serve(path, recorder.handler(json("{}")), options);
  auto client = connect(path);

  SECTION("a body of exactly the limit is passed on") {
    const std::string body(1024, 'a');
    REQUIRE(client.round_trip(docker_request("/x", body)).ok());
    REQUIRE(recorder.seen().size() == 1);
    CHECK(recorder.seen()[0].body == body);
    CHECK_FALSE(recorder.seen()[0].body_too_large);
  }
  SECTION("one byte over is flagged, not passed, and the connection lives") {
    auto response =
        client.round_trip(docker_request("/x", std::string(1025, 'a')));
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    REQUIRE(client.round_trip(docker_request("/y", "small")).ok());

    const auto seen = recorder.seen();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].body_too_large);
    CHECK(seen[0].body.empty());
    CHECK_FALSE(seen[1].body_too_large);
    CHECK(seen[1].body == "small");
  }
  SECTION("a large body is read and dropped") {
    REQUIRE(
        client.round_trip(docker_request("/x", std::string(4 << 20, 'a')), 30s)
            .ok());
    REQUIRE(recorder.seen().size() == 1);
    CHECK(recorder.seen()[0].body_too_large);
    CHECK(recorder.seen()[0].body.empty());
  }
  SECTION("a chunked body over the limit is flagged too") {
    const std::string chunk(600, 'c');
    const std::string request =
        "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "258\r\n" +
        chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n";
    REQUIRE(client.round_trip(request).ok());
    REQUIRE(recorder.seen().size() == 1);
    CHECK(recorder.seen()[0].body_too_large);
    CHECK(recorder.seen()[0].body.empty());
  }
}

TEST_CASE("HttpServer refuses a request with two Content-Length headers",
          "[plugin]") {
  // RFC 9112 6.3: differing lengths leave the framing unknowable, the
  // stuff of request smuggling; the request is refused and the connection
  // closed.
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  Recorder recorder;
  auto server = serve(path, recorder.handler(json("{}")));
  // Differing, and the same value twice: both refused.
  for (const char* second : {"40", "2"}) {
    INFO(second);
    auto client = connect(path);
    auto response = client.round_trip(
        std::string("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n"
                    "Content-Length: ") +
        second + "\r\n\r\n{}");
    REQUIRE(response.ok());
    CHECK(response->status == 400);
    CHECK(response->body ==
          R"({"Err":"vsp: the request has more than one Content-Length"})");
    CHECK(client.wait_closed(5s));
  }
  CHECK(recorder.seen().empty());
  check_serves(path);
}

TEST_CASE("HttpServer survives clients that go away", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  Gate gate;
  std::atomic<int> calls{0};
  auto server = serve(path, [&](const HttpRequest& request) {
    ++calls;
    if (request.path == "/gated") {
      gate.pass();
    }
    return json("{}");
  });

  SECTION("half a request line, then close") {
    auto client = connect(path);
    REQUIRE(client.send("POST /SecretProvider.Get"));
    client.close();
  }
  SECTION("headers and half the body, then close") {
    auto client = connect(path);
    REQUIRE(client.send("POST /x HTTP/1.1\r\nHost: \r\nContent-Length: 100\r\n"
                        "\r\n{\"SecretName\""));
    REQUIRE(eventually([&] { return server->stats().in_flight == 1; }));
    client.close();
  }
  SECTION("disconnect while the handler runs") {
    auto client = connect(path);
    REQUIRE(client.send(docker_request("/gated", "{}\n")));
    REQUIRE(gate.wait_entered(1));
    client.close();
    gate.open();
  }
  gate.open();

  CHECK(eventually([&] {
    const auto stats = server->stats();
    return stats.in_flight == 0 && stats.connections_open == 0;
  }));
  CHECK(calls.load() <= 1);
  check_serves(path);
}

TEST_CASE("HttpServer turns a handler's exception into a 500", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  auto server = serve(path, [](const HttpRequest& request) -> HttpResponse {
    if (request.path == "/std") {
      throw std::runtime_error("secret-looking detail");
    }
    if (request.path == "/other") {
      throw 42;
    }
    return json("{}");
  });
  auto client = connect(path);

  for (const char* thrower : {"/std", "/other"}) {
    auto response = client.round_trip(docker_request(thrower, "{}\n"));
    REQUIRE(response.ok());
    CHECK(response->status == 500);
    CHECK(response->header("content-type") == "application/json");
    CHECK(response->body == R"({"Err":"internal error"})");
  }
  auto after = client.round_trip(docker_request("/fine", ""));
  REQUIRE(after.ok());
  CHECK(after->status == 200);
}

TEST_CASE("HttpServer::stop drains requests and removes the socket",
          "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  Gate gate;
  ServerOptions options;

  SECTION("a request in flight completes; new connections are refused") {
    auto server = serve(
        path,
        [&](const HttpRequest&) {
          gate.pass();
          return json(R"({"Value":"c2xvdw=="})");
        },
        options);
    auto client = connect(path);
    REQUIRE(client.send(docker_request("/SecretProvider.GetSecret", "{}\n")));
    REQUIRE(gate.wait_entered(1));

    auto stopping = std::async(std::launch::async, [&] { server->stop(); });
    CHECK(eventually(
        [&] { return UnixHttpClient::connect_errno(path) == ECONNREFUSED; }));
    gate.open();

    auto response = client.read_response();
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    CHECK(response->body == R"({"Value":"c2xvdw=="})");
    CHECK(response->header("connection") == "close");
    REQUIRE(stopping.wait_for(10s) == std::future_status::ready);
    CHECK(client.wait_closed(5s));
    CHECK_FALSE(exists(path));
    CHECK(UnixHttpClient::connect_errno(path) == ENOENT);
    CHECK(server->stats().requests_served == 1);
    server->stop(); // idempotent
  }
  SECTION("a request still running after drain_timeout gets a 503") {
    options.drain_timeout = 200ms;
    auto server = serve(
        path,
        [&](const HttpRequest&) {
          gate.pass();
          return json("{}");
        },
        options);
    auto client = connect(path);
    REQUIRE(client.send(docker_request("/SecretProvider.GetSecret", "{}\n")));
    REQUIRE(gate.wait_entered(1));

    auto stopping = std::async(std::launch::async, [&] { server->stop(); });
    auto response = client.read_response(5s);
    REQUIRE(response.ok());
    CHECK(response->status == 503);
    CHECK(response->body == R"({"Err":"plugin is stopping, try again"})");
    CHECK(eventually([&] { return !exists(path); }));
    gate.open(); // stop() waits for the handler before it returns
    REQUIRE(stopping.wait_for(10s) == std::future_status::ready);
  }
  SECTION("a connection accepted before stop gets its request answered") {
    auto server = serve(
        path, [](const HttpRequest&) { return json("{}"); }, options);
    auto client = connect(path);
    REQUIRE(eventually([&] { return server->stats().connections_open == 1; }));

    auto stopping = std::async(std::launch::async, [&] { server->stop(); });
    REQUIRE(eventually(
        [&] { return UnixHttpClient::connect_errno(path) == ECONNREFUSED; }));
    auto response = client.round_trip(docker_request("/late", "{}\n"));
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    REQUIRE(stopping.wait_for(10s) == std::future_status::ready);
  }
  SECTION("idle keep-alive connections do not hold stop up") {
    auto server = serve(
        path, [](const HttpRequest&) { return json("{}"); }, options);
    auto client = connect(path);
    REQUIRE(client.round_trip(docker_request("/x", "")).ok());
    const auto started = Clock::now();
    server->stop();
    CHECK(Clock::now() - started < 1s);
    CHECK(client.wait_closed(5s));
    CHECK_FALSE(exists(path));
  }
}

TEST_CASE("HttpServer::start refuses bad arguments", "[plugin]") {
  TempDir dir;
  auto bound = [&] {
    auto listener = UnixListener::bind({.path = dir.file("vsp.sock")});
    REQUIRE(listener.ok());
    return std::move(*listener);
  };
  auto ok_handler = [](const HttpRequest&) { return HttpResponse{}; };

  SECTION("no handler") {
    auto server = HttpServer::start(bound(), Handler(), ServerOptions{});
    REQUIRE_FALSE(server.ok());
    CHECK(server.error().kind == ErrorKind::invalid_input);
  }
  SECTION("no workers") {
    ServerOptions options;
    options.workers = 0;
    auto server = HttpServer::start(bound(), ok_handler, options);
    REQUIRE_FALSE(server.ok());
    CHECK(server.error().kind == ErrorKind::invalid_input);
  }
  SECTION("a closed listener") {
    UnixListener listener = bound();
    listener.close();
    auto server =
        HttpServer::start(std::move(listener), ok_handler, ServerOptions{});
    REQUIRE_FALSE(server.ok());
    CHECK(server.error().kind == ErrorKind::invalid_input);
  }
  CHECK_FALSE(exists(dir.file("vsp.sock")));
}

TEST_CASE("HttpServer::stop under a stream of new connections", "[plugin]") {
  // Every connection that gets in must get an answer, and the daemon must
  // never be stopped with a connection suspended (libmicrohttpd aborts).
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  for (int round = 0; round < 10; ++round) {
    auto server = serve(path, [](const HttpRequest&) { return json("{}"); });
    std::atomic<bool> running{true};
    std::atomic<int> answered{0};
    std::atomic<int> unanswered{0};
    std::vector<std::thread> clients;
    clients.reserve(4);
    for (int i = 0; i < 4; ++i) {
      clients.emplace_back([&] {
        while (running) {
          auto client = UnixHttpClient::connect(path);
          if (!client.ok()) {
            continue; // refused: the server is stopping
          }
          auto response = client->round_trip(docker_request("/x", "{}\n"));
          ++(response.ok() ? answered : unanswered);
        }
      });
    }
    std::this_thread::sleep_for(20ms);
    server->stop();
    running = false;
    for (auto& client : clients) {
      client.join();
    }
    INFO("round " << round);
    CHECK(answered.load() > 0);
    CHECK(unanswered.load() == 0);
  }
}
