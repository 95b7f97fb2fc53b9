// Black-box tests of the vsp-plugin binary: start-up refusals, the socket
// coming before Vault, bad input over the socket, signals.
#include "tests/support/child_process.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/scripted_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/unix_http_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <thread>

using namespace vsp;
using namespace vsp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const char* k_rules = R"(rules:
  - name: app
    match: {secret: "app-*"}
    token_role: vsp-task
    allowed_policies: [app-read]
)";

struct Plugin {
  TempDir dir;
  std::string socket = dir.file("vsp.sock");
  std::unique_ptr<ChildProcess> process;

  void start(std::vector<std::string> extra_env = {},
             const std::string& rules = k_rules) {
    std::vector<std::string> env{
        "VSP_SOCKET=" + socket,
        "VSP_RULES=" + dir.write("rules.yaml", rules),
        "VSP_TOKEN_FILE=" + dir.write("token", "hvs.not-a-real-token"),
        // Nothing listens on the discard port: Vault is unreachable.
        "VAULT_ADDR=http://127.0.0.1:9",
        "VSP_DEADLINE=2s",
        "VSP_LEDGER=" + dir.file("ledger.db"),
    };
    // Earlier entries win in getenv(3): a test's settings go first.
    env.insert(env.begin(), extra_env.begin(), extra_env.end());
    process = std::make_unique<ChildProcess>(binary_path("plugin/vsp-plugin"),
                                             std::vector<std::string>{},
                                             env,
                                             dir.path());
  }

  bool listening() {
    return eventually(
        [&] { return UnixHttpClient::connect_errno(socket) == 0; }, 5s);
  }

  RawResponse call(std::string_view path, std::string_view body) {
    auto client = UnixHttpClient::connect(socket);
    REQUIRE(client.ok());
    auto r = client->round_trip(docker_request(path, body), 10s);
    REQUIRE(r.ok());
    return *r;
  }

  std::string err_of(std::string_view body) {
    auto r = call("/SecretProvider.GetSecret", body);
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("Err", "") : "";
  }
};

} // namespace

TEST_CASE("vsp-plugin refuses to start on bad settings", "[plugin][binary]") {
  Plugin p;
  SECTION("an invalid rules file, with its position") {
    p.start({},
            "rules:\n  - name: x\n    kind: magic\n    "
            "allowed_policies: [a]\n");
    REQUIRE(p.process->wait(10s) == 1);
    CHECK_THAT(p.process->err(),
               Catch::Contains("refusing to start: ") &&
                   Catch::Contains("rules.yaml:3:11: unknown kind \"magic\""));
  }
  SECTION("VAULT_TOKEN in the environment") {
    p.start({"VAULT_TOKEN=hvs.visible-in-docker-plugin-inspect"});
    REQUIRE(p.process->wait(10s) == 1);
    CHECK_THAT(p.process->err(),
               Catch::Contains("VAULT_TOKEN is set, but the plugin takes its "
                               "Vault login only from files"));
    CHECK_THAT(p.process->err(),
               !Catch::Contains("visible-in-docker-plugin-inspect"));
  }
  SECTION("a malformed deadline") {
    p.start({"VSP_DEADLINE=soon"});
    REQUIRE(p.process->wait(10s) == 1);
    CHECK_THAT(p.process->err(),
               Catch::Contains("VSP_DEADLINE=\"soon\": expected a duration"));
  }
  SECTION("a socket others may use") {
    p.start({"VSP_SOCKET_MODE=0666"});
    REQUIRE(p.process->wait(10s) == 1);
    CHECK_THAT(p.process->err(),
               Catch::Contains("VSP_SOCKET_MODE=\"0666\": others may not use "
                               "the socket"));
  }
}

TEST_CASE("vsp-plugin takes no arguments but --help and --version",
          "[plugin][binary]") {
  const std::string plugin = binary_path("plugin/vsp-plugin");
  const std::vector<std::string> env{"PATH=/usr/bin:/bin"};
  auto help = run_command(plugin, {"--help"}, env);
  CHECK(help.status == 0);
  CHECK_THAT(help.out, Catch::Contains("see vsp-plugin(8)"));
  auto version = run_command(plugin, {"--version"}, env);
  CHECK(version.status == 0);
  CHECK_THAT(version.out, Catch::StartsWith("vsp-plugin "));
  auto other = run_command(plugin, {"--socket", "/tmp/x.sock"}, env);
  CHECK(other.status == 1);
  CHECK_THAT(other.err, Catch::Contains("usage: vsp-plugin (no arguments)"));
}

TEST_CASE("vsp-plugin listens before it reaches Vault", "[plugin][binary]") {
  Plugin p;
  p.start();
  REQUIRE(p.listening());
  struct stat st {};
  REQUIRE(::stat(p.socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);

  auto activate = p.call("/Plugin.Activate", "");
  CHECK(activate.status == 200);
  CHECK(json::parse(activate.body)["Implements"] ==
        json::array({"secretprovider"}));

  SECTION("and answers within its deadline while Vault is unreachable") {
    const auto start = std::chrono::steady_clock::now();
    const auto err = p.err_of(R"({"SecretName":"app-x","TaskID":"t1"})");
    CHECK(std::chrono::steady_clock::now() - start < 2s + 1500ms);
    CHECK_THAT(err,
               Catch::StartsWith("vsp: cannot issue secret \"app-x\" for "
                                 "task t1:"));
  }
}

TEST_CASE("vsp-plugin answers bad input with an Err and keeps serving",
          "[plugin][binary]") {
  Plugin p;
  p.start();
  REQUIRE(p.listening());

  CHECK(p.err_of("") == "vsp: empty request body (expected a JSON object)");
  CHECK(p.err_of("{\"SecretName\"") == "vsp: request body is not valid JSON");
  CHECK(p.err_of("{\"TaskID\":\"t\"}\n") == "vsp: missing SecretName");
  CHECK(p.err_of(std::string(1024 * 1024 + 1, '{')) ==
        "vsp: request body is larger than 1048576 bytes");
  CHECK(p.err_of(R"({"SecretName":"db","ServiceName":"web"})") ==
        "vsp: no rule matches secret \"db\" of service \"web\" (rule \"app\": "
        "secret name \"db\" does not match \"app-*\")");
  CHECK(
      p.err_of(
          R"({"SecretName":"app-x","SecretLabels":{"vsp.policies":"root"}})") ==
      "vsp: secret \"app-x\" refused: rule \"app\" does not allow policy "
      "\"root\" (allowed: app-read)");

  auto unknown = p.call("/NetworkDriver.CreateNetwork", "{}");
  CHECK(unknown.status == 404);
  CHECK(p.process->running());
  CHECK(p.call("/Plugin.Activate", "").status == 200);

  SECTION("refusals by the rules are warnings, failures after them errors") {
    (void)p.err_of(R"({"SecretName":"db","TaskID":"task-41"})");
    (void)p.err_of(R"({"SecretName":"app-db","TaskID":"task-43"})");
    CHECK(eventually(
        [&] {
          const std::string err = p.process->err();
          return err.find(" warn plugin: refused task=task-41 ") !=
                     std::string::npos &&
                 err.find(" error plugin: refused task=task-43 ") !=
                     std::string::npos;
        },
        10s));
  }
  SECTION("each refusal is logged with the task and the reason") {
    (void)p.err_of(R"({"SecretName":"db","TaskID":"task-42"})");
    CHECK(eventually(
        [&] {
          return p.process->err().find("refused task=task-42 secret=db "
                                       "kind=denied reason=\"no rule "
                                       "matches") != std::string::npos;
        },
        5s));
  }
}

TEST_CASE("vsp-plugin reloads rules on SIGHUP and keeps them if invalid",
          "[plugin][binary]") {
  Plugin p;
  p.start();
  REQUIRE(p.listening());
  const std::string request = R"({"SecretName":"db-x","TaskID":"t"})";
  CHECK_THAT(p.err_of(request), Catch::StartsWith("vsp: no rule matches"));

  p.dir.write("rules.yaml", "rules: [ broken\n");
  p.process->signal(SIGHUP);
  CHECK(eventually(
      [&] {
        return p.process->err().find("rules not reloaded, keeping the current "
                                     "ones") != std::string::npos;
      },
      5s));
  CHECK_THAT(p.err_of(request), Catch::StartsWith("vsp: no rule matches"));

  p.dir.write("rules.yaml",
              "rules:\n  - name: db\n    match: {secret: \"db-*\"}\n"
              "    allowed_policies: [db]\n");
  p.process->signal(SIGHUP);
  CHECK(eventually(
      [&] {
        return p.err_of(request).find("no rule matches") == std::string::npos;
      },
      5s));
}

TEST_CASE("vsp-plugin stops cleanly on SIGTERM", "[plugin][binary]") {
  Plugin p;
  p.start();
  REQUIRE(p.listening());
  p.process->signal(SIGTERM);
  REQUIRE(p.process->wait(10s) == 0);
  struct stat st {};
  CHECK(::stat(p.socket.c_str(), &st) != 0);
  CHECK_THAT(p.process->out(), Catch::Contains("main: stopped"));
}

TEST_CASE("vsp-plugin stops at once even when Vault never answers",
          "[plugin][binary]") {
  // A Vault that accepts and stays silent: the login and the task
  // watcher's settling wait on it with budgets of up to two minutes.
  ScriptedServer vault(
      [](const SeenRequest&) { return Reply::act(Reply::Action::hang); });
  Plugin p;
  p.start({"VAULT_ADDR=" + vault.address()});
  REQUIRE(p.listening());
  std::this_thread::sleep_for(300ms); // the login is under way
  const auto t = std::chrono::steady_clock::now();
  p.process->signal(SIGTERM);
  REQUIRE(p.process->wait(30s) == 0);
  // libcurl notices a cancel within about a second; the rest is margin.
  CHECK(std::chrono::steady_clock::now() - t < 5s);
  CHECK_THAT(p.process->out(), Catch::Contains("main: stopped"));
}

TEST_CASE("vsp-plugin stops at once even when the Docker socket hangs",
          "[plugin][binary]") {
  // A Docker socket that accepts and stays silent: the task watcher's
  // listing waits on it for up to its call budget (10 s).
  TempDir engine_dir;
  const std::string engine_socket = engine_dir.file("docker.sock");
  ScriptedServer engine(
      [](const SeenRequest&) { return Reply::act(Reply::Action::hang); },
      engine_socket);
  Plugin p;
  p.start({"VSP_DOCKER_SOCKET=" + engine_socket, "VSP_POLL_INTERVAL=100ms"});
  REQUIRE(p.listening());
  // Past the 3 s start-up check, into the watcher's first listing.
  REQUIRE(eventually([&] { return engine.requests() >= 2; }, 10s));
  const auto t = std::chrono::steady_clock::now();
  p.process->signal(SIGTERM);
  REQUIRE(p.process->wait(30s) == 0);
  // libcurl notices a cancel within about a second; the rest is margin.
  CHECK(std::chrono::steady_clock::now() - t < 5s);
  CHECK_THAT(p.process->out(), Catch::Contains("main: stopped"));
}

TEST_CASE("vsp-plugin keeps its rules when a reload meets a FIFO or a device",
          "[plugin][binary]") {
  Plugin p;
  p.start();
  REQUIRE(p.listening());
  const std::string rules = p.dir.file("rules.yaml");
  // Refused by the rule "app" itself: only loaded rules give this Err.
  const std::string request =
      R"({"SecretName":"app-db","TaskID":"t-1","ServiceName":"web",)"
      R"("SecretLabels":{"vsp.policies":"admin"}})";
  const std::string before = p.err_of(request);
  REQUIRE_THAT(before, Catch::Contains("rule \"app\" does not allow"));

  SECTION("a FIFO, which would block the reload and with it SIGTERM") {
    REQUIRE(::unlink(rules.c_str()) == 0);
    REQUIRE(::mkfifo(rules.c_str(), 0600) == 0);
  }
  SECTION("/dev/zero, which would be read without end") {
    REQUIRE(::unlink(rules.c_str()) == 0);
    REQUIRE(::symlink("/dev/zero", rules.c_str()) == 0);
  }
  p.process->signal(SIGHUP);
  CHECK(eventually(
      [&] { return p.process->err().find("not a file") != std::string::npos; },
      5s));
  // The old rules still decide.
  CHECK(p.err_of(request) == before);
  p.process->signal(SIGTERM);
  CHECK(p.process->wait(10s) == 0);
}

TEST_CASE("vsp-plugin keeps its rules when a reload meets a file that is "
          "not UTF-8",
          "[plugin][binary]") {
  Plugin p;
  p.start();
  REQUIRE(p.listening());
  const std::string request =
      R"({"SecretName":"app-db","TaskID":"t-1","ServiceName":"web",)"
      R"("SecretLabels":{"vsp.policies":"admin"}})";
  const std::string before = p.err_of(request);
  REQUIRE_THAT(before, Catch::Contains("rule \"app\" does not allow"));

  // A Latin-1 byte in a literal folded through `json` once made the JSON
  // library throw out of the reload.
  p.dir.write("rules.yaml",
              "rules:\n  - name: app\n    match: {secret: \"app-*\"}\n"
              "    kind: kv\n    allowed_policies: [p]\n"
              "    path_prefix: secret/\n"
              "    template: '{{ \"caf\xe9\" | json }}'\n");
  p.process->signal(SIGHUP);
  CHECK(eventually(
      [&] {
        return p.process->err().find(":7:23: not UTF-8 text (byte 0xE9)") !=
               std::string::npos;
      },
      5s));
  CHECK(p.err_of(request) == before);
  p.process->signal(SIGTERM);
  CHECK(p.process->wait(10s) == 0);
}

TEST_CASE("vsp-plugin warns about settings it ignores and open token files",
          "[plugin][binary]") {
  Plugin p;
  const std::string token = p.dir.write("open-token", "hvs.not-a-real-token");
  REQUIRE(::chmod(token.c_str(), 0644) == 0);
  p.start({"VSP_RULESS=/etc/vsp/other.yaml", "VSP_TOKEN_FILE=" + token});
  REQUIRE(p.listening());
  p.process->signal(SIGTERM);
  REQUIRE(p.process->wait(10s) == 0);
  CHECK_THAT(p.process->err(),
             Catch::Contains("warn main: unknown setting VSP_RULESS is "
                             "ignored (did you mean VSP_RULES?)") &&
                 Catch::Contains("warn main: VSP_TOKEN_FILE " + token +
                                 " can be read by any user (mode 0644)"));
}
