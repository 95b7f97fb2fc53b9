#include "core/issuer/settle.hpp"

#include "core/util/random.hpp"
#include "tests/support/ledger_fixture.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace vsp::issuer;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ledger::Issuance intent_for(const std::string& task) {
  ledger::Issuance row;
  row.id = random_hex(16);
  row.task_id = task;
  row.service_name = "web";
  row.secret = "app-db";
  row.rule = "app";
  row.kind = "token";
  return row;
}

// Mints a token as the issuer would for `row`, through the role, with
// the plugin's login: what Vault holds after a crash before recording.
std::string mint_for(test::LedgerFixture& f, const ledger::Issuance& row) {
  vault::TokenCreateRequest create;
  create.role = f.setup.role;
  create.policies = {f.setup.read_policy};
  create.meta = {{"vsp_issuance_id", row.id}, {"vsp_task_id", row.task_id}};
  create.ttl = 1h;
  auto token = f.login->current(Deadline::after(5s));
  REQUIRE(token.ok());
  auto made = f.client->create_token(*token, create, Deadline::after(5s));
  REQUIRE(made.ok());
  return made->accessor;
}

} // namespace

TEST_CASE("settle_open_intents with the accessor privilege",
          "[issuer][ledger][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(
          &why, ledger::Access::read_write, test::AccessorListing::allowed)) {
    VSP_SKIP(why);
  }
  const auto crashed = intent_for("t-crashed");
  const auto never = intent_for("t-never");
  REQUIRE(f.ledger->record_intent(crashed).ok());
  REQUIRE(f.ledger->record_intent(never).ok());
  const std::string accessor = mint_for(f, crashed);
  REQUIRE(test::accessor_is_live(*f.target, accessor));

  auto report = settle_open_intents(
      *f.ledger, *f.client, *f.login, now_ms() + 1, Deadline::after(30s));
  REQUIRE(report.ok());
  CHECK(report->accessor_listing);
  CHECK(report->found == 1);
  CHECK(report->revoked_by_kind ==
        std::map<std::string, std::int64_t>{{crashed.kind, 1}});
  CHECK(report->absent == 1);
  CHECK(report->errors == 0);

  SECTION("the token Vault issued is recorded, then revoked") {
    auto row = f.ledger->get(crashed.id);
    CHECK(row->state == ledger::State::revoked);
    CHECK(row->accessor == accessor);
    CHECK_FALSE(test::accessor_is_live(*f.target, accessor));
  }
  SECTION("an intent Vault never acted on is failed") {
    CHECK(f.ledger->get(never.id)->state == ledger::State::failed);
  }
  SECTION("settling again finds nothing open") {
    auto again = settle_open_intents(
        *f.ledger, *f.client, *f.login, now_ms() + 1, Deadline::after(30s));
    REQUIRE(again.ok());
    CHECK(again->found + again->absent + again->unknown == 0);
  }
}

TEST_CASE("settle_open_intents without the accessor privilege",
          "[issuer][ledger][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  const auto crashed = intent_for("t-crashed");
  const auto later = intent_for("t-later");
  REQUIRE(f.ledger->record_intent(crashed).ok());
  const std::string accessor = mint_for(f, crashed);
  const std::int64_t started = now_ms() + 1;

  auto report = settle_open_intents(
      *f.ledger, *f.client, *f.login, started, Deadline::after(30s));
  REQUIRE(report.ok());
  CHECK_FALSE(report->accessor_listing);
  CHECK(report->unknown == 1);
  auto row = f.ledger->get(crashed.id);
  CHECK(row->state == ledger::State::unknown);
  CHECK(row->reason.find("may not list accessors") != std::string::npos);
  // Left to its TTL: vsp cannot find it.
  CHECK(test::accessor_is_live(*f.target, accessor));

  SECTION("an intent recorded after start-up is in flight, not settled") {
    auto in_flight = later;
    in_flight.created_ms = started + 1000;
    REQUIRE(f.ledger->record_intent(in_flight).ok());
    auto again = settle_open_intents(
        *f.ledger, *f.client, *f.login, started, Deadline::after(30s));
    REQUIRE(again.ok());
    CHECK(f.ledger->get(later.id)->state == ledger::State::pending);
  }
}

TEST_CASE("revoke_issuance ends a wrapped token and its wrapping token",
          "[issuer][ledger][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  f.get_secret("app-db", "task-w");
  auto rows = f.ledger->find({});
  REQUIRE(rows->size() == 1);
  const auto row = rows->front();
  REQUIRE_FALSE(row.wrapping_accessor.empty());
  CHECK(test::accessor_is_live(*f.target, row.accessor));
  CHECK(test::accessor_is_live(*f.target, row.wrapping_accessor));

  REQUIRE(revoke_issuance(*f.ledger,
                          *f.client,
                          *f.login,
                          row,
                          "task shutdown",
                          ledger::Actor::poller,
                          Deadline::after(5s))
              .ok());
  CHECK_FALSE(test::accessor_is_live(*f.target, row.accessor));
  CHECK_FALSE(test::accessor_is_live(*f.target, row.wrapping_accessor));
  auto after = f.ledger->get(row.id);
  CHECK(after->state == ledger::State::revoked);
  CHECK(after->reason == "task shutdown");
  auto history = f.ledger->history(row.id);
  CHECK(history->back().actor == ledger::Actor::poller);

  SECTION("revoking again is not an error") {
    CHECK(revoke_credentials(
              *f.client, *f.login, credentials_of(row), Deadline::after(5s))
              .ok());
  }
}
