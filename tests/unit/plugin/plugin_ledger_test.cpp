#include "plugin/plugin.hpp"

#include "tests/support/ledger_fixture.hpp"
#include "tests/support/paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <thread>

using namespace vsp;
using namespace vsp::plugin;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using test::LedgerFixture;
using test::value_of;

} // namespace
TEST_CASE("Plugin records each issuance in the ledger, never a token",
          "[plugin][ledger][emulator]") {
  LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }

  // Everything a task could have received, and what it holds inside.
  std::vector<SecretString> held;
  std::vector<std::string> inner_accessors;
  for (int i = 0; i < 12; ++i) {
    const std::string task = "task-" + std::to_string(i);
    const SecretString wrapping = value_of(f.get_secret("app-db", task));
    held.push_back(wrapping);
    auto inner = f.client->unwrap(wrapping, Deadline::after(5s));
    REQUIRE(inner.ok());
    auto auth = vault::parse_token_auth(*inner, "sys/wrapping/unwrap");
    REQUIRE(auth.ok());
    held.push_back(auth->client_token);
    inner_accessors.push_back(auth->accessor);
  }
  for (int i = 0; i < 6; ++i) {
    held.push_back(
        value_of(f.get_secret("plain-db", "plain-" + std::to_string(i))));
  }

  auto rows = f.ledger->find({});
  REQUIRE(rows.ok());
  CHECK(rows->size() == 18);
  for (const auto& row : *rows) {
    CHECK(row.state == ledger::State::issued);
    CHECK_FALSE(row.accessor.empty());
    CHECK(row.service_name == "web");
    CHECK(row.node_id == "node1");
    CHECK(row.expires_ms > 0);
    CHECK(row.wrapping_accessor.empty() == (row.kind == "token"));
  }
  for (const auto& accessor : inner_accessors) {
    ledger::Query q;
    q.accessor = accessor;
    CHECK(f.ledger->find(q)->size() == 1);
  }

  SECTION("the ledger file and its WAL hold no token") {
    const std::string bytes = test::read_file(f.ledger_path()) +
                              test::read_file(f.ledger_path() + "-wal");
    REQUIRE(bytes.find(inner_accessors.front()) != std::string::npos);
    for (const auto& secret : held) {
      INFO("held secret #" << (&secret - held.data()));
      CHECK(bytes.find(secret.reveal()) == std::string::npos);
    }
    CHECK(bytes.find("hvs.") == std::string::npos);
  }
  SECTION("a repeated request reuses the value and adds no row") {
    f.get_secret("app-db", "task-0");
    CHECK(f.ledger->find({})->size() == 18);
  }
}

TEST_CASE("Plugin refuses to issue what the ledger cannot record",
          "[plugin][ledger][emulator]") {
  LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_only)) {
    VSP_SKIP(why);
  }
  const std::size_t before = test::live_tokens(*f.target).size();

  const json answer = f.get_secret("app-db", "task-ro");
  REQUIRE(answer.contains("Err"));
  CHECK(answer["Err"].get<std::string>().find(
            "not issued: the ledger cannot record it") != std::string::npos);
  CHECK(test::live_tokens(*f.target).size() == before);
}

TEST_CASE("Plugin revokes what it cannot record and answers an Err",
          "[plugin][ledger][emulator]") {
  LedgerFixture f;
  f.ledger_options.busy_timeout = 100ms;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  if (f.target->real()) {
    VSP_SKIP("needs the emulator's latency fault");
  }
  const std::size_t before = test::live_tokens(*f.target).size();
  // Vault takes 600 ms to mint; meanwhile another writer (`vsp revoke`, a
  // stuck process) holds the ledger past the plugin's busy timeout, so
  // the intent is recorded but the outcome cannot be.
  REQUIRE(f.target->emulator->faults(
      {{"latency_ms", {{"ms", 600}, {"path_prefix", "auth/token/create"}}}}));
  std::thread blocker([&] {
    std::this_thread::sleep_for(200ms);
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.ledger_path().c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    std::this_thread::sleep_for(1500ms);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  });
  const json answer = f.get_secret("app-db", "task-busy");
  blocker.join();
  f.target->emulator->reset_faults();

  REQUIRE(answer.contains("Err"));
  CHECK(answer["Err"].get<std::string>() ==
        "vsp: cannot issue secret \"app-db\" for task task-busy: not handed "
        "out (revoked again): ledger " +
            f.ledger_path() +
            ": busy: another connection held its lock past the busy timeout");
  CHECK(test::live_tokens(*f.target).size() == before);
  auto rows = f.ledger->find({});
  REQUIRE(rows->size() == 1);
  CHECK(rows->front().state == ledger::State::pending);
}
