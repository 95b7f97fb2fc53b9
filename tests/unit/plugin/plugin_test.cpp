#include "plugin/plugin.hpp"

#include "core/docker/protocol.hpp"
#include "core/util/base64.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/vault_emulator.hpp"
#include "tests/support/vault_setup.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace vsp;
using namespace vsp::plugin;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The plugin's request path in-process: real rules, real Vault client,
// against the emulator (or a real Vault, see vault_target()).
struct Fixture {
  test::TempDir dir;
  std::unique_ptr<test::VaultTarget> target;
  test::TokenRoleSetup setup;
  std::unique_ptr<vault::Client> client;
  std::unique_ptr<vault::Auth> login;
  std::unique_ptr<Plugin> plugin;

  bool start(std::string* why) {
    target = test::vault_target(why);
    if (!target) {
      return false;
    }
    setup = test::setup_token_role(*target, dir);
    vault::Config vc;
    vc.address = target->address;
    client = std::make_unique<vault::Client>(vc);
    login = vault::Auth::from_token_file(*client, setup.plugin_token_file);
    Config config;
    config.rules_path = dir.write("rules.yaml", test::rules_for(setup));
    config.deadline = 3s;
    auto rules = rules::RuleSet::load_file(config.rules_path);
    REQUIRE(rules.ok());
    plugin = std::make_unique<Plugin>(
        config, std::move(rules).value(), *client, *login);
    return true;
  }

  json get_secret(const std::string& body) {
    auto r = plugin->handle({"POST", "/SecretProvider.GetSecret", body});
    CHECK(r.status == 200);
    return json::parse(r.body);
  }

  SecretString root() const { return SecretString(target->token); }
};

std::string captured_request() {
  return test::read_file(
      test::source_path("tests/data/docker-requests/default-service.json"));
}

std::string request_for(const std::string& secret,
                        const std::string& task,
                        const json& labels = json::object()) {
  json r{{"SecretName", secret},
         {"ServiceName", "web"},
         {"ServiceID", "svc1"},
         {"TaskID", task},
         {"TaskName", "web.1." + task},
         {"NodeID", "node1"}};
  if (!labels.empty()) {
    r["SecretLabels"] = labels;
  }
  return r.dump() + "\n";
}

SecretString value_of(const json& answer) {
  REQUIRE(answer.contains("Value"));
  return SecretString(*base64::decode(answer["Value"].get<std::string>()));
}

} // namespace

TEST_CASE("Plugin::handle answers Activate and unknown paths", "[plugin]") {
  test::TempDir dir;
  vault::Config vc;
  vc.address = "http://127.0.0.1:9";
  vault::Client client(vc);
  auto login = vault::Auth::from_token_file(client, dir.file("none"));
  auto rules = rules::RuleSet::load_text("rules: []\n", "r.yaml");
  Plugin plugin({}, std::move(rules).value(), client, *login);

  auto activate = plugin.handle({"POST", "/Plugin.Activate", ""});
  CHECK(activate.status == 200);
  CHECK(json::parse(activate.body) ==
        json::parse(R"({"Implements":["secretprovider"]})"));

  auto unknown = plugin.handle({"POST", "/VolumeDriver.Mount", "{}"});
  CHECK(unknown.status == 404);
  CHECK(json::parse(unknown.body)["Err"] ==
        "vsp: unknown endpoint /VolumeDriver.Mount (this plugin implements "
        "/Plugin.Activate and /SecretProvider.GetSecret)");

  // GetSecret mints: only Docker's POST is answered.
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    INFO(method);
    auto other = plugin.handle(
        {method, "/SecretProvider.GetSecret", request_for("x", "t1")});
    CHECK(other.status == 405);
    CHECK(json::parse(other.body)["Err"] ==
          fmt::format("vsp: /SecretProvider.GetSecret takes POST, not {}",
                      method));
  }
}

TEST_CASE("Plugin::handle refuses bad requests with a specific Err",
          "[plugin]") {
  test::TempDir dir;
  vault::Config vc;
  vc.address = "http://127.0.0.1:9";
  vault::Client client(vc);
  auto login = vault::Auth::from_token_file(client, dir.file("none"));
  auto rules = rules::RuleSet::load_text("rules: []\n", "r.yaml");
  Plugin plugin({}, std::move(rules).value(), client, *login);

  const std::pair<HttpRequest, std::string> cases[] = {
      {{"POST", "/SecretProvider.GetSecret", ""},
       "vsp: empty request body (expected a JSON object)"},
      {{"POST", "/SecretProvider.GetSecret", "{\"Secret"},
       "vsp: request body is not valid JSON"},
      {{"POST", "/SecretProvider.GetSecret", "{}\n"},
       "vsp: missing SecretName"},
      {{"POST", "/SecretProvider.GetSecret", "", true},
       "vsp: request body is larger than 1048576 bytes"},
      {{"POST", "/SecretProvider.GetSecret", request_for("x", "t1")},
       "vsp: no rule matches secret \"x\" of service \"web\""},
  };
  for (const auto& [request, err] : cases) {
    INFO(request.body);
    auto r = plugin.handle(request);
    CHECK(r.status == 200);
    CHECK(json::parse(r.body) == json{{"Err", err}});
  }
}

TEST_CASE("Plugin::handle issues a wrapped per-task token",
          "[plugin][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }

  const json answer = f.get_secret(captured_request());
  REQUIRE_FALSE(answer.contains("Err"));
  CHECK(answer["DoNotReuse"] == true);
  const SecretString wrapping = value_of(answer);

  SECTION("the wrapping token was made by the role's create path") {
    auto lookup = f.client->lookup_wrapping(wrapping, Deadline::after(5s));
    REQUIRE(lookup.ok());
    CHECK(lookup->creation_path == "auth/token/create/" + f.setup.role);
    CHECK(lookup->creation_ttl == 5min);
  }
  SECTION("it unwraps once to an orphan token naming the task") {
    auto inner = f.client->unwrap(wrapping, Deadline::after(5s));
    REQUIRE(inner.ok());
    auto auth = vault::parse_token_auth(*inner, "sys/wrapping/unwrap");
    REQUIRE(auth.ok());
    CHECK(auth->orphan);
    CHECK(auth->policies ==
          std::vector<std::string>{f.setup.read_policy, "default"});
    CHECK(auth->metadata.at("vsp_task_id") == "1vdgm0ucpc8t2safefl3x93kh");
    CHECK(auth->metadata.at("vsp_service_name") == "t");
    CHECK(auth->metadata.at("vsp_secret") == "mysecret");
    CHECK(auth->metadata.at("vsp_rule") == "captured");
    CHECK(auth->metadata.at("vsp_node_id") == "bmp56nw8m4rmb0vrp6pqz4atj");
    CHECK(auth->metadata.at("vsp_issuance_id").size() == 32);

    auto again = f.client->unwrap(wrapping, Deadline::after(5s));
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == vault::errc::wrapping_token_invalid);
  }
}

TEST_CASE("Plugin::handle keeps repeated requests for one task idempotent",
          "[plugin][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  // Warm the plugin's login so the counts below are the task's alone.
  (void)f.get_secret(request_for("app-db", "warm-up"));
  const auto count = [&] {
    return f.target->real() ? -1 : f.target->emulator->request_count();
  };
  const long start = count();
  const auto first = value_of(f.get_secret(request_for("app-db", "task-a")));
  const long before = count();
  if (!f.target->real()) {
    // One round trip per wrapped token: create with the wrap header.
    CHECK(before - start == 1);
  }
  const auto repeat = value_of(f.get_secret(request_for("app-db", "task-a")));
  CHECK(repeat == first);
  if (!f.target->real()) {
    CHECK(f.target->emulator->request_count() == before);
  }
  const auto other = value_of(f.get_secret(request_for("app-db", "task-b")));
  CHECK_FALSE(other == first);
}

TEST_CASE("Plugin::handle lets labels narrow within the rule",
          "[plugin][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  SECTION("a subset of the allowed policies") {
    const auto answer = f.get_secret(
        request_for("app-db", "t1", {{"vsp.policies", f.setup.write_policy}}));
    auto inner = f.client->unwrap(value_of(answer), Deadline::after(5s));
    REQUIRE(inner.ok());
    auto auth = vault::parse_token_auth(*inner, "sys/wrapping/unwrap");
    REQUIRE(auth.ok());
    CHECK(auth->policies ==
          std::vector<std::string>{f.setup.write_policy, "default"});
  }
  SECTION("a policy beyond the rule is refused before Vault is asked") {
    const auto answer =
        f.get_secret(request_for("app-db", "t2", {{"vsp.policies", "admin"}}));
    CHECK(answer["Err"] ==
          "vsp: secret \"app-db\" of service \"web\" refused: rule \"app\" "
          "does not allow policy \"admin\" (allowed: " +
              f.setup.read_policy + ", " + f.setup.write_policy + ")");
  }
  SECTION("an explicit wrap TTL is kept exactly (hashicorp/vault#13532)") {
    const auto answer =
        f.get_secret(request_for("app-db", "t3", {{"vsp.wrap-ttl", "30s"}}));
    auto lookup =
        f.client->lookup_wrapping(value_of(answer), Deadline::after(5s));
    REQUIRE(lookup.ok());
    CHECK(lookup->creation_ttl == 30s);
  }
}

TEST_CASE("Plugin::handle turns Vault failures into a specific Err",
          "[plugin][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  if (f.target->real()) {
    VSP_SKIP("fault injection needs the emulator");
  }
  const auto& emu = *f.target->emulator;

  SECTION("Vault answers 500") {
    REQUIRE(emu.faults({{"error", {{"status", 500}, {"count", 10}}}}));
    const auto answer = f.get_secret(request_for("app-db", "t500"));
    CHECK_THAT(answer["Err"].get<std::string>(),
               Catch::StartsWith("vsp: cannot issue secret \"app-db\" for task "
                                 "t500: vault:"));
  }
  SECTION("Vault refuses the plugin's token (403)") {
    // The role grants nothing to a token without the plugin policy.
    f.setup.plugin_token_file = f.dir.write("plugin-token", "hvs.bogus");
    f.login->invalidate(SecretString("none"));
    f.login =
        vault::Auth::from_token_file(*f.client, f.setup.plugin_token_file);
    Config config;
    config.rules_path = f.dir.file("rules.yaml");
    auto rules = rules::RuleSet::load_file(config.rules_path);
    Plugin plugin(config, std::move(rules).value(), *f.client, *f.login);
    auto r = plugin.handle(
        {"POST", "/SecretProvider.GetSecret", request_for("app-db", "t403")});
    const auto err = json::parse(r.body)["Err"].get<std::string>();
    CHECK_THAT(err, Catch::Contains("is invalid or expired"));
  }
  SECTION("Vault hangs past the deadline") {
    REQUIRE(emu.faults({{"hang", json::object()}}));
    const auto start = std::chrono::steady_clock::now();
    const auto answer = f.get_secret(request_for("app-db", "thang"));
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(emu.reset_faults());
    CHECK_THAT(answer["Err"].get<std::string>(),
               Catch::Contains("no answer within the 3000ms deadline"));
    CHECK(took < 3s + 1500ms); // the plugin's own deadline, with margin
  }
}

TEST_CASE("Plugin::handle answers within the deadline when Vault is down",
          "[plugin]") {
  test::TempDir dir;
  vault::Config vc;
  vc.address = "http://127.0.0.1:9"; // discard port: nothing listens
  vault::Client client(vc);
  auto login =
      vault::Auth::from_token_file(client, dir.write("token", "hvs.x"));
  Config config;
  config.deadline = 2s;
  auto rules = rules::RuleSet::load_text(
      "rules:\n  - name: all\n    allowed_policies: [p]\n", "r.yaml");
  Plugin plugin(config, std::move(rules).value(), client, *login);
  auto r = plugin.handle(
      {"POST", "/SecretProvider.GetSecret", request_for("s", "t")});
  const auto err = json::parse(r.body)["Err"].get<std::string>();
  CHECK_THAT(err,
             Catch::StartsWith("vsp: cannot issue secret \"s\" for task t:"));
  CHECK_THAT(err,
             Catch::Contains("unreachable") || Catch::Contains("connect") ||
                 Catch::Contains("deadline"));
}
