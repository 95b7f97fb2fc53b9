// `vsp rules explain` and `vsp simulate --dry-run` must say what the
// plugin actually does. For a set of requests this runs the real binaries:
// both CLI commands, and the vsp-plugin binary (over its socket, as Docker
// calls it) against the emulator, then checks they agree on the outcome,
// the refusal text, DoNotReuse, and (by looking at the value) the kind,
// path and policies.
#include "tests/support/child_process.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/unix_http_client.hpp"
#include "tests/support/vault_emulator.hpp"
#include "tests/support/vault_setup.hpp"

#include "core/util/secret_string.hpp"
#include "core/vault/client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace vsp;
using namespace vsp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct Case {
  std::string name;
  json request;
};

std::vector<Case> cases() {
  const auto r = [](std::string secret,
                    std::string task,
                    json labels = json::object(),
                    std::string service = "web") {
    json out{{"SecretName", secret},
             {"ServiceName", service},
             {"ServiceID", "svc-" + service},
             {"TaskID", task},
             {"TaskName", service + ".1." + task},
             {"NodeID", "node1"}};
    if (!labels.empty()) {
      out["SecretLabels"] = labels;
    }
    return out;
  };
  return {
      {"kv field", r("kv-db", "t1")},
      {"kv field by label", r("kv-db", "t2", {{"vsp.field", "user"}})},
      {"kv version by label",
       r("kv-db", "t3", {{"vsp.version", "1"}, {"vsp.field", "user"}})},
      {"kv json by label", r("kv-db", "t4", {{"vsp.format", "json"}})},
      {"kv path label refused", r("kv-db", "t5", {{"vsp.path", "../x"}})},
      {"kv reuse=false", r("kv-db", "t6", {{"vsp.reuse", "false"}})},
      {"kv v1 with metadata", r("legacy-db", "t7")},
      {"database", r("db-main", "t8")},
      {"database reuse refused", r("db-main", "t9", {{"vsp.reuse", "true"}})},
      {"pki", r("cert-tls", "t10", json::object(), "api")},
      {"pki common name by label",
       r("cert-tls", "t11", {{"vsp.param.common-name", "www.example.test"}})},
      {"pki common name refused",
       r("cert-tls", "t12", {{"vsp.param.common-name", "evil.example.com"}})},
      {"wrapped token", r("tok-a", "t13")},
      {"wrapped token, short wrap",
       r("tok-a", "t14", {{"vsp.wrap-ttl", "1m"}})},
      {"token policy refused", r("tok-a", "t15", {{"vsp.policies", "root"}})},
      {"unknown label refused", r("tok-a", "t16", {{"vsp.polices", "x"}})},
      {"no rule", r("nothing", "t17")},
      {"captured request",
       json::parse(read_file(
           source_path("tests/data/docker-requests/default-service.json")))},
  };
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<VaultTarget> target;
  KindsSetup setup;
  std::string rules;
  std::string socket = dir.file("vsp.sock");
  std::unique_ptr<ChildProcess> plugin;
  std::unique_ptr<vault::Client> client;

  bool start(std::string* why) {
    target = vault_target(why);
    if (!target) {
      return false;
    }
    if (target->real()) {
      *why = "needs the emulator's database and PKI engines";
      return false;
    }
    setup = setup_kinds(*target, dir);
    write_kv(*target, setup.kv2, 2, "app/kv-db", {{"user", "old"}});
    write_kv(*target,
             setup.kv2,
             2,
             "app/kv-db",
             {{"user", "app"}, {"password", "s3cret"}});
    write_kv(*target, setup.kv1, 1, "app/legacy-db", {{"user", "legacy"}});
    rules = dir.write("rules.yaml", kinds_rules(setup));
    plugin = std::make_unique<ChildProcess>(
        binary_path("plugin/vsp-plugin"),
        std::vector<std::string>{},
        std::vector<std::string>{"VSP_SOCKET=" + socket,
                                 "VSP_RULES=" + rules,
                                 "VSP_TOKEN_FILE=" + setup.plugin_token_file,
                                 "VAULT_ADDR=" + target->address,
                                 "VSP_DEADLINE=5s",
                                 "VSP_LEDGER=" + dir.file("ledger.db")},
        dir.path());
    vault::Config vc;
    vc.address = target->address;
    client = std::make_unique<vault::Client>(vc);
    return eventually(
        [&] { return UnixHttpClient::connect_errno(socket) == 0; }, 10s);
  }

  json vsp(std::vector<std::string> args, const std::string& request_file) {
    args.insert(args.end(), {"--format", "json", "--request", request_file});
    const Ran r = run_vsp(args, {"PATH=/usr/bin:/bin"});
    INFO(r.err);
    CHECK((r.status == 0 || r.status == 3));
    return json::parse(r.out);
  }

  // What the value the plugin gave shows of the decision behind it.
  void check_value(const json& decision, const std::string& value) {
    const std::string kind = decision.at("kind");
    if (decision.at("wrapped") == true) {
      auto lookup =
          client->lookup_wrapping(SecretString(value), Deadline::after(5s));
      REQUIRE(lookup.ok());
      const std::string path =
          kind == "wrapped-token"
              ? "auth/token/create/" +
                    decision.at("token_role").get<std::string>()
              : decision.at("path").get<std::string>();
      CHECK(lookup->creation_path == path);
      CHECK(lookup->creation_ttl.count() == decision.at("wrap_ttl"));
      auto inner = client->unwrap(SecretString(value), Deadline::after(5s));
      REQUIRE(inner.ok());
      if (kind == "wrapped-token") {
        auto auth = vault::parse_token_auth(*inner, "sys/wrapping/unwrap");
        REQUIRE(auth.ok());
        auto want = decision.at("policies").get<std::vector<std::string>>();
        want.push_back("default");
        std::sort(want.begin(), want.end());
        auto got = auth->policies;
        std::sort(got.begin(), got.end());
        CHECK(got == want);
      }
      return;
    }
    if (kind == "kv") {
      const std::string format = decision.at("format");
      if (format == "json") {
        const json v = json::parse(value);
        if (decision.value("include_metadata", false)) {
          CHECK(v.at("metadata").at("path") == decision.at("path"));
        } else {
          CHECK(v.contains(decision.at("path") == setup.kv2 + "app/kv-db"
                               ? "password"
                               : "user"));
        }
      } else {
        const std::string field = decision.at("field");
        const int version = decision.at("version").is_null()
                                ? 0
                                : decision.at("version").get<int>();
        CHECK(value == (field == "password" ? "s3cret"
                        : version == 1      ? "old"
                                            : "app"));
      }
      return;
    }
    // dynamic: a database pair, or a certificate bundle with its lease
    if (decision.at("path").get<std::string>().rfind(setup.db, 0) == 0) {
      CHECK(value.rfind("v-", 0) == 0);
      CHECK(value.find(':') != std::string::npos);
    } else {
      const json v = json::parse(value);
      CHECK(v.at("metadata").at("path") == decision.at("path"));
      CHECK(v.at("data").contains("certificate"));
    }
  }
};

} // namespace

TEST_CASE("vsp rules explain and simulate --dry-run agree with the plugin",
          "[cli][binary][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  REQUIRE(f.plugin->running());

  int allowed = 0;
  int refused = 0;
  for (const auto& c : cases()) {
    INFO("case: " << c.name);
    const std::string file = f.dir.write("request.json", c.request.dump());

    const json explain = f.vsp({"rules", "explain", "--rules", f.rules}, file);
    const json dry = f.vsp({"simulate", "--dry-run", "--rules", f.rules}, file);
    const json real =
        f.vsp({"simulate", "--socket", f.socket, "--show-value"}, file);

    // The two CLI views agree with each other...
    CHECK(dry.at("allowed") == explain.at("allowed"));
    CHECK(dry.at("decision") == explain.at("decision"));
    // ...and with the plugin.
    REQUIRE(real.at("ok") == explain.at("allowed"));
    if (explain.at("allowed") == true) {
      ++allowed;
      const json& decision = explain.at("decision");
      CHECK(real.at("do_not_reuse") == decision.at("do_not_reuse"));
      CHECK(dry.at("do_not_reuse") == decision.at("do_not_reuse"));
      f.check_value(decision, real.at("value"));
    } else {
      ++refused;
      CHECK(real.at("err") == "vsp: " + explain.at("error").get<std::string>());
      CHECK(dry.at("err") == real.at("err"));
    }
  }
  CHECK(allowed == 11);
  CHECK(refused == 7);
  CHECK(f.plugin->running());
}

TEST_CASE("vsp simulate --socket --unwrap opens what the plugin wrapped",
          "[cli][binary][emulator]") {
  Fixture f;
  std::string why;
  if (!f.start(&why)) {
    VSP_SKIP(why);
  }
  const std::vector<std::string> env{"PATH=/usr/bin:/bin",
                                     "HOME=" + f.dir.path(),
                                     "VAULT_ADDR=" + f.target->address};
  auto r = run_vsp({"simulate",
                    "--socket",
                    f.socket,
                    "--secret",
                    "tok-a",
                    "--task-id",
                    "u1",
                    "--unwrap",
                    "--format",
                    "json"},
                   env);
  CHECK(r.status == 0);
  const json out = json::parse(r.out);
  CHECK(out.at("mode") == "socket");
  CHECK(out.at("unwrapped").at("kind") == "token");
  CHECK(out.at("unwrapped").at("metadata").at("vsp_task_id") == "u1");
  CHECK_FALSE(out.at("unwrapped").contains("token"));

  SECTION("a value that is not wrapped cannot be opened") {
    auto kv = run_vsp({"simulate",
                       "--socket",
                       f.socket,
                       "--secret",
                       "kv-db",
                       "--unwrap",
                       "--format",
                       "json"},
                      env);
    CHECK(kv.status == 0);
    CHECK_THAT(
        json::parse(kv.out).at("unwrapped").at("error").get<std::string>(),
        Catch::StartsWith("the value is not a wrapping token, or it was "
                          "used already (vault: "));
  }
}
