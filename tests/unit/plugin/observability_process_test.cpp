// Black-box tests of what vsp-plugin tells about itself while it runs:
// /metrics scraped on its socket (and on TCP with VSP_METRICS_ADDR) during
// real GetSecrets against the Vault emulator, /status, and `vsp status`.
#include "tests/support/child_process.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/scripted_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/unix_http_client.hpp"
#include "tests/support/vault_emulator.hpp"
#include "tests/support/vault_setup.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <regex>

using namespace vsp;
using namespace vsp::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// A swarm manager's Engine API on a Unix socket, where tasks t1-t4 run.
std::unique_ptr<ScriptedServer> fake_engine(const std::string& path) {
  return std::make_unique<ScriptedServer>(
      [](const SeenRequest& r) {
        if (r.target == "/v1.41/info") {
          return Reply::json(
              200,
              R"({"ServerVersion":"20.10.24","Swarm":{"NodeID":"n1",)"
              R"("LocalNodeState":"active","ControlAvailable":true}})");
        }
        if (r.target.rfind("/v1.41/tasks", 0) == 0) {
          json tasks = json::array();
          for (const char* id : {"t1", "t2", "t3", "t4"}) {
            tasks.push_back({{"ID", id},
                             {"DesiredState", "running"},
                             {"Status", {{"State", "running"}}}});
          }
          return Reply::json(200, tasks.dump());
        }
        return Reply::json(404, R"({"message":"page not found"})");
      },
      path);
}

struct Running {
  TempDir dir;
  std::string engine_socket = dir.file("docker.sock");
  std::unique_ptr<ScriptedServer> engine = fake_engine(engine_socket);
  std::unique_ptr<VaultTarget> vault;
  TokenRoleSetup setup;
  std::string socket = dir.file("vsp.sock");
  std::unique_ptr<ChildProcess> plugin;

  bool start(std::string* why, std::vector<std::string> extra_env = {}) {
    vault = vault_target(why);
    if (!vault) {
      return false;
    }
    setup = setup_token_role(*vault, dir);
    std::vector<std::string> env{
        "VSP_SOCKET=" + socket,
        "VSP_RULES=" + dir.write("rules.yaml", rules_for(setup)),
        "VSP_TOKEN_FILE=" + setup.plugin_token_file,
        "VAULT_ADDR=" + vault->address,
        "VSP_DEADLINE=3s",
        "VSP_LEDGER=" + dir.file("ledger.db"),
        "VSP_DOCKER_SOCKET=" + engine_socket,
    };
    env.insert(env.begin(), extra_env.begin(), extra_env.end());
    plugin = std::make_unique<ChildProcess>(binary_path("plugin/vsp-plugin"),
                                            std::vector<std::string>{},
                                            env,
                                            dir.path());
    return eventually(
        [&] { return UnixHttpClient::connect_errno(socket) == 0; }, 5s);
  }

  RawResponse send(const std::string& bytes) {
    auto client = UnixHttpClient::connect(socket);
    REQUIRE(client.ok());
    auto r = client->round_trip(bytes, 10s);
    REQUIRE(r.ok());
    return *r;
  }
  RawResponse get(const std::string& path) {
    return send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
  }
  json get_secret(const std::string& secret, const std::string& task) {
    const json body{
        {"SecretName", secret}, {"TaskID", task}, {"ServiceName", "web"}};
    return json::parse(
        send(docker_request("/SecretProvider.GetSecret", body.dump())).body);
  }
  std::string plugin_token() const {
    return read_file(setup.plugin_token_file);
  }
};

// The value of the sample `series` (name and labels exactly as rendered),
// or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) {
    return -1;
  }
  return std::stod(text.substr(at + series.size() + 2));
}

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
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
      reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

// Runs the vsp CLI; returns its exit status, stdout in `out`.
int vsp_cli(const std::vector<std::string>& args,
            const TempDir& dir,
            std::string& out,
            std::string& err) {
  ChildProcess cli(
      binary_path("cli/vsp"), args, {"PATH=/usr/bin:/bin"}, dir.path());
  const auto status = cli.wait(30s);
  out = cli.out();
  err = cli.err();
  return status.value_or(-1);
}

} // namespace

TEST_CASE("vsp-plugin counts what it does in /metrics while it runs",
          "[plugin][binary][metrics]") {
  Running p;
  std::string why;
  if (!p.start(&why)) {
    VSP_SKIP(why);
  }
  for (const char* task : {"t1", "t2", "t3"}) {
    REQUIRE(p.get_secret("app-one", task).contains("Value"));
  }
  REQUIRE(p.get_secret("app-one", "t1").contains("Value")); // a repeat
  REQUIRE(p.get_secret("db", "t4").contains("Err"));        // no rule

  const RawResponse r = p.get("/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  const std::string& m = r.body;
  CHECK(sample(m, R"(vsp_requests_total{outcome="issued",rule="app"})") == 3);
  CHECK(sample(m, R"(vsp_requests_total{outcome="reused",rule="app"})") == 1);
  CHECK(sample(m, R"(vsp_requests_total{outcome="denied",rule=""})") == 1);
  CHECK(
      sample(
          m,
          R"(vsp_request_duration_seconds_bucket{outcome="issued",le="+Inf"})") ==
      3);
  CHECK(
      sample(
          m,
          R"(vsp_credentials_issued_total{kind="wrapped-token",rule="app"})") ==
      3);
  CHECK_THAT(m, Contains("# TYPE vsp_credentials_revoked_total counter"));
  CHECK(
      sample(
          m,
          R"(vsp_vault_request_duration_seconds_count{operation="token_create",status="200"})") ==
      3);
  CHECK(
      sample(
          m,
          R"(vsp_vault_request_duration_seconds_count{operation="token_lookup_self",status="200"})") >=
      1);
  CHECK(sample(m, R"(vsp_ledger_entries{state="issued"})") == 3);
  CHECK(sample(m, R"(vsp_ledger_entries{state="revoked"})") == 0);
  CHECK(sample(m, "vsp_ledger_memory_bytes") > 10e3);
  CHECK(sample(m, "vsp_ledger_memory_bytes") < 4e6);
  CHECK(sample(m, "vsp_login_valid") == 1);
  CHECK(sample(m, "vsp_login_ttl_seconds") > 3000); // a 1h token
  CHECK(sample(m, "vsp_http_connections") >= 1);
  CHECK(sample(m, "process_resident_memory_bytes") > 1e6);
  CHECK(sample(m, "process_cpu_seconds_total") >= 0);
  // No secret in the metrics: neither the plugin's token nor a secret path
  // as a label value.
  CHECK_THAT(m, !Contains(p.plugin_token()));
  CHECK_THAT(m, !Contains("app-one"));
}

TEST_CASE("vsp-plugin serves /metrics on VSP_METRICS_ADDR",
          "[plugin][binary][metrics]") {
  Running p;
  std::string why;
  if (!p.start(&why, {"VSP_METRICS_ADDR=127.0.0.1:0"})) {
    VSP_SKIP(why);
  }
  // The port is copied out of the log while the log text is alive: a
  // match only points into the string it searched.
  std::string port;
  const std::regex logged("serving /metrics on 127\\.0\\.0\\.1:([0-9]+)");
  REQUIRE(eventually(
      [&] {
        const std::string out = p.plugin->out();
        std::smatch m;
        if (!std::regex_search(out, m, logged)) {
          return false;
        }
        port = m[1].str();
        return true;
      },
      5s));
  REQUIRE(p.get_secret("app-one", "t1").contains("Value"));
  const std::string reply = tcp_get(std::stoi(port), "/metrics");
  CHECK_THAT(reply, Contains("HTTP/1.1 200"));
  CHECK_THAT(reply,
             Contains("vsp_requests_total{outcome=\"issued\",rule=\"app\"} 1"));
}

TEST_CASE("vsp-plugin refuses a metrics address beyond loopback",
          "[plugin][binary][metrics]") {
  TempDir dir;
  ChildProcess plugin(binary_path("plugin/vsp-plugin"),
                      {},
                      {"VSP_METRICS_ADDR=0.0.0.0:9464",
                       "VSP_SOCKET=" + dir.file("vsp.sock"),
                       "VSP_RULES=" + dir.write("rules.yaml", "rules: []\n"),
                       "VSP_TOKEN_FILE=" + dir.write("token", "hvs.x"),
                       "VAULT_ADDR=http://127.0.0.1:9"},
                      dir.path());
  REQUIRE(plugin.wait(10s) == 1);
  CHECK_THAT(plugin.err(),
             Contains("VSP_METRICS_ADDR=\"0.0.0.0:9464\": not a loopback "
                      "address") &&
                 Contains("VSP_METRICS_ALLOW_REMOTE=true"));
}

TEST_CASE("vsp-plugin's /status and `vsp status` tell how it is",
          "[plugin][binary][cli]") {
  Running p;
  std::string why;
  if (!p.start(&why)) {
    VSP_SKIP(why);
  }
  REQUIRE(p.get_secret("app-one", "t1").contains("Value"));
  REQUIRE(p.get_secret("app-one", "t2").contains("Value"));

  SECTION("GET /status: login, rules, Vault, engine, counters; no token") {
    const RawResponse r = p.get("/status");
    REQUIRE(r.status == 200);
    const json s = json::parse(r.body);
    CHECK(s["login"]["valid"] == true);
    CHECK(s["login"]["method"] == "token-file");
    CHECK(s["login"]["expires"] == true);
    CHECK(s["login"]["ttl_seconds"].get<long>() > 3000);
    CHECK(s["rules"]["loaded"] == true);
    CHECK(s["rules"]["file"] == p.dir.file("rules.yaml"));
    CHECK(s["rules"]["rules"] == 2);
    CHECK(s["vault"]["reachable"] == true);
    CHECK(s["vault"]["sealed"] == false);
    CHECK(s["docker_engine"]["reachable"] == true);
    CHECK(s["docker_engine"]["manager"] == true);
    CHECK(s["docker_engine"]["endpoint"] == "unix://" + p.engine_socket);
    CHECK(s["ledger"]["path"] == p.dir.file("ledger.db"));
    CHECK(s["ledger"]["rows"]["issued"] == 2);
    CHECK(s["counters"]["requests"]["issued"] == 2);
    CHECK(s["counters"]["credentials_issued"] == 2);
    CHECK(s["process"]["pid"] == p.plugin->pid());
    CHECK_THAT(r.body, !Contains(p.plugin_token()));
    CHECK_THAT(r.body, !Contains("accessor"));
  }
  SECTION("vsp status, human") {
    std::string out, err;
    REQUIRE(vsp_cli({"status", "--socket", p.socket}, p.dir, out, err) == 0);
    CHECK_THAT(out, Contains("vault login:   valid (token-file), expires in"));
    CHECK_THAT(
        out,
        Contains("rules:         2 rules from " + p.dir.file("rules.yaml")));
    CHECK_THAT(out,
               Contains("vault:         reachable at " + p.vault->address));
    CHECK_THAT(out,
               Contains("docker engine: reachable (swarm manager) at unix://" +
                        p.engine_socket));
    CHECK_THAT(
        out,
        Contains("ledger:        " + p.dir.file("ledger.db") + " (2 issued)"));
    CHECK_THAT(out, Contains("requests:      issued 2"));
    CHECK_THAT(out, Contains("credentials:   2 issued, 0 revoked"));
    // Counts agree with their nouns; the CLI's own connection is often
    // the only one ("1 connection").
    std::smatch m;
    REQUIRE(std::regex_search(
        out,
        m,
        std::regex(R"(process: +[0-9.]+ MiB resident, ([0-9]+) (threads?), )"
                   R"(([0-9]+) (connections?)\n)")));
    CHECK((m[1] == "1") == (m[2] == "thread"));
    CHECK((m[3] == "1") == (m[4] == "connection"));
    CHECK(err.empty());
  }
  SECTION("vsp status --format json") {
    std::string out, err;
    REQUIRE(vsp_cli({"status", "--socket", p.socket, "--format", "json"},
                    p.dir,
                    out,
                    err) == 0);
    const json s = json::parse(out);
    CHECK(s["login"]["valid"] == true);
    CHECK(s["counters"]["credentials_issued"] == 2);
  }
  SECTION("a failed reload shows, and the old rules stay") {
    p.dir.write("rules.yaml", "rules: [ broken\n");
    p.plugin->signal(SIGHUP);
    REQUIRE(eventually(
        [&] {
          return json::parse(p.get("/status").body)["rules"].contains(
              "last_reload_error");
        },
        5s));
    std::string out, err;
    CHECK(vsp_cli({"status", "--socket", p.socket}, p.dir, out, err) == 2);
    CHECK_THAT(out, Contains("last reload FAILED, kept these:"));
    CHECK_THAT(err, Contains("the last rules reload failed"));
  }
  SECTION("an Engine API that stops answering is a problem") {
    p.engine.reset();
    std::string out, err;
    CHECK(vsp_cli({"status", "--socket", p.socket}, p.dir, out, err) == 2);
    CHECK_THAT(out, Contains("docker engine: NOT REACHABLE: "));
    CHECK_THAT(err,
               Contains("vsp: error: the plugin reports a problem: the "
                        "Docker Engine API does not answer"));
  }
}

TEST_CASE("`vsp status` exits 2 when the plugin or its Vault is not well",
          "[plugin][binary][cli]") {
  TempDir dir;
  std::string out, err;

  SECTION("no plugin on the socket") {
    CHECK(
        vsp_cli({"status", "--socket", dir.file("none.sock")}, dir, out, err) ==
        2);
    CHECK_THAT(err,
               Contains("vsp: error: cannot call the plugin on " +
                        dir.file("none.sock")));
  }
  SECTION("a plugin whose Vault is down") {
    const std::string socket = dir.file("vsp.sock");
    ChildProcess plugin(
        binary_path("plugin/vsp-plugin"),
        {},
        {"VSP_SOCKET=" + socket,
         "VSP_RULES=" + dir.write("rules.yaml", "rules: []\n"),
         "VSP_TOKEN_FILE=" + dir.write("token", "hvs.not-a-real-token"),
         "VSP_LEDGER=" + dir.file("ledger.db"),
         "VAULT_ADDR=http://127.0.0.1:9"},
        dir.path());
    REQUIRE(eventually(
        [&] { return UnixHttpClient::connect_errno(socket) == 0; }, 5s));
    CHECK(vsp_cli({"status", "--socket", socket, "--timeout", "20"},
                  dir,
                  out,
                  err) == 2);
    CHECK_THAT(out, Contains("vault login:   NOT VALID"));
    CHECK_THAT(out,
               Contains("vault:         NOT REACHABLE at http://127.0.0.1:9"));
    CHECK_THAT(err,
               Contains("vsp: error: the plugin reports a problem: its Vault "
                        "login is not valid; Vault does not answer"));
    CHECK_THAT(out + err, !Contains("not-a-real-token"));
  }
}
