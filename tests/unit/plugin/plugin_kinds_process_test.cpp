// Black-box tests of the vsp-plugin binary with rules of every kind: an
// invalid kv or dynamic rule stops it from starting, and a reload with one
// keeps the rules it has and says why, with the position.
#include "tests/support/child_process.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/unix_http_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>

using namespace vsp;
using namespace vsp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const char* k_good = R"(rules:
  - name: kv
    match: {secret: "kv-*"}
    kind: kv
    token_role: vsp-task
    allowed_policies: [kv-read]
    path_prefix: secret/app/
)";

// Two problems a loader must find in one pass: a label placeholder in the
// prefix, and a bad template filter inside a block.
const char* k_bad = R"(rules:
  - name: kv
    match: {secret: "kv-*"}
    kind: kv
    token_role: vsp-task
    allowed_policies: [kv-read]
    path_prefix: "secret/{label:team}/"
    template: |
      USER={{ user }}
      PASS={{ password | upper }}
)";

struct Plugin {
  TempDir dir;
  std::string socket = dir.file("vsp.sock");
  std::unique_ptr<ChildProcess> process;

  void start(const std::string& rules) {
    process = std::make_unique<ChildProcess>(
        binary_path("plugin/vsp-plugin"),
        std::vector<std::string>{},
        std::vector<std::string>{"VSP_SOCKET=" + socket,
                                 "VSP_RULES=" + dir.write("rules.yaml", rules),
                                 "VSP_TOKEN_FILE=" +
                                     dir.write("token", "hvs.not-a-real-token"),
                                 "VAULT_ADDR=http://127.0.0.1:9",
                                 "VSP_DEADLINE=1s",
                                 "VSP_LEDGER=" + dir.file("ledger.db")},
        dir.path());
  }

  std::string err_of(std::string_view body) {
    auto client = UnixHttpClient::connect(socket);
    REQUIRE(client.ok());
    auto r = client->round_trip(
        docker_request("/SecretProvider.GetSecret", body), 10s);
    REQUIRE(r.ok());
    return json::parse(r->body).value("Err", "");
  }
};

} // namespace

TEST_CASE("vsp-plugin refuses to start with an invalid kv rule",
          "[plugin][binary]") {
  Plugin p;
  p.start(k_bad);
  REQUIRE(p.process->wait(10s) == 1);
  const std::string file = p.dir.file("rules.yaml");
  CHECK_THAT(p.process->err(),
             Catch::Contains("refusing to start: " + file +
                             ":7:18: path_prefix may not use {label:...}"));
  CHECK_THAT(p.process->err(),
             Catch::Contains(file + ":10:26: template: unknown filter "
                                    "\"upper\""));
}

TEST_CASE("vsp-plugin keeps its rules when a reload finds a bad kv rule",
          "[plugin][binary]") {
  Plugin p;
  p.start(k_good);
  REQUIRE(eventually(
      [&] { return UnixHttpClient::connect_errno(p.socket) == 0; }, 5s));
  const std::string request = R"({"SecretName":"kv-db","TaskID":"t1"})";
  const std::string before = p.err_of(request);
  CHECK_THAT(before,
             Catch::StartsWith("vsp: cannot issue secret \"kv-db\" for task "
                               "t1:"));

  p.dir.write("rules.yaml", k_bad);
  p.process->signal(SIGHUP);
  const std::string file = p.dir.file("rules.yaml");
  CHECK(eventually(
      [&] {
        const auto err = p.process->err();
        return err.find(
                   "rules not reloaded, keeping the current ones: " + file +
                   ":7:18: path_prefix may not use") != std::string::npos &&
               err.find(file + ":10:26: template: unknown filter") !=
                   std::string::npos;
      },
      5s));
  // Still the old rules: the kv rule matches and Vault is what fails.
  CHECK_THAT(p.err_of(R"({"SecretName":"kv-db","TaskID":"t2"})"),
             Catch::StartsWith("vsp: cannot issue secret \"kv-db\" for task "
                               "t2:"));
  CHECK(p.process->running());
}
