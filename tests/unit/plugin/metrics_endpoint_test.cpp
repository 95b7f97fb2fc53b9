#include "plugin/metrics_endpoint.hpp"

#include "plugin/plugin_metrics.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>

using namespace vsp;
using namespace vsp::plugin;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

vault::Getenv env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    if (auto it = vars.find(name); it != vars.end()) {
      return it->second;
    }
    return std::nullopt;
  };
}

// One GET over TCP to 127.0.0.1:`port`; the whole reply, headers included.
std::string tcp_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) ==
      0) {
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
      reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

} // namespace

TEST_CASE("MetricsSettings reads VSP_METRICS_ADDR, loopback by default",
          "[plugin][metrics]") {
  SECTION("unset: the socket only") {
    auto s = MetricsSettings::from_env(env_of({}));
    REQUIRE(s.ok());
    CHECK(s->address.empty());
  }
  SECTION("loopback forms are accepted") {
    for (const char* a : {"9464",
                          ":9464",
                          "127.0.0.1:9464",
                          "127.1.2.3:0",
                          "localhost:9464",
                          "[::1]:9464"}) {
      INFO(a);
      auto s = MetricsSettings::from_env(env_of({{"VSP_METRICS_ADDR", a}}));
      REQUIRE(s.ok());
      CHECK(s->address == a);
    }
  }
  SECTION("a non-loopback address is refused, saying how to allow it") {
    for (const char* a : {"0.0.0.0:9464", "10.1.2.3:9464", "[::]:9464"}) {
      INFO(a);
      auto s = MetricsSettings::from_env(env_of({{"VSP_METRICS_ADDR", a}}));
      REQUIRE_FALSE(s.ok());
      CHECK_THAT(s.error().message,
                 Contains("not a loopback address") &&
                     Contains("VSP_METRICS_ALLOW_REMOTE=true"));
    }
  }
  SECTION("VSP_METRICS_ALLOW_REMOTE=true allows it") {
    auto s = MetricsSettings::from_env(
        env_of({{"VSP_METRICS_ADDR", "0.0.0.0:9464"},
                {"VSP_METRICS_ALLOW_REMOTE", "true"}}));
    REQUIRE(s.ok());
    CHECK(s->allow_remote == AllowRemote::yes);
  }
  SECTION("host names other than localhost are refused") {
    auto s = MetricsSettings::from_env(
        env_of({{"VSP_METRICS_ADDR", "metrics.example:9464"}}));
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message,
               Contains("the host must be an IP address or localhost"));
  }
  SECTION("malformed values") {
    for (const char* a : {"127.0.0.1:99999", "127.0.0.1:", "x", "[::1]9464"}) {
      INFO(a);
      CHECK_FALSE(
          MetricsSettings::from_env(env_of({{"VSP_METRICS_ADDR", a}})).ok());
    }
    CHECK_FALSE(MetricsSettings::from_env(
                    env_of({{"VSP_METRICS_ALLOW_REMOTE", "perhaps"}}))
                    .ok());
  }
}

TEST_CASE("PluginMetrics counts requests, credentials and Vault calls",
          "[plugin][metrics]") {
  PluginMetrics m;
  m.request(Outcome::issued, "app", 3ms);
  m.request(Outcome::issued, "app", 4ms);
  m.request(Outcome::reused, "app", 100us);
  m.request(Outcome::denied, "", 50us);
  m.issued("wrapped_token", "app");
  m.issued("wrapped_token", "app");
  vault::CallRecord ok;
  ok.operation = "token_create";
  ok.http_status = 200;
  ok.elapsed = 2ms;
  m.on_call(ok);
  vault::CallRecord down;
  down.operation = "token_create";
  down.error = "unreachable";
  m.on_call(down);

  const std::string text = m.render();
  CHECK_THAT(text,
             Contains("vsp_requests_total{outcome=\"issued\",rule=\"app\"} "
                      "2\n"));
  CHECK_THAT(text,
             Contains("vsp_requests_total{outcome=\"denied\",rule=\"\"} 1\n"));
  CHECK_THAT(text,
             Contains("vsp_request_duration_seconds_count{outcome="
                      "\"issued\"} 2\n"));
  CHECK_THAT(text,
             Contains("vsp_credentials_issued_total{kind=\"wrapped_token\","
                      "rule=\"app\"} 2\n"));
  CHECK_THAT(text, Contains("# TYPE vsp_credentials_revoked_total counter\n"));
  CHECK_THAT(text,
             Contains("vsp_vault_request_duration_seconds_count{operation="
                      "\"token_create\",status=\"200\"} 1\n"));
  CHECK_THAT(text,
             Contains("vsp_vault_request_duration_seconds_count{operation="
                      "\"token_create\",status=\"unreachable\"} 1\n"));
  CHECK_THAT(text, Contains("# TYPE vsp_ledger_entries gauge\n"));
  CHECK_THAT(text, Contains("\nprocess_resident_memory_bytes "));
  CHECK_THAT(text, Contains("# TYPE process_cpu_seconds_total counter\n"));

  const PluginMetrics::Totals t = m.totals();
  CHECK(t.requests.at("issued") == 2);
  CHECK(t.requests.at("reused") == 1);
  CHECK(t.requests.at("denied") == 1);
  CHECK(t.issued == 2);
  CHECK(t.revoked == 0);
  CHECK(t.vault_calls == 2);
  CHECK(t.vault_failures == 1);

  m.revoked("wrapped-token", "task_ended");
  CHECK(m.totals().revoked == 1);
  CHECK(m.render().find("\nvsp_ledger_entries{") == std::string::npos);

  std::map<std::string, std::int64_t> rows{{"issued", 7}, {"revoked", 2}};
  m.watch_ledger([&] { return std::optional(rows); });
  CHECK_THAT(m.render(),
             Contains("vsp_credentials_revoked_total{kind=\"wrapped-token\","
                      "reason=\"task_ended\"} 1\n") &&
                 Contains("\nvsp_ledger_entries{state=\"issued\"} 7\n") &&
                 Contains("\nvsp_ledger_entries{state=\"revoked\"} 2\n"));
  rows["revoked"] = 3; // read again at every scrape
  CHECK_THAT(m.render(),
             Contains("\nvsp_ledger_entries{state=\"revoked\"} 3\n"));
}

TEST_CASE("MetricsServer serves /metrics on a TCP address",
          "[plugin][metrics]") {
  PluginMetrics m;
  m.request(Outcome::issued, "app", 1ms);
  MetricsSettings settings;
  settings.address = "127.0.0.1:0";
  auto server = MetricsServer::start(settings, m);
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  REQUIRE(address.rfind("127.0.0.1:", 0) == 0);
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  REQUIRE(port > 0);

  const std::string reply = tcp_get(port, "/metrics");
  CHECK_THAT(reply, Contains("HTTP/1.1 200"));
  CHECK_THAT(reply,
             Contains("Content-Type: text/plain; version=0.0.4; "
                      "charset=utf-8"));
  CHECK_THAT(reply,
             Contains("vsp_requests_total{outcome=\"issued\",rule=\"app\"} "
                      "1\n"));
  CHECK_THAT(tcp_get(port, "/status"), Contains("HTTP/1.1 404"));

  SECTION("a port in use is an error") {
    MetricsSettings same;
    same.address = address;
    auto second = MetricsServer::start(same, m);
    REQUIRE_FALSE(second.ok());
    CHECK_THAT(second.error().message,
               Contains("cannot listen for metrics on " + address));
  }
}
