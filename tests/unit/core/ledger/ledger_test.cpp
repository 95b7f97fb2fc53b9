#include "core/ledger/ledger.hpp"

#include "core/ledger/database.hpp"
#include "core/ledger/schema.hpp"
#include "core/util/random.hpp"
#include "core/util/secret_string.hpp"
#include "tests/support/paths.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace vsp;
using namespace vsp::ledger;
using namespace std::chrono_literals;

namespace {

// A scratch directory, removed with everything in it.
class TempDir {
public:
  TempDir() {
    char pattern[] = "/tmp/vsp-ledger-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    REQUIRE(made != nullptr);
    m_path = made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return m_path; }
  std::string file(const std::string& name) const {
    return m_path + "/" + name;
  }

private:
  std::string m_path;
};

// A mount made by the test, undone when it goes out of scope. Null when
// the test may not mount (not root): the caller skips with a warning.
class Mount {
public:
  static std::unique_ptr<Mount> tmpfs(const std::string& dir,
                                      const std::string& options) {
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID, options.c_str()) !=
        0) {
      return nullptr;
    }
    return std::unique_ptr<Mount>(new Mount(dir));
  }

  static std::unique_ptr<Mount> read_only_bind(const std::string& dir) {
    if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return nullptr;
    }
    auto mount = std::unique_ptr<Mount>(new Mount(dir));
    if (::mount(nullptr,
                dir.c_str(),
                nullptr,
                MS_REMOUNT | MS_BIND | MS_RDONLY,
                nullptr) != 0) {
      return nullptr;
    }
    return mount;
  }

  ~Mount() {
    if (::umount2(m_dir.c_str(), 0) != 0) {
      ::umount2(m_dir.c_str(), MNT_DETACH);
    }
  }

private:
  explicit Mount(std::string dir) : m_dir(std::move(dir)) {}
  std::string m_dir;
};

// A clock the test moves by hand.
struct TestClock {
  std::shared_ptr<std::atomic<std::int64_t>> ms =
      std::make_shared<std::atomic<std::int64_t>>(1'000);

  Options options() const {
    Options options;
    options.now_ms = [ms = ms] { return ms->load(); };
    return options;
  }
  void set(std::int64_t at) const { ms->store(at); }
};

std::unique_ptr<Ledger>
must_open(const std::string& path, Access access, Options options = {}) {
  auto opened = Ledger::open(path, access, std::move(options));
  INFO((opened.ok() ? std::string() : opened.error().message));
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

std::unique_ptr<Database> raw_open(const std::string& path) {
  auto db = Database::open(path, OpenMode::read_write, 100ms);
  REQUIRE(db.ok());
  return std::move(db).value();
}

std::int64_t raw_integer(const std::string& path, const std::string& sql) {
  auto db = Database::open(path, OpenMode::read_only, 1000ms);
  REQUIRE(db.ok());
  auto value = (*db)->query_integer(sql);
  INFO((value.ok() ? std::string() : value.error().message));
  REQUIRE(value.ok());
  return *value;
}

Issuance make_intent(std::string id,
                     std::string task,
                     std::string service,
                     std::string secret,
                     std::string node = "node-1") {
  Issuance intent;
  intent.id = std::move(id);
  intent.task_id = std::move(task);
  intent.task_name = "web.1." + intent.task_id;
  intent.service_id = "svc-" + service;
  intent.service_name = std::move(service);
  intent.node_id = std::move(node);
  intent.secret = std::move(secret);
  intent.rule = "web-db";
  intent.kind = "wrapped-token";
  intent.policies = {"db-read", "default"};
  intent.ttl_s = 3600;
  return intent;
}

Outcome make_outcome(std::string accessor, std::int64_t expires_ms) {
  Outcome outcome;
  outcome.accessor = std::move(accessor);
  outcome.wrapping_accessor = "w" + outcome.accessor;
  outcome.lease_id = "auth/token/create/vsp-task/" + outcome.accessor;
  outcome.ttl_s = 3600;
  outcome.expires_ms = expires_ms;
  return outcome;
}

void require_ok(const Status& status) {
  INFO((status.ok() ? std::string() : status.error().message));
  REQUIRE(status.ok());
}

std::vector<std::string> ids_of(const std::vector<Issuance>& rows) {
  std::vector<std::string> ids;
  for (const auto& row : rows) {
    ids.push_back(row.id);
  }
  return ids;
}

std::string random_alnum(std::mt19937_64& rng, std::size_t size) {
  static constexpr std::string_view k_chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<std::size_t> pick(0, k_chars.size() - 1);
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += k_chars[pick(rng)];
  }
  return out;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

} // namespace

// --- open, schema and migrations -------------------------------------------

TEST_CASE("Ledger::open creates the file, its directory and the schema",
          "[ledger]") {
  TempDir dir;
  const std::string path = dir.file("var/lib/vsp/ledger.db");

  auto ledger = must_open(path, Access::read_write);
  require_ok(
      ledger->record_intent(make_intent("a1", "task-1", "web", "db-password")));

  CHECK(mode_of(dir.file("var")) == 0700);
  CHECK(mode_of(dir.file("var/lib/vsp")) == 0700);
  CHECK(mode_of(path) == 0600);
  CHECK(mode_of(path + "-wal") == 0600);
  CHECK(raw_integer(path, "PRAGMA user_version") == schema_version());
  CHECK(raw_integer(path, "PRAGMA application_id") == k_application_id);
  auto db = raw_open(path);
  CHECK(db->query_text("PRAGMA journal_mode").value() == "wal");

  SECTION("opening again keeps what is there") {
    ledger.reset();
    auto again = must_open(path, Access::read_write);
    CHECK(again->get("a1").ok());
  }
  SECTION("a read-only open reads beside the writer") {
    auto reader = must_open(path, Access::read_only);
    CHECK(reader->get("a1")->task_id == "task-1");
    auto refused = reader->record_intent(make_intent("a2", "t", "s", "x"));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "ledger_read_only_handle");
  }
}

TEST_CASE("Ledger::open upgrades a v0 file and refuses others", "[ledger]") {
  TempDir dir;
  const std::string path = dir.file("ledger.db");

  SECTION("an empty file is upgraded") {
    write_bytes(path, "");
    must_open(path, Access::read_write);
    CHECK(raw_integer(path, "PRAGMA user_version") == schema_version());
  }
  SECTION("a blank database in rollback-journal mode is upgraded to WAL") {
    auto db = raw_open(path);
    require_ok(db->exec("PRAGMA journal_mode = DELETE; VACUUM;"));
    db.reset();
    must_open(path, Access::read_write);
    CHECK(raw_integer(path, "PRAGMA user_version") == schema_version());
    CHECK(raw_open(path)->query_text("PRAGMA journal_mode").value() == "wal");
  }
  SECTION("a read-only open of a v0 file asks for an upgrade") {
    write_bytes(path, "");
    auto opened = Ledger::open(path, Access::read_only);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == "ledger_outdated");
    CHECK(opened.error().message ==
          "ledger " + path +
              ": schema version 0 is older than this vsp's (1); open it "
              "read-write once (start vsp-plugin) to upgrade");
  }
  SECTION("a file from a newer vsp is refused and left alone") {
    must_open(path, Access::read_write);
    require_ok(raw_open(path)->exec("PRAGMA user_version = 7"));
    for (const Access access : {Access::read_write, Access::read_only}) {
      auto opened = Ledger::open(path, access);
      REQUIRE_FALSE(opened.ok());
      CHECK(opened.error().kind == ErrorKind::unavailable);
      CHECK(opened.error().code == "ledger_too_new");
      CHECK(opened.error().message ==
            "ledger " + path +
                ": schema version 7 is newer than this vsp supports (1); "
                "use a newer vsp");
    }
    CHECK(raw_integer(path, "PRAGMA user_version") == 7);
  }
  SECTION("another program's database is refused") {
    require_ok(raw_open(path)->exec("CREATE TABLE photos (name TEXT);"));
    auto opened = Ledger::open(path, Access::read_write);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == "ledger_foreign");
    CHECK(opened.error().message ==
          "ledger " + path +
              ": not a vsp ledger (application id 0x0, schema version 0); "
              "refusing to use it");
    CHECK(raw_integer(path, "SELECT count(*) FROM sqlite_schema") == 1);
  }
  SECTION("a missing file cannot be read") {
    auto opened = Ledger::open(path, Access::read_only);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == ErrorKind::not_found);
    CHECK(opened.error().code == "ledger_missing");
    CHECK_FALSE(std::filesystem::exists(path));
  }
  SECTION("no path") {
    auto opened = Ledger::open("", Access::read_write);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == ErrorKind::invalid_input);
  }
}

TEST_CASE("migrate() upgrades a hand-written older file step by step",
          "[ledger]") {
  TempDir dir;
  const std::string path = dir.file("old.db");
  auto db = raw_open(path);
  require_ok(db->exec(fmt::format("CREATE TABLE t (a TEXT NOT NULL) STRICT;"
                                  "INSERT INTO t VALUES ('kept');"
                                  "PRAGMA user_version = 1;"
                                  "PRAGMA application_id = {};",
                                  k_application_id)));

  const Migration v1{1, "CREATE TABLE t (a TEXT NOT NULL) STRICT;"};
  const Migration v2{2,
                     "ALTER TABLE t ADD COLUMN b TEXT NOT NULL "
                     "DEFAULT 'new';"};
  const Migration v3{3,
                     "CREATE TABLE u (x INTEGER);"
                     "INSERT INTO missing_table VALUES (1);"};
  const Migration to_v2[] = {v1, v2};
  require_ok(migrate(*db, to_v2));

  CHECK(db->query_integer("PRAGMA user_version").value() == 2);
  CHECK(db->query_text("SELECT a || '/' || b FROM t").value() == "kept/new");

  SECTION("a failing step leaves the file at the version before it") {
    const Migration to_v3[] = {v1, v2, v3};
    auto failed = migrate(*db, to_v3);
    REQUIRE_FALSE(failed.ok());
    CHECK_THAT(failed.error().message,
               Catch::Contains("migration to version 3"));
    CHECK(db->query_integer("PRAGMA user_version").value() == 2);
    CHECK(db->query_integer("SELECT count(*) FROM sqlite_schema "
                            "WHERE name = 'u'")
              .value() == 0);
    CHECK(db->query_text("SELECT a FROM t").value() == "kept");
  }
  SECTION("a gap in the steps is an internal error") {
    const Migration gap[] = {v1, v2, Migration{4, "SELECT 1;"}};
    auto failed = migrate(*db, gap);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == "ledger_migration");
  }
  SECTION("a current file is left as it is") {
    require_ok(migrate(*db, to_v2));
    CHECK(db->query_integer("PRAGMA user_version").value() == 2);
  }
}

// --- the write protocol ----------------------------------------------------

TEST_CASE("Ledger::record_intent, record_issued, set_state keep history",
          "[ledger]") {
  TempDir dir;
  TestClock clock;
  auto ledger =
      must_open(dir.file("l.db"), Access::read_write, clock.options());

  Issuance intent = make_intent("0a1b2c", "task-1", "web", "db-password");
  intent.created_ms = 500;
  require_ok(ledger->record_intent(intent));

  auto pending = ledger->get("0a1b2c");
  REQUIRE(pending.ok());
  CHECK(pending->state == State::pending);
  CHECK(pending->created_ms == 500);
  CHECK(pending->changed_ms == 1000);
  CHECK(pending->reason == "intent recorded");
  CHECK(pending->policies == std::vector<std::string>{"db-read", "default"});

  clock.set(2000);
  require_ok(ledger->record_issued("0a1b2c", make_outcome("acc1", 9000)));
  auto issued = ledger->get("0a1b2c").value();
  CHECK(issued.state == State::issued);
  CHECK(issued.accessor == "acc1");
  CHECK(issued.wrapping_accessor == "wacc1");
  CHECK(issued.lease_id == "auth/token/create/vsp-task/acc1");
  CHECK(issued.expires_ms == 9000);
  CHECK(issued.changed_ms == 2000);
  CHECK(issued.policies == std::vector<std::string>{"db-read", "default"});

  clock.set(3000);
  require_ok(
      ledger->set_state("0a1b2c", State::revoked, "task ended", Actor::poller));
  CHECK(ledger->get("0a1b2c")->state == State::revoked);

  auto history = ledger->history("0a1b2c");
  REQUIRE(history.ok());
  REQUIRE(history->size() == 3);
  CHECK_FALSE((*history)[0].from.has_value());
  CHECK((*history)[0].to == State::pending);
  CHECK((*history)[0].actor == Actor::plugin);
  CHECK((*history)[1].from == State::pending);
  CHECK((*history)[1].to == State::issued);
  CHECK((*history)[1].at_ms == 2000);
  CHECK((*history)[2].from == State::issued);
  CHECK((*history)[2].to == State::revoked);
  CHECK((*history)[2].reason == "task ended");
  CHECK((*history)[2].actor == Actor::poller);

  SECTION("setting the same state again is a no-op") {
    require_ok(
        ledger->set_state("0a1b2c", State::revoked, "again", Actor::cli));
    CHECK(ledger->history("0a1b2c")->size() == 3);
  }
  SECTION("a revoked row moves nowhere") {
    auto refused =
        ledger->set_state("0a1b2c", State::issued, "back", Actor::cli);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "ledger_transition");
    CHECK(refused.error().message ==
          "ledger " + ledger->path() +
              ": issuance 0a1b2c is revoked; it cannot become issued");
    CHECK_FALSE(ledger->record_issued("0a1b2c", make_outcome("x", 1)).ok());
    CHECK(ledger->history("0a1b2c")->size() == 3);
    // The caller's mistake, not the storage's.
    CHECK_FALSE(ledger->last_write_failure().has_value());
  }
  SECTION("a failed intent") {
    require_ok(ledger->record_intent(make_intent("ff", "t", "s", "x")));
    require_ok(ledger->record_failed("ff", "vault: permission denied"));
    auto failed = ledger->get("ff").value();
    CHECK(failed.state == State::failed);
    CHECK(failed.reason == "vault: permission denied");
    CHECK_FALSE(ledger->record_issued("ff", make_outcome("y", 1)).ok());
    // A token found later is still revoked and noted.
    require_ok(ledger->set_state("ff", State::revoked, "found", Actor::cli));
  }
  SECTION("an unknown outcome can still be completed") {
    require_ok(ledger->record_intent(make_intent("ee", "t", "s", "x")));
    require_ok(ledger->set_state(
        "ee", State::unknown, "crashed mid-request", Actor::plugin));
    require_ok(ledger->record_issued("ee", make_outcome("found", 5)));
    CHECK(ledger->get("ee")->state == State::issued);
    auto twice = ledger->record_issued("ee", make_outcome("again", 5));
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.error().message ==
          "ledger " + ledger->path() + ": issuance ee is already issued");
    CHECK(ledger->get("ee")->accessor == "found");
  }
  SECTION("refusals") {
    auto duplicate = ledger->record_intent(intent);
    REQUIRE_FALSE(duplicate.ok());
    CHECK(duplicate.error().code == "ledger_duplicate");
    CHECK(duplicate.error().message ==
          "ledger " + ledger->path() + ": issuance 0a1b2c is already recorded");

    auto missing = ledger->set_state("abcdef", State::revoked, "", Actor::cli);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK(ledger->get("abcdef").error().kind == ErrorKind::not_found);
    CHECK(ledger->history("abcdef").error().kind == ErrorKind::not_found);

    for (const char* bad : {"", "XYZ", "0A1B", "12 34"}) {
      auto refused = ledger->record_intent(make_intent(bad, "t", "s", "x"));
      REQUIRE_FALSE(refused.ok());
      CHECK(refused.error().kind == ErrorKind::invalid_input);
    }
    auto no_secret = make_intent("aa", "t", "s", "");
    CHECK(ledger->record_intent(no_secret).error().code == "ledger_invalid");
    auto back = ledger->set_state("0a1b2c", State::pending, "", Actor::cli);
    CHECK(back.error().code == "ledger_transition");
  }
  SECTION("a long reason is cut short") {
    require_ok(ledger->record_intent(make_intent("dd", "t", "s", "x")));
    require_ok(ledger->record_failed("dd", std::string(5000, 'r')));
    CHECK(ledger->get("dd")->reason.size() == 200);
  }
}

TEST_CASE("Ledger::open_intents lists what a crash left pending", "[ledger]") {
  TempDir dir;
  const std::string path = dir.file("l.db");
  must_open(path, Access::read_write);

  // A plugin killed between asking Vault and recording the answer.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto opened = Ledger::open(path, Access::read_write);
    if (!opened.ok() ||
        !(*opened)->record_intent(make_intent("c1", "t1", "s", "x")).ok() ||
        !(*opened)->record_issued("c1", make_outcome("acc", 0)).ok() ||
        !(*opened)->record_intent(make_intent("c2", "t2", "s", "x")).ok()) {
      ::_exit(3);
    }
    ::raise(SIGKILL);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));

  auto ledger = must_open(path, Access::read_write);
  auto open = ledger->open_intents();
  REQUIRE(open.ok());
  CHECK(ids_of(*open) == std::vector<std::string>{"c2"});
  CHECK(ledger->get("c1")->state == State::issued);

  // Settled at start-up: nothing in Vault carries its issuance ID.
  require_ok(ledger->set_state(
      "c2", State::unknown, "no token found after restart", Actor::plugin));
  CHECK(ledger->open_intents()->empty());
}

// --- queries ---------------------------------------------------------------

namespace {

// Six rows over three tasks; see each line.
std::unique_ptr<Ledger> queried_ledger(const TempDir& dir,
                                       const TestClock& clock) {
  auto ledger =
      must_open(dir.file("q.db"), Access::read_write, clock.options());
  const auto add = [&](Issuance intent, std::int64_t created) {
    intent.created_ms = created;
    require_ok(ledger->record_intent(intent));
  };
  // a: t1 web db, issued, expires 10000
  add(make_intent("ab00000000000001", "t1", "web", "db", "n1"), 1000);
  require_ok(
      ledger->record_issued("ab00000000000001", make_outcome("acc-a", 10000)));
  // b: t1 web api, issued, no expiry
  add(make_intent("ab00000000000002", "t1", "web", "api", "n1"), 2000);
  require_ok(
      ledger->record_issued("ab00000000000002", make_outcome("acc-b", 0)));
  // c: t2 worker db, pending
  add(make_intent("cd00000000000003", "t2", "worker", "db", "n2"), 3000);
  // d: t1 web db again, issued, expired by 5000
  add(make_intent("cd00000000000004", "t1", "web", "db", "n1"), 4000);
  require_ok(
      ledger->record_issued("cd00000000000004", make_outcome("acc-d", 5000)));
  // e: t3 web db, revoked
  add(make_intent("ef00000000000005", "t3", "web", "db", "n2"), 5000);
  require_ok(
      ledger->record_issued("ef00000000000005", make_outcome("acc-e", 0)));
  require_ok(ledger->set_state(
      "ef00000000000005", State::revoked, "task ended", Actor::poller));
  // f: t2 worker db, failed
  add(make_intent("ef00000000000006", "t2", "worker", "db", "n2"), 6000);
  require_ok(ledger->record_failed("ef00000000000006", "denied"));
  return ledger;
}

std::vector<std::string> found(Ledger& ledger, const Query& query) {
  auto rows = ledger.find(query);
  INFO((rows.ok() ? std::string() : rows.error().message));
  REQUIRE(rows.ok());
  return ids_of(*rows);
}

} // namespace

TEST_CASE("Ledger::find answers every filter", "[ledger]") {
  TempDir dir;
  TestClock clock;
  auto ledger = queried_ledger(dir, clock);
  using Ids = std::vector<std::string>;
  const std::string a = "ab00000000000001", b = "ab00000000000002",
                    c = "cd00000000000003", d = "cd00000000000004",
                    e = "ef00000000000005", f = "ef00000000000006";
  Query query;

  SECTION("everything, newest first, or oldest first with a limit") {
    CHECK(found(*ledger, query) == Ids{f, e, d, c, b, a});
    query.order = Order::oldest_first;
    query.limit = 2;
    CHECK(found(*ledger, query) == Ids{a, b});
  }
  SECTION("by task") {
    query.task_id = "t1";
    CHECK(found(*ledger, query) == Ids{d, b, a});
  }
  SECTION("by service ID or name") {
    query.service = "worker";
    CHECK(found(*ledger, query) == Ids{f, c});
    query.service = "svc-worker";
    CHECK(found(*ledger, query) == Ids{f, c});
  }
  SECTION("by secret and node together") {
    query.secret = "db";
    query.node_id = "n2";
    CHECK(found(*ledger, query) == Ids{f, e, c});
  }
  SECTION("by token or wrapping accessor") {
    query.accessor = "acc-b";
    CHECK(found(*ledger, query) == Ids{b});
    query.accessor = "wacc-d";
    CHECK(found(*ledger, query) == Ids{d});
  }
  SECTION("by lease") {
    query.lease_id = "auth/token/create/vsp-task/acc-e";
    CHECK(found(*ledger, query) == Ids{e});
  }
  SECTION("by states") {
    query.states = {State::pending, State::failed};
    CHECK(found(*ledger, query) == Ids{f, c});
    query.states = {State::unknown};
    CHECK(found(*ledger, query).empty());
  }
  SECTION("by issuance ID or prefix") {
    query.id_prefix = "ab";
    CHECK(found(*ledger, query) == Ids{b, a});
    query.id_prefix = "CD00000000000003";
    CHECK(found(*ledger, query) == Ids{c});
    query.id_prefix = "0";
    CHECK(found(*ledger, query).empty());
    query.id_prefix = "not hex";
    CHECK(ledger->find(query).error().kind == ErrorKind::invalid_input);
  }
  SECTION("by time range") {
    query.created_from_ms = 2000;
    query.created_until_ms = 4000;
    CHECK(found(*ledger, query) == Ids{c, b});
  }
  SECTION("nothing matches") {
    query.task_id = "t1";
    query.secret = "nothing";
    CHECK(found(*ledger, query).empty());
  }
}

TEST_CASE("Ledger::find pages through rows created in the same millisecond",
          "[ledger]") {
  TempDir dir;
  TestClock clock;
  auto ledger = queried_ledger(dir, clock);
  // Three more rows share one creation time with each other: a page
  // boundary may fall between them.
  for (const char* id :
       {"aa00000000000009", "aa00000000000007", "aa00000000000008"}) {
    auto intent = make_intent(id, "t9", "web", "db", "n1");
    intent.created_ms = 3000;
    require_ok(ledger->record_intent(intent));
  }
  for (const Order order : {Order::oldest_first, Order::newest_first}) {
    Query all;
    all.order = order;
    const auto expected = found(*ledger, all);
    REQUIRE(expected.size() == 9);
    for (const std::size_t page : {1, 2, 4}) {
      Query query = all;
      query.limit = page;
      std::vector<std::string> paged;
      for (;;) {
        auto rows = ledger->find(query);
        REQUIRE(rows.ok());
        for (const auto& row : *rows) {
          paged.push_back(row.id);
        }
        if (rows->size() < page) {
          break;
        }
        query.after = PageAfter{rows->back().created_ms, rows->back().id};
      }
      INFO("page size " << page);
      CHECK(paged == expected);
    }
  }
  Query query;
  query.order = Order::oldest_first;
  query.after = PageAfter{3000, "aa00000000000008"};
  query.limit = 3;
  CHECK(found(*ledger, query) == std::vector<std::string>{"aa00000000000009",
                                                          "cd00000000000003",
                                                          "cd00000000000004"});
}

TEST_CASE("Ledger::live_by_task, duplicates and stats", "[ledger]") {
  TempDir dir;
  TestClock clock;
  auto ledger = queried_ledger(dir, clock);

  auto live = ledger->live_by_task(6000);
  REQUIRE(live.ok());
  REQUIRE(live->size() == 1);
  CHECK((*live)[0].task_id == "t1");
  CHECK(ids_of((*live)[0].issuances) ==
        std::vector<std::string>{"ab00000000000001", "ab00000000000002"});
  CHECK(ledger->live_by_task(4000)->at(0).issuances.size() == 3);

  auto duplicates = ledger->duplicates();
  REQUIRE(duplicates.ok());
  REQUIRE(duplicates->size() == 1);
  CHECK((*duplicates)[0].task_id == "t1");
  CHECK((*duplicates)[0].secret == "db");
  CHECK((*duplicates)[0].ids ==
        std::vector<std::string>{"ab00000000000001", "cd00000000000004"});

  auto stats = ledger->stats();
  REQUIRE(stats.ok());
  CHECK(stats->rows.at(State::issued) == 3);
  CHECK(stats->rows.at(State::pending) == 1);
  CHECK(stats->rows.at(State::revoked) == 1);
  CHECK(stats->rows.at(State::failed) == 1);
  CHECK(stats->rows.at(State::expired) == 0);
  CHECK(stats->rows.at(State::unknown) == 0);
  CHECK(stats->file_bytes + stats->wal_bytes > 0);

  auto intents = ledger->open_intents();
  REQUIRE(intents.ok());
  CHECK(ids_of(*intents) == std::vector<std::string>{"cd00000000000003"});
  require_ok(ledger->check());
}

// --- several writers and readers ------------------------------------------

TEST_CASE("Ledger takes 8 writer threads beside a reader and the CLI",
          "[ledger]") {
  TempDir dir;
  const std::string path = dir.file("l.db");
  auto plugin = must_open(path, Access::read_write);
  auto cli = must_open(path, Access::read_write);
  auto reader = must_open(path, Access::read_only);

  constexpr int k_threads = 8;
  constexpr int k_pairs = 20;
  std::atomic<int> writers_left{k_threads};
  std::atomic<int> failures{0};
  std::mutex first_error_mutex;
  std::string first_error;
  const auto fail = [&](const Error& error) {
    ++failures;
    std::lock_guard lock(first_error_mutex);
    if (first_error.empty()) {
      first_error = error.message;
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < k_pairs; ++i) {
        const std::string id = fmt::format("{:02x}{:06x}", t, i);
        auto intent = make_intent(id, fmt::format("task-{}", t), "web", "db");
        if (auto done = plugin->record_intent(intent); !done.ok()) {
          fail(done.error());
          continue;
        }
        auto done = plugin->record_issued(id, make_outcome("acc" + id, 0));
        if (!done.ok()) {
          fail(done.error());
        }
      }
      --writers_left;
    });
  }
  std::atomic<int> revoked{0};
  threads.emplace_back([&] { // `vsp revoke`, another connection
    while (writers_left > 0) {
      Query query;
      query.states = {State::issued};
      query.limit = 3;
      auto rows = cli->find(query);
      if (!rows.ok()) {
        fail(rows.error());
        return;
      }
      for (const auto& row : *rows) {
        auto done =
            cli->set_state(row.id, State::revoked, "operator", Actor::cli);
        if (done.ok()) {
          ++revoked;
        } else {
          fail(done.error());
        }
      }
      std::this_thread::sleep_for(2ms);
    }
  });
  std::atomic<int> reads{0};
  threads.emplace_back([&] { // `vsp audit`, read-only
    std::size_t seen = 0;
    while (writers_left > 0) {
      auto rows = reader->find(Query{});
      if (!rows.ok()) {
        fail(rows.error());
        return;
      }
      if (rows->size() < seen) {
        fail(Error(ErrorKind::internal, "rows went missing"));
      }
      seen = rows->size();
      ++reads;
    }
  });
  for (auto& thread : threads) {
    thread.join();
  }

  INFO(first_error);
  CHECK(failures == 0);
  CHECK(reads > 0);
  auto stats = reader->stats().value();
  CHECK(stats.rows.at(State::issued) + stats.rows.at(State::revoked) ==
        k_threads * k_pairs);
  CHECK(stats.rows.at(State::revoked) == revoked);
  CHECK(raw_integer(path, "SELECT count(*) FROM issuance_history") ==
        2 * k_threads * k_pairs + revoked);
}

TEST_CASE("Ledger reads beside a writer holding a transaction", "[ledger]") {
  TempDir dir;
  const std::string path = dir.file("l.db");
  auto plugin = must_open(path, Access::read_write);
  require_ok(plugin->record_intent(make_intent("01", "t", "s", "x")));

  // Another process's writer, caught mid-transaction.
  auto other = raw_open(path);
  require_ok(other->exec(
      "BEGIN IMMEDIATE;"
      "INSERT INTO issuance VALUES ('02', 1, 't', '', '', '', '', 's', '',"
      " 'token', '', '', '', '[]', 0, 0, 'pending', 1, '');"));

  auto reader = must_open(path, Access::read_only);
  CHECK(ids_of(reader->find(Query{}).value()) ==
        std::vector<std::string>{"01"});

  Options impatient;
  impatient.busy_timeout = 100ms;
  auto cli = must_open(path, Access::read_write, impatient);
  auto busy = cli->record_intent(make_intent("03", "t", "s", "x"));
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().kind == ErrorKind::timeout);
  CHECK(busy.error().code == "ledger_busy");

  // The plugin's own write waits for the lock (busy timeout 5 s).
  Status waited = ok_status();
  std::thread write([&] {
    waited = plugin->record_intent(make_intent("04", "t", "s", "x"));
  });
  std::this_thread::sleep_for(150ms);
  require_ok(other->exec("COMMIT"));
  write.join();
  require_ok(waited);
  CHECK(reader->find(Query{})->size() == 3);
}

// --- no token or value on disk ---------------------------------------------

TEST_CASE("Ledger never writes a token or a value to disk", "[ledger]") {
  // No field takes a SecretString, so a token cannot be handed over
  // without reveal(), which is greppable.
  static_assert(!std::is_convertible_v<SecretString, std::string>);
  static_assert(!std::is_assignable_v<std::string&, SecretString>);
  static_assert(!std::is_constructible_v<std::string, SecretString>);

  TempDir dir;
  const std::string path = dir.file("l.db");
  auto ledger = must_open(path, Access::read_write);
  std::mt19937_64 rng(std::random_device{}());

  std::vector<SecretString> held; // what the issuer had in its hands
  std::vector<std::string> accessors;
  for (int i = 0; i < 40; ++i) {
    const std::string id = random_hex(16);
    held.emplace_back("hvs.CAESI" + random_alnum(rng, 86)); // the token
    held.emplace_back("hvs." + random_alnum(rng, 24));      // wrapping
    held.emplace_back("s." + random_alnum(rng, 24));        // legacy
    held.emplace_back("pw-" + random_hex(12));              // a DB password
    held.emplace_back(R"({"api_key":")" + random_hex(20) + R"("})");

    auto intent = make_intent(id, random_hex(12), "web", "db-password");
    intent.kind = i % 2 == 0 ? "wrapped-token" : "dynamic";
    require_ok(ledger->record_intent(intent));
    auto outcome = make_outcome(random_alnum(rng, 24), 1'900'000'000'000);
    outcome.lease_id = "database/creds/web/" + random_alnum(rng, 24);
    accessors.push_back(outcome.accessor);
    require_ok(ledger->record_issued(id, outcome));
    if (i % 3 == 0) {
      require_ok(
          ledger->set_state(id, State::revoked, "task ended", Actor::poller));
    }

    // Mistakes the ledger refuses instead of storing.
    const auto& token = held[held.size() - 5];
    auto wrong = make_outcome(std::string(token.reveal()), 0);
    CHECK(ledger->record_issued(id, wrong).error().code ==
          "ledger_token_shaped");
    auto legacy = make_outcome(std::string(held[held.size() - 3].reveal()), 0);
    CHECK(ledger->record_issued(id, legacy).error().code ==
          "ledger_token_shaped");
    const std::string reason = "vault said: " + std::string(token.reveal());
    CHECK(ledger->set_state(id, State::unknown, reason, Actor::plugin)
              .error()
              .code == "ledger_token_shaped");
    auto sneaky = make_intent(random_hex(16), "t", "s", "x");
    sneaky.task_name = std::string(token.reveal());
    CHECK_FALSE(ledger->record_intent(sneaky).ok());
  }

  const auto scan = [&](const std::string& bytes) {
    for (const auto& secret : held) {
      // Reported by position only: the value itself stays out of the log.
      INFO("held secret #" << (&secret - held.data()));
      CHECK(bytes.find(secret.reveal()) == std::string::npos);
    }
    CHECK(bytes.find("hvs.") == std::string::npos);
    for (const auto& accessor : accessors) { // the scan does see rows
      CHECK(bytes.find(accessor) != std::string::npos);
    }
  };
  SECTION("in the file and its WAL while open") {
    scan(test::read_file(path) + test::read_file(path + "-wal") +
         test::read_file(path + "-shm"));
  }
  SECTION("in the file after a checkpoint") {
    ledger.reset();
    CHECK_FALSE(std::filesystem::exists(path + "-wal"));
    scan(test::read_file(path));
  }
}

// --- disk failures ---------------------------------------------------------

TEST_CASE("Ledger reports a full disk and loses nothing", "[ledger]") {
  TempDir dir;
  auto mount = Mount::tmpfs(dir.path(), "size=1m,mode=0700");
  if (!mount) {
    WARN("skipped: cannot mount a tmpfs (needs root)");
    return;
  }
  const std::string path = dir.file("ledger.db");
  auto ledger = must_open(path, Access::read_write);
  std::vector<std::string> recorded;
  for (int i = 0; i < 3; ++i) {
    recorded.push_back(fmt::format("{:04x}", i));
    require_ok(
        ledger->record_intent(make_intent(recorded.back(), "t", "s", "x")));
  }

  // Fill what is left of the tmpfs.
  const std::string filler = dir.file("filler");
  {
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    const std::string block(4096, 'f');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    CHECK(errno == ENOSPC);
    ::close(fd);
  }

  Status full = ok_status();
  std::string refused_id;
  for (int i = 3; i < 3000 && full.ok(); ++i) {
    refused_id = fmt::format("{:04x}", i);
    full = ledger->record_intent(make_intent(refused_id, "t", "s", "x"));
    if (full.ok()) {
      recorded.push_back(refused_id);
    }
  }
  REQUIRE_FALSE(full.ok());
  CHECK(full.error().kind == ErrorKind::unavailable);
  CHECK(full.error().code == "ledger_full");
  CHECK(full.error().message == "ledger " + path + ": disk full");
  const auto failure = ledger->last_write_failure();
  REQUIRE(failure.has_value());
  CHECK(failure->message == "ledger " + path + ": disk full");
  CHECK(failure->at_ms > 0);

  // Everything that was acknowledged is there; the refused row is not.
  CHECK(ledger->find(Query{})->size() == recorded.size());
  CHECK(ledger->get(refused_id).error().kind == ErrorKind::not_found);
  SECTION("a new ledger on the full disk is refused") {
    auto opened = Ledger::open(dir.file("other.db"), Access::read_write);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == "ledger_full");
  }
  SECTION("writing works again once there is room") {
    REQUIRE(::unlink(filler.c_str()) == 0);
    require_ok(ledger->record_intent(make_intent(refused_id, "t", "s", "x")));
    CHECK_FALSE(ledger->last_write_failure().has_value());
    ledger.reset();
    auto reopened = must_open(path, Access::read_write);
    CHECK(reopened->find(Query{})->size() == recorded.size() + 1);
    require_ok(reopened->check());
  }
}

TEST_CASE("Ledger reports a read-only file system", "[ledger]") {
  TempDir dir;
  const std::string ro = dir.file("ro");
  const std::string path = ro + "/ledger.db";
  {
    auto ledger = must_open(path, Access::read_write);
    for (const char* id : {"01", "02", "03"}) {
      require_ok(ledger->record_intent(make_intent(id, "t", "s", "x")));
    }
  }
  auto mount = Mount::read_only_bind(ro);
  if (!mount) {
    WARN("skipped: cannot make a read-only bind mount (needs root)");
    return;
  }

  SECTION("writing is refused up front") {
    auto opened = Ledger::open(path, Access::read_write);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == ErrorKind::unavailable);
    CHECK(opened.error().code == "ledger_readonly");
    CHECK(opened.error().message ==
          "ledger " + path + ": read-only: read-only file system");
  }
  SECTION("so is creating a ledger there") {
    auto opened = Ledger::open(ro + "/sub/new.db", Access::read_write);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == "ledger_readonly");
  }
  SECTION("reading still works") {
    auto reader = must_open(path, Access::read_only);
    CHECK(reader->find(Query{})->size() == 3);
  }
}

TEST_CASE("Ledger refuses a read-only snapshot with an unmerged WAL",
          "[ledger]") {
  TempDir dir;
  const std::string snapshot = dir.file("snap");
  REQUIRE(::mkdir(snapshot.c_str(), 0700) == 0);
  {
    // Copied while the writer is open: the rows are still in the WAL.
    auto ledger = must_open(dir.file("l.db"), Access::read_write);
    require_ok(ledger->record_intent(make_intent("01", "t", "s", "x")));
    for (const char* suffix : {"", "-wal"}) {
      std::filesystem::copy_file(dir.file("l.db") + suffix,
                                 snapshot + "/l.db" + suffix);
    }
  }
  auto mount = Mount::read_only_bind(snapshot);
  if (!mount) {
    WARN("skipped: cannot make a read-only bind mount (needs root)");
    return;
  }
  auto opened = Ledger::open(snapshot + "/l.db", Access::read_only);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().code == "ledger_readonly");
  CHECK_THAT(opened.error().message,
             Catch::Contains("write-ahead log holds rows not yet merged"));
}

TEST_CASE("Ledger reports a file or directory it may not write", "[ledger]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to switch to another user");
    return;
  }
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0); // nobody may look in
  const std::string file_locked = dir.file("file.db");
  const std::string dir_locked = dir.file("dir.db");
  must_open(file_locked, Access::read_write);
  must_open(dir_locked, Access::read_write);
  REQUIRE(::chmod(file_locked.c_str(), 0644) == 0);
  REQUIRE(::chmod(dir_locked.c_str(), 0666) == 0);

  // Root ignores permission bits, so a child drops to nobody to see them.
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
      ::_exit(2);
    }
    std::string report;
    for (const auto& path : {file_locked, dir_locked}) {
      auto opened = Ledger::open(path, Access::read_write);
      report += opened.ok()
                    ? std::string("opened")
                    : opened.error().code + " " + opened.error().message;
      report += "\n";
    }
    const auto written = ::write(pipe_fds[1], report.data(), report.size());
    ::_exit(written == static_cast<ssize_t>(report.size()) ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string report;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) {
    report.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  CHECK(report == "ledger_readonly ledger " + file_locked +
                      ": read-only: permission denied\n"
                      "ledger_readonly ledger " +
                      dir_locked +
                      ": read-only: its directory is not writable (the -wal "
                      "and -shm files live there)\n");
}

TEST_CASE("Ledger refuses a corrupt file without crashing", "[ledger]") {
  TempDir dir;
  const std::string path = dir.file("l.db");

  SECTION("garbage is refused and left alone") {
    std::mt19937_64 rng(42);
    const std::string garbage = random_alnum(rng, 16384);
    write_bytes(path, garbage);
    for (const Access access : {Access::read_write, Access::read_only}) {
      auto opened = Ledger::open(path, access);
      REQUIRE_FALSE(opened.ok());
      CHECK(opened.error().kind == ErrorKind::unavailable);
      CHECK(opened.error().code == "ledger_corrupt");
      CHECK_THAT(opened.error().message,
                 Catch::StartsWith("ledger " + path +
                                   ": corrupt or not a database file"));
    }
    CHECK(test::read_file(path) == garbage);
  }

  SECTION("damaged pages give errors, never a crash") {
    {
      auto ledger = must_open(path, Access::read_write);
      for (int i = 0; i < 150; ++i) {
        require_ok(ledger->record_intent(
            make_intent(fmt::format("{:04x}", i), "task", "web", "db")));
      }
    }
    std::string bytes = test::read_file(path);
    REQUIRE(bytes.size() > 8 * 4096);
    SECTION("overwritten") {
      for (std::size_t at = 2 * 4096; at < bytes.size(); at += 3) {
        bytes[at] = static_cast<char>(at * 7);
      }
    }
    SECTION("truncated") {
      bytes.resize(bytes.size() / 2);
    }
    write_bytes(path, bytes);

    auto opened = Ledger::open(path, Access::read_write);
    if (!opened.ok()) {
      CHECK(opened.error().code == "ledger_corrupt");
      return;
    }
    auto& ledger = **opened;
    std::vector<Error> errors;
    const auto note = [&](const auto& result) {
      if (!result.ok()) {
        errors.push_back(result.error());
      }
    };
    note(ledger.find(Query{}));
    note(ledger.open_intents());
    note(ledger.live_by_task(0));
    note(ledger.duplicates());
    note(ledger.stats());
    note(ledger.history("0001"));
    note(ledger.record_intent(make_intent("ffff", "t", "s", "x")));
    note(ledger.set_state("0002", State::failed, "x", Actor::cli));
    note(ledger.prune(1'000'000'000'000'000));
    const auto checked = ledger.check();
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.error().code == "ledger_corrupt");
    CHECK(checked.error().message.find('\n') == std::string::npos);
    INFO(checked.error().message);
    for (const auto& error : errors) {
      INFO(error.message);
      CHECK(
          (error.code == "ledger_corrupt" || error.code == "ledger_not_found"));
    }
  }
}

// --- retention -------------------------------------------------------------

TEST_CASE("Ledger::prune deletes old settled rows only", "[ledger]") {
  TempDir dir;
  TestClock clock;
  const std::string path = dir.file("l.db");
  auto ledger = must_open(path, Access::read_write, clock.options());
  const auto row = [&](const std::string& id, State state, std::int64_t at) {
    clock.set(at);
    require_ok(ledger->record_intent(make_intent(id, "t", "s", "x")));
    if (state == State::issued || state == State::revoked ||
        state == State::expired) {
      require_ok(ledger->record_issued(id, make_outcome("acc" + id, 0)));
    }
    if (state != State::pending && state != State::issued) {
      require_ok(ledger->set_state(id, state, "settled", Actor::poller));
    }
  };
  row("a1", State::revoked, 1000);
  row("a2", State::expired, 2000);
  row("a3", State::failed, 3000);
  row("b1", State::issued, 1000);
  row("b2", State::unknown, 1000);
  row("b3", State::pending, 1000);
  row("b4", State::revoked, 9000);

  auto pruned = ledger->prune(5000);
  REQUIRE(pruned.ok());
  CHECK(*pruned == 3);
  Query oldest_first;
  oldest_first.order = Order::oldest_first;
  CHECK(ids_of(ledger->find(oldest_first).value()) ==
        std::vector<std::string>{"b1", "b2", "b3", "b4"});
  CHECK(ledger->history("a1").error().kind == ErrorKind::not_found);
  CHECK(raw_integer(path,
                    "SELECT count(*) FROM issuance_history "
                    "WHERE issuance_id LIKE 'a%'") == 0);
  CHECK(ledger->prune(5000).value() == 0);

  SECTION("in batches") {
    auto db = raw_open(path);
    require_ok(db->exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
        " WHERE i < 1234)"
        " INSERT INTO issuance SELECT printf('c%05x', i), 1, 't', '', '',"
        " '', '', 's', '', 'token', '', '', '', '[]', 0, 0, 'revoked', 100,"
        " '' FROM n;"));
    CHECK(ledger->prune(5000).value() == 1234);
    CHECK(ledger->find(Query{})->size() == 4);
  }
}

// --- pieces ----------------------------------------------------------------

TEST_CASE("looks_like_vault_token", "[ledger]") {
  CHECK(looks_like_vault_token("hvs.CAESIJ3Ju5Zfw2XkAqOmQ8Y0-b9sKjGh"));
  CHECK(looks_like_vault_token("error: token hvb.AAAAAQKZsW8e7vJc0pDf9nAb"));
  CHECK(looks_like_vault_token("s.Xk3mQ9vL2pR8tY6wZ1aB4cD5"));
  CHECK(looks_like_vault_token("bad s.Xk3mQ9vL2pR8tY6wZ1aB4cD5 here"));
  CHECK_FALSE(looks_like_vault_token("Xk3mQ9vL2pR8tY6wZ1aB4cD5")); // accessor
  CHECK_FALSE(looks_like_vault_token("database/creds/web/Xk3mQ9vL2pR8tY6wZ"));
  CHECK_FALSE(looks_like_vault_token("hvs.short"));
  CHECK_FALSE(looks_like_vault_token("items.Xk3mQ9vL2pR8tY6wZ1aB4cD5"));
  CHECK_FALSE(looks_like_vault_token("task ended"));
}

TEST_CASE("can_move and state names", "[ledger]") {
  CHECK(can_move(State::pending, State::issued));
  CHECK(can_move(State::issued, State::revoked));
  CHECK(can_move(State::failed, State::revoked));
  CHECK_FALSE(can_move(State::issued, State::pending));
  CHECK_FALSE(can_move(State::revoked, State::issued));
  CHECK_FALSE(can_move(State::issued, State::failed));
  for (const State state : {State::pending,
                            State::issued,
                            State::revoked,
                            State::expired,
                            State::failed,
                            State::unknown}) {
    CHECK(parse_state(to_string(state)) == state);
  }
  CHECK_FALSE(parse_state("Issued").has_value());
  CHECK(parse_actor("cli") == Actor::cli);
}

TEST_CASE("sqlite_error names the ledger and the failure", "[ledger]") {
  const std::string path = "/var/lib/vsp/ledger.db";
  const auto full =
      sqlite_error(path, SQLITE_FULL, 0, "database or disk is full");
  CHECK(full.kind == ErrorKind::unavailable);
  CHECK(full.code == "ledger_full");
  CHECK(full.message == "ledger /var/lib/vsp/ledger.db: disk full");
  CHECK(sqlite_error(path, SQLITE_IOERR_WRITE, ENOSPC, "").code ==
        "ledger_full");
  CHECK(sqlite_error(path, SQLITE_READONLY, 0, "").code == "ledger_readonly");
  CHECK(sqlite_error(path, SQLITE_CANTOPEN, EROFS, "").message ==
        "ledger /var/lib/vsp/ledger.db: read-only: read-only file system");
  const auto io = sqlite_error(path, SQLITE_IOERR_FSYNC, EIO, "");
  CHECK(io.code == "ledger_io");
  CHECK(io.message == "ledger /var/lib/vsp/ledger.db: i/o error: "
                      "input/output error");
  CHECK(sqlite_error(path, SQLITE_NOTADB, 0, "file is not a database").code ==
        "ledger_corrupt");
  CHECK(sqlite_error(path, SQLITE_BUSY, 0, "").kind == ErrorKind::timeout);
}

// --- figures for the record (hidden: run with "[.bench]") -------------------

TEST_CASE("Ledger durable write cost and throughput", "[.bench]") {
  TempDir dir;
  const std::string path = dir.file("bench.db");
  auto ledger = must_open(path, Access::read_write);
  using Clock = std::chrono::steady_clock;

  constexpr int k_single = 500;
  auto start = Clock::now();
  for (int i = 0; i < k_single; ++i) {
    require_ok(ledger->record_intent(
        make_intent(fmt::format("a{:07x}", i), "t", "web", "db")));
  }
  const double write_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
      k_single;

  constexpr int k_threads = 8;
  constexpr int k_pairs = 100;
  start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < k_pairs; ++i) {
        const std::string id = fmt::format("b{:02x}{:05x}", t, i);
        require_ok(ledger->record_intent(make_intent(id, "t", "web", "db")));
        require_ok(ledger->record_issued(id, make_outcome("acc" + id, 0)));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();

  // The ledger's own two inserts, straight through SQLite, with and
  // without the fsync per commit: what synchronous=FULL costs.
  const auto raw_intent_us = [&](const std::string& file,
                                 std::string_view synchronous) {
    must_open(file, Access::read_write); // the schema
    auto raw = raw_open(file);
    require_ok(raw->exec(fmt::format("PRAGMA synchronous = {}", synchronous)));
    const auto begun = Clock::now();
    for (int i = 0; i < k_single; ++i) {
      require_ok(raw->exec("BEGIN IMMEDIATE"));
      require_ok(raw->exec(fmt::format(
          "INSERT INTO issuance VALUES ('{:08x}', 1, 'task', 'web.1', 'svc',"
          " 'web', 'node', 'db', 'rule', 'token', '', '', '', '[]', 3600, 0,"
          " 'pending', 1, 'intent recorded');"
          "INSERT INTO issuance_history (issuance_id, at_ms, from_state,"
          " to_state, reason, actor) VALUES ('{:08x}', 1, NULL, 'pending',"
          " 'intent recorded', 'plugin');",
          i,
          i)));
      require_ok(raw->exec("COMMIT"));
    }
    return std::chrono::duration<double, std::micro>(Clock::now() - begun)
               .count() /
           k_single;
  };
  const double full_us = raw_intent_us(dir.file("full.db"), "FULL");
  const double normal_us = raw_intent_us(dir.file("normal.db"), "NORMAL");

  WARN(fmt::format("record_intent: {:.0f} us each; 8 threads: {:.0f} "
                   "intent+issued pairs/s; the same inserts raw: {:.0f} us "
                   "with synchronous=FULL, {:.0f} us with NORMAL",
                   write_us,
                   k_threads * k_pairs / seconds,
                   full_us,
                   normal_us));
}
