// Black-box tests of `vsp audit`, `vsp revoke` and `vsp unwrap --lookup /
// --expect-path`: the real binary against a ledger the in-process plugin
// wrote and the Vault emulator.
#include "core/ledger/ledger.hpp"
#include "core/util/random.hpp"
#include "tests/support/ledger_fixture.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

using namespace vsp;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct Run {
  int status = -1;
  std::string out;
};

// Runs `vsp ARGS` with the fixture's Vault and ledger, stdin from
// /dev/null unless `input` names a file.
Run vsp_cli(const test::LedgerFixture& f,
            const std::string& args,
            const std::string& input = "/dev/null") {
  const std::string command =
      "VAULT_ADDR='" + f.target->address + "' VAULT_TOKEN='" + f.target->token +
      "' VSP_LEDGER='" + f.ledger_path() +
      "' DOCKER_HOST= VSP_DOCKER_SOCKET= " + test::binary_path("cli/vsp") +
      " " + args + " <'" + input + "' 2>&1";
  Run run;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) {
    run.out.append(buf, n);
  }
  const int raw = ::pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

json json_of(const Run& run) {
  INFO(run.out);
  REQUIRE(run.status == 0);
  return json::parse(run.out);
}

// Adds rows the plugin would not make on its own: a failed issuance, one
// whose outcome is unknown, and a second credential for task-a.
void add_problem_rows(ledger::Ledger& ledger) {
  const auto row = [](const std::string& task) {
    ledger::Issuance r;
    r.id = random_hex(16);
    r.task_id = task;
    r.service_name = "web";
    r.secret = "app-db";
    r.kind = "wrapped-token";
    return r;
  };
  auto failed = row("task-f");
  REQUIRE(ledger.record_intent(failed).ok());
  REQUIRE(ledger.record_failed(failed.id, "vault said no").ok());
  auto lost = row("task-u");
  REQUIRE(ledger.record_intent(lost).ok());
  REQUIRE(
      ledger
          .set_state(
              lost.id, ledger::State::unknown, "lost", ledger::Actor::plugin)
          .ok());
  auto again = row("task-a");
  REQUIRE(ledger.record_intent(again).ok());
  ledger::Outcome outcome;
  outcome.accessor = "NotAVaultAccessor000000x";
  REQUIRE(ledger.record_issued(again.id, outcome).ok());
}

} // namespace

TEST_CASE("vsp audit lists, checks and flags issuances", "[cli][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  f.get_secret("app-db", "task-a");
  f.get_secret("app-db", "task-b");
  add_problem_rows(*f.ledger);

  SECTION("every row, as JSON") {
    const json out = json_of(vsp_cli(f, "audit --format json"));
    CHECK(out["source"] == "ledger");
    CHECK(out["entries"].size() == 5);
    CHECK(out["checked_vault"] == false);
  }
  SECTION("by task, checked against Vault") {
    const json out =
        json_of(vsp_cli(f, "audit --task task-b --check --format json"));
    REQUIRE(out["entries"].size() == 1);
    CHECK(out["entries"][0]["vault"] == "live");
    CHECK(out["entries"][0]["vault_ttl_s"] > 3000);
    CHECK(out["entries"][0]["swarm"].is_null());
    const json by_name =
        json_of(vsp_cli(f, "audit --task web.1.task-b --format json"));
    CHECK(by_name["entries"] ==
          json_of(vsp_cli(f, "audit --task task-b --format json"))["entries"]);
    CHECK(by_name["entries"].size() == 1);
  }
  SECTION("by the rule that decided") {
    const json one = json_of(vsp_cli(f, "audit --task task-b --format json"));
    REQUIRE(one["entries"].size() == 1);
    const std::string rule = one["entries"][0]["rule"];
    REQUIRE_FALSE(rule.empty());
    const json out =
        json_of(vsp_cli(f, "audit --rule '" + rule + "' --format json"));
    std::vector<std::string> tasks;
    for (const auto& e : out["entries"]) {
      CHECK(e["rule"] == rule);
      tasks.push_back(e["task_id"]);
    }
    // The plugin's own two; the rows added by hand have no rule.
    CHECK(tasks == std::vector<std::string>{"task-a", "task-b"});
    CHECK(json_of(
              vsp_cli(f, "audit --rule no-such-rule --format json"))["entries"]
              .empty());
  }
  SECTION("the problems the issue names") {
    const json out =
        json_of(vsp_cli(f, "audit --problems --check --format json"));
    std::map<std::string, std::vector<std::string>> flags;
    for (const auto& e : out["entries"]) {
      flags[e["task_id"]] = e["flags"];
    }
    CHECK(flags["task-f"] == std::vector<std::string>{"failed"});
    CHECK(flags["task-u"] == std::vector<std::string>{"unknown"});
    CHECK(flags["task-a"] == std::vector<std::string>{"duplicate"});
    CHECK(flags.count("task-b") == 0);
  }
  SECTION("a table for people") {
    const Run run = vsp_cli(f, "audit --state issued");
    CHECK(run.status == 0);
    CHECK(run.out.find("ISSUANCE") == 0);
    CHECK(run.out.find("3 issuances: 3 issued") != std::string::npos);
  }
  SECTION("from Vault itself, which sees every manager's tokens") {
    const json out = json_of(vsp_cli(f, "audit --source vault --format json"));
    REQUIRE(out["entries"].size() == 2);
    for (const auto& e : out["entries"]) {
      CHECK(e["in_ledger"] == "yes");
      CHECK(e["vault"] == "live");
      CHECK(e["service_name"] == "web");
    }
  }
  SECTION("from Vault, as a table: whether this manager's ledger knows each") {
    const auto column_of = [](const std::string& table,
                              const std::string& wanted) {
      std::vector<std::string> cells;
      const std::size_t at = table.find("IN_LEDGER");
      std::size_t line = table.find('\n') + 1;
      while (line < table.size() && table[line] != '\n') {
        cells.push_back(table.substr(line + at, wanted.size() + 1));
        line = table.find('\n', line) + 1;
      }
      return cells;
    };
    const Run known = vsp_cli(f, "audit --source vault");
    REQUIRE(known.status == 0);
    const std::string header = known.out.substr(0, known.out.find('\n'));
    CHECK(header.find("ACCESSOR ") < header.find("IN_LEDGER "));
    CHECK(header.find("IN_LEDGER ") < header.find("FLAGS"));
    CHECK(column_of(known.out, "yes") ==
          std::vector<std::string>{"yes ", "yes "});

    const Run no_ledger =
        vsp_cli(f, "audit --source vault --ledger " + f.dir.file("none.db"));
    REQUIRE(no_ledger.status == 0);
    CHECK(column_of(no_ledger.out, "?") ==
          std::vector<std::string>{"? ", "? "});

    const Run from_ledger = vsp_cli(f, "audit");
    CHECK(from_ledger.out.find("IN_LEDGER") == std::string::npos);
  }
  SECTION("--check with a token Vault refuses exits 2, after the table") {
    auto r = test::run_vsp({"audit", "--check", "--task", "task-b"},
                           {"PATH=/usr/bin:/bin",
                            "VAULT_ADDR=" + f.target->address,
                            "VAULT_TOKEN=hvs.AAAAAAAAAAAAAAAAAAAAAAAA",
                            "VSP_LEDGER=" + f.ledger_path(),
                            "VSP_DOCKER_SOCKET="});
    CHECK(r.status == 2);
    CHECK(r.out.find("task-b") != std::string::npos);
    CHECK_THAT(r.err,
               Catch::Contains("vsp: error: vault could not be asked about 1 "
                               "of 1 issuance; first: "));
  }
  SECTION("an unknown state is refused") {
    const Run run = vsp_cli(f, "audit --state gone");
    CHECK(run.status == 1);
    CHECK(run.out == "vsp: error: --state: expected pending, issued, revoked, "
                     "expired, failed or unknown, not \"gone\"\n");
  }
}

TEST_CASE("vsp revoke ends credentials and records it", "[cli][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  const SecretString wrapping =
      test::value_of(f.get_secret("app-db", "task-a"));
  f.get_secret("app-db", "task-b");
  const auto row_of = [&](const std::string& task) {
    ledger::Query q;
    q.task_id = task;
    return f.ledger->find(q)->front();
  };

  SECTION("by task; idempotent") {
    const std::string accessor = row_of("task-a").accessor;
    const Run dry = vsp_cli(f, "revoke --task task-a --dry-run");
    CHECK(dry.status == 0);
    CHECK(dry.out.find("would revoke: issuance") != std::string::npos);
    CHECK(test::accessor_is_live(*f.target, accessor));

    const Run run = vsp_cli(f, "revoke --task task-a --yes");
    INFO(run.out);
    CHECK(run.status == 0);
    CHECK(run.out.find("revoked: issuance") != std::string::npos);
    CHECK_FALSE(test::accessor_is_live(*f.target, accessor));
    CHECK_FALSE(
        test::accessor_is_live(*f.target, row_of("task-a").wrapping_accessor));
    CHECK(row_of("task-a").state == ledger::State::revoked);
    CHECK(f.ledger->history(row_of("task-a").id)->back().actor ==
          ledger::Actor::cli);
    CHECK(row_of("task-b").state == ledger::State::issued);

    const Run again = vsp_cli(f, "revoke --task task-a --yes");
    CHECK(again.status == 0);
    CHECK(again.out == "nothing to revoke\n");
    const Run by_accessor = vsp_cli(f, "revoke --accessor " + accessor);
    CHECK(by_accessor.status == 0);
    CHECK(by_accessor.out.find("already revoked") != std::string::npos);
  }
  SECTION("by the token itself, read from a file") {
    auto inner = f.client->unwrap(wrapping, Deadline::after(5s));
    REQUIRE(inner.ok());
    auto auth = vault::parse_token_auth(*inner, "sys/wrapping/unwrap");
    REQUIRE(auth.ok());
    const std::string file =
        f.dir.write("token", std::string(auth->client_token.reveal()));
    const Run run =
        vsp_cli(f, "revoke --token-file " + file + " --yes --format json");
    const json out = json_of(run);
    CHECK(run.out.find(auth->client_token.reveal()) == std::string::npos);
    REQUIRE(out["items"].size() == 1);
    CHECK(out["items"][0]["outcome"] == "revoked");
    CHECK(out["items"][0]["issuance_id"] == row_of("task-a").id);
    CHECK(row_of("task-a").state == ledger::State::revoked);
  }
  SECTION("a bare accessor neither the ledger nor Vault knows") {
    // A typo must not read as revoked.
    const Run run = vsp_cli(f, "revoke --accessor AbsentAccessor0000000000");
    CHECK(run.status == 2);
    CHECK(run.out.find("not found in vault (already ended, or mistyped): "
                       "accessor AbsentAccessor0000000000 (not in the "
                       "ledger)\n") != std::string::npos);
    const Run empty = vsp_cli(f, "revoke --accessor ''");
    CHECK(empty.status == 1);
    CHECK(empty.out ==
          "vsp: error: --accessor: expected a token accessor, not \"\"\n");
  }
  SECTION("by prefix: what the role minted") {
    const Run run =
        vsp_cli(f, "revoke --yes --prefix auth/token/create/" + f.setup.role);
    INFO(run.out);
    CHECK(run.status == 0);
    CHECK(run.out.find("revoked: every lease under auth/token/create/") !=
          std::string::npos);
    CHECK(row_of("task-a").state == ledger::State::revoked);
    CHECK(row_of("task-b").state == ledger::State::revoked);
    CHECK_FALSE(test::accessor_is_live(*f.target, row_of("task-b").accessor));
  }
  SECTION("an unknown outcome names nothing to revoke") {
    add_problem_rows(*f.ledger);
    const Run run = vsp_cli(f, "revoke --task task-u --yes");
    CHECK(run.status == 0);
    CHECK(run.out == "nothing to revoke\n");
    CHECK(row_of("task-u").state == ledger::State::unknown);
  }
  SECTION("nothing selected is a usage error") {
    const Run run = vsp_cli(f, "revoke --yes");
    CHECK(run.status == 1);
    CHECK(run.out.find("say what to revoke") != std::string::npos);
  }
}

TEST_CASE("vsp unwrap --lookup and --expect-path", "[cli][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  const SecretString wrapping =
      test::value_of(f.get_secret("app-db", "task-a"));
  const std::string file =
      f.dir.write("wrapping", std::string(wrapping.reveal()));
  const std::string path = "auth/token/create/" + f.setup.role;

  const json info =
      json_of(vsp_cli(f, "unwrap --lookup --format json --token-file -", file));
  CHECK(info["creation_path"] == path);
  CHECK(info["creation_ttl"] == 300);

  const Run refused =
      vsp_cli(f, "unwrap --expect-path sys/wrapping/wrap --token-file " + file);
  CHECK(refused.status == 3);
  CHECK(refused.out.find("was created at \"" + path +
                         "\", not \"sys/wrapping/wrap\": possible "
                         "interception; it was not unwrapped") !=
        std::string::npos);

  // Neither the lookup nor the refusal used the token up.
  const json opened = json_of(vsp_cli(f,
                                      "unwrap --format json --expect-path " +
                                          path + " --token-file " + file));
  CHECK(opened["kind"] == "token");
  CHECK(opened["metadata"]["vsp_task_id"] == "task-a");
}

TEST_CASE("vsp revoke refuses a ledger that does not exist", "[cli][binary]") {
  // A mistyped path must not read as "nothing to revoke".
  test::TempDir dir;
  const std::string typo = dir.file("typo.db");
  const std::string deep = dir.file("no/such/dir/ledger.db");
  for (const auto& path : {typo, deep}) {
    INFO(path);
    auto r =
        test::run_vsp({"revoke", "--ledger", path, "--service", "app", "--yes"},
                      {"PATH=/usr/bin:/bin",
                       "VAULT_ADDR=http://127.0.0.1:9",
                       "VAULT_TOKEN=hvs.AAAAAAAAAAAAAAAAAAAAAAAA"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("no such file"));
    CHECK(::access(path.c_str(), F_OK) != 0);
  }
  CHECK(::access(dir.file("no").c_str(), F_OK) != 0);
}
