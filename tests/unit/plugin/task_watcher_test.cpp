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
