#include "plugin/task_watcher.hpp"

#include "core/util/random.hpp"
#include "tests/support/ledger_fixture.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

using namespace vsp;
using namespace vsp::plugin;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Swarm as the test says it is: task ID -> state; no entry means gone.
struct FakeSwarm {
  std::mutex mutex;
  std::map<std::string, std::string> states;
  bool reachable = true;

  ListTasks lister() {
    return [this](Deadline) -> Result<std::vector<docker::Task>> {
      std::lock_guard lock(mutex);
      if (!reachable) {
        return Error(ErrorKind::unavailable, "engine down");
      }
      std::vector<docker::Task> out;
      for (const auto& [id, state] : states) {
        docker::Task t;
        t.id = id;
        t.state = state;
        out.push_back(t);
      }
      return out;
    };
  }
  void set(const std::string& task, const std::string& state) {
    std::lock_guard lock(mutex);
    states[task] = state;
  }
  void remove(const std::string& task) {
    std::lock_guard lock(mutex);
    states.erase(task);
  }
};

std::string accessor_of(ledger::Ledger& ledger, const std::string& task) {
  ledger::Query q;
  q.task_id = task;
  auto rows = ledger.find(q);
  REQUIRE(rows->size() == 1);
  return rows->front().accessor;
}

ledger::State state_of(ledger::Ledger& ledger, const std::string& task) {
  ledger::Query q;
  q.task_id = task;
  return ledger.find(q)->front().state;
}

} // namespace

TEST_CASE("TaskWatcher revokes what ended tasks hold",
          "[watcher][ledger][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  FakeSwarm swarm;
  for (const char* task : {"t-run", "t-done", "t-failed", "t-gone"}) {
    swarm.set(task, "running");
    f.get_secret("app-db", task);
  }
  WatcherOptions options;
  options.absent_grace = 0ms;

  SECTION("terminal and vanished tasks, in one poll") {
    std::map<std::string, int> told; // "kind/reason" -> revocations
    options.on_revoked = [&](std::string_view kind, std::string_view reason) {
      ++told[std::string(kind) + "/" + std::string(reason)];
    };
    TaskWatcher watcher(
        *f.ledger, *f.client, *f.login, swarm.lister(), options);
    swarm.set("t-done", "complete"); // exited 0 (vault-k8s#593)
    swarm.set("t-failed", "failed");
    swarm.remove("t-gone");
    const TickReport report = watcher.tick();
    CHECK(report.listed);
    CHECK(report.revoked == 3);
    CHECK(report.errors == 0);
    CHECK(told == std::map<std::string, int>{{"wrapped-token/task_ended", 3}});
    for (const char* task : {"t-done", "t-failed", "t-gone"}) {
      INFO(task);
      CHECK(state_of(*f.ledger, task) == ledger::State::revoked);
      CHECK_FALSE(
          test::accessor_is_live(*f.target, accessor_of(*f.ledger, task)));
    }
    CHECK(state_of(*f.ledger, "t-run") == ledger::State::issued);
    CHECK(test::accessor_is_live(*f.target, accessor_of(*f.ledger, "t-run")));
    CHECK(watcher.tick().revoked == 0);
  }
  SECTION("a task missing from a fresh issuance's listing gets a grace") {
    options.absent_grace = 60s;
    TaskWatcher watcher(
        *f.ledger, *f.client, *f.login, swarm.lister(), options);
    swarm.remove("t-gone");
    CHECK(watcher.tick().revoked == 0);
    CHECK(state_of(*f.ledger, "t-gone") == ledger::State::issued);
  }
  SECTION("an engine that does not answer revokes nothing") {
    TaskWatcher watcher(
        *f.ledger, *f.client, *f.login, swarm.lister(), options);
    swarm.reachable = false;
    swarm.remove("t-gone");
    const TickReport report = watcher.tick();
    CHECK_FALSE(report.listed);
    CHECK(report.revoked == 0);
  }
  SECTION("without Engine API access nothing is revoked") {
    TaskWatcher watcher(*f.ledger, *f.client, *f.login, {}, options);
    swarm.remove("t-gone");
    CHECK(watcher.tick().revoked == 0);
  }
  SECTION("the thread revokes within the poll interval") {
    options.poll_interval = 200ms;
    TaskWatcher watcher(
        *f.ledger, *f.client, *f.login, swarm.lister(), options);
    watcher.start();
    const auto started = std::chrono::steady_clock::now();
    swarm.set("t-done", "shutdown");
    while (state_of(*f.ledger, "t-done") != ledger::State::revoked &&
           std::chrono::steady_clock::now() - started < 5s) {
      std::this_thread::sleep_for(20ms);
    }
    watcher.stop();
    CHECK(state_of(*f.ledger, "t-done") == ledger::State::revoked);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
  }
}

TEST_CASE("TaskWatcher reads the ledger in pages and misses no row",
          "[watcher][ledger][emulator]") {
  // More live rows than one page holds; every second task has ended, so
  // rows change state while the watcher pages past them.
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  FakeSwarm swarm;
  constexpr int k_tasks = 600;
  for (int i = 0; i < k_tasks; ++i) {
    const std::string task = "t-" + std::to_string(i);
    swarm.set(task, "running");
    f.get_secret("app-db", task);
  }
  for (int i = 0; i < k_tasks; i += 2) {
    swarm.set("t-" + std::to_string(i), "shutdown");
  }
  WatcherOptions options;
  options.absent_grace = 0ms;
  TaskWatcher watcher(*f.ledger, *f.client, *f.login, swarm.lister(), options);
  const TickReport report = watcher.tick();
  CHECK(report.errors == 0);
  CHECK(report.revoked == k_tasks / 2);
  ledger::Query issued;
  issued.states = {ledger::State::issued};
  CHECK(f.ledger->find(issued)->size() == k_tasks / 2);
  ledger::Query revoked;
  revoked.states = {ledger::State::revoked};
  const auto revoked_rows = f.ledger->find(revoked);
  REQUIRE(revoked_rows.ok());
  for (const auto& row : *revoked_rows) {
    CHECK(std::stoi(row.task_id.substr(2)) % 2 == 0);
  }
}

TEST_CASE("TaskWatcher keeps a crash-looping task to its live credentials",
          "[watcher][ledger][emulator]") {
  // vault-k8s#210: a task that fails over and over must not pile up live
  // tokens. Each failed attempt is a new Swarm task; each is revoked.
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  FakeSwarm swarm;
  WatcherOptions options;
  TaskWatcher watcher(*f.ledger, *f.client, *f.login, swarm.lister(), options);
  for (int i = 0; i < 30; ++i) {
    const std::string task = "loop-" + std::to_string(i);
    swarm.set(task, "running");
    f.get_secret("app-db", task);
    swarm.set(task, "failed");
    watcher.tick();
  }
  int live = 0;
  for (const auto& token : test::live_tokens(*f.target)) {
    const auto meta = token.value("meta", nlohmann::json::object());
    if (meta.is_object() && meta.contains("vsp_task_id")) {
      ++live;
    }
  }
  CHECK(live == 0);
}

TEST_CASE("TaskWatcher renews the leases of running tasks",
          "[watcher][ledger][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  if (f.target->real()) {
    VSP_SKIP("needs the emulator's database mount");
  }
  // A dynamic secret's lease, as a lease-issuing kind would record it.
  const json mount{{"type", "database"}};
  REQUIRE(f.target->emulator->request(
              "POST", "/v1/sys/mounts/db", mount)["status"] == 204);
  const json role{{"default_ttl", "60s"}, {"max_ttl", "1h"}};
  REQUIRE(f.target->emulator->request(
              "POST", "/v1/db/roles/ro", role)["status"] == 204);
  auto creds = f.target->emulator->request("GET", "/v1/db/creds/ro");
  REQUIRE(creds["status"] == 200);
  const std::string lease = creds["body"]["lease_id"];

  ledger::Issuance row;
  row.id = random_hex(16);
  row.task_id = "t-db";
  row.secret = "db";
  row.kind = "dynamic";
  REQUIRE(f.ledger->record_intent(row).ok());
  ledger::Outcome outcome;
  outcome.lease_id = lease;
  outcome.ttl_s = 60;
  // Two thirds of the TTL have passed.
  outcome.expires_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       15'000;
  REQUIRE(f.ledger->record_issued(row.id, outcome).ok());

  FakeSwarm swarm;
  swarm.set("t-db", "running");
  WatcherOptions options;
  options.wants_renewal = [](const ledger::Issuance& r) {
    return !r.lease_id.empty();
  };
  TaskWatcher watcher(*f.ledger, *f.client, *f.login, swarm.lister(), options);
  CHECK(watcher.tick().renewed == 1);
  CHECK(watcher.tick().renewed == 0); // fresh again: not before 2/3

  SECTION("and revokes them when the task ends") {
    swarm.set("t-db", "complete");
    CHECK(watcher.tick().revoked == 1);
    auto after = f.target->emulator->request(
        "POST", "/v1/sys/leases/lookup", json{{"lease_id", lease}});
    CHECK(after["status"] == 400);
  }
}

TEST_CASE("TaskWatcher renews a lease together with the token holding it",
          "[watcher][ledger][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  if (f.target->real()) {
    VSP_SKIP("needs the emulator's database mount");
  }
  const json mount{{"type", "database"}};
  REQUIRE(f.target->emulator->request(
              "POST", "/v1/sys/mounts/db", mount)["status"] == 204);
  const json role{{"default_ttl", "30s"}, {"max_ttl", "1h"}};
  REQUIRE(f.target->emulator->request(
              "POST", "/v1/db/roles/ro", role)["status"] == 204);
  const json policy{{"policy",
                     R"({"path": {"db/creds/ro": )"
                     R"({"capabilities": ["read"]}}})"}};
  REQUIRE(f.target->emulator->request(
              "POST", "/v1/sys/policies/acl/db-ro", policy)["status"] == 204);

  // The lease holder: a short-lived token that asks for the lease, so the
  // lease ends with it unless both are renewed.
  const SecretString root(f.target->token);
  vault::TokenCreateRequest create;
  create.orphan = vault::Orphan::yes;
  create.policies = {"db-ro"};
  create.ttl = 30s;
  auto holder = f.client->create_token(root, create, Deadline::after(10s));
  REQUIRE(holder.ok());
  auto creds = f.client->call(vault::Method::get,
                              "db/creds/ro",
                              nullptr,
                              &holder->client_token,
                              {},
                              Deadline::after(10s));
  REQUIRE(creds.ok());
  const std::string lease = creds->body["lease_id"];

  ledger::Issuance row;
  row.id = random_hex(16);
  row.task_id = "t-db";
  row.secret = "db";
  row.rule = "db";
  row.kind = "dynamic";
  REQUIRE(f.ledger->record_intent(row).ok());
  ledger::Outcome outcome;
  outcome.accessor = holder->accessor;
  outcome.lease_id = lease;
  outcome.ttl_s = 30;
  outcome.expires_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       5'000; // two thirds of the TTL have passed
  REQUIRE(f.ledger->record_issued(row.id, outcome).ok());

  FakeSwarm swarm;
  swarm.set("t-db", "running");
  WatcherOptions options;
  std::vector<std::string> asked;
  options.wants_renewal = [&asked](const ledger::Issuance& r) {
    asked.push_back(r.rule);
    return r.rule == "db";
  };
  TaskWatcher watcher(*f.ledger, *f.client, *f.login, swarm.lister(), options);
  const TickReport report = watcher.tick();
  CHECK(report.renewed == 1);
  CHECK(report.errors == 0);
  CHECK(asked == std::vector<std::string>{"db"});

  // Both were extended past the 5 s they had left, and the ledger says so.
  auto info =
      f.client->lookup_accessor(root, holder->accessor, Deadline::after(10s));
  REQUIRE(info.ok());
  CHECK(info->ttl > 20s);
  auto looked = f.target->emulator->request(
      "POST", "/v1/sys/leases/lookup", json{{"lease_id", lease}});
  REQUIRE(looked["status"] == 200);
  CHECK(looked["body"]["data"]["ttl"].get<int>() > 20);
  auto stored = f.ledger->get(row.id);
  REQUIRE(stored.ok());
  CHECK(stored->expires_ms > outcome.expires_ms + 15'000);
  auto history = f.ledger->history(row.id);
  REQUIRE(history.ok());
  CHECK(history->back().reason.find("renewed") != std::string::npos);

  SECTION("a row whose rule does not ask is left to expire") {
    options.wants_renewal = [](const ledger::Issuance&) { return false; };
    TaskWatcher other(*f.ledger, *f.client, *f.login, swarm.lister(), options);
    CHECK(other.tick().renewed == 0);
  }
}

TEST_CASE("TaskWatcher settles only the intents of an earlier process",
          "[watcher][ledger][emulator]") {
  test::LedgerFixture f;
  std::string why;
  if (!f.start(&why, ledger::Access::read_write)) {
    VSP_SKIP(why);
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  ledger::Issuance earlier;
  earlier.id = random_hex(16);
  earlier.created_ms = now - 60'000;
  earlier.task_id = "t-old";
  earlier.secret = "app-db";
  earlier.kind = "wrapped-token";
  REQUIRE(f.ledger->record_intent(earlier).ok());
  // A request that reached the socket after this process started, but
  // before the watcher was made: still in flight, not to be settled.
  ledger::Issuance in_flight = earlier;
  in_flight.id = random_hex(16);
  in_flight.created_ms = now - 1'000;
  in_flight.task_id = "t-new";
  REQUIRE(f.ledger->record_intent(in_flight).ok());

  WatcherOptions options;
  options.settle_before_ms = now - 2'000;
  TaskWatcher watcher(*f.ledger, *f.client, *f.login, {}, options);
  CHECK(watcher.settle_intents());
  CHECK(state_of(*f.ledger, "t-old") == ledger::State::unknown);
  CHECK(state_of(*f.ledger, "t-new") == ledger::State::pending);
}
