#include "core/ledger/ledger.hpp"

#include "core/ledger/database.hpp"
#include "core/ledger/rows.hpp"
#include "core/ledger/schema.hpp"
#include "core/util/log.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

namespace vsp::ledger {
namespace {

// Prune deletes this many rows per transaction, so a writer waits for one
// batch at most.
constexpr std::int64_t k_prune_batch = 500;

// Each commit waits for its fsync, so a row reported recorded survives a
// power cut; foreign keys let prune() take a row's history with it; the
// WAL file is cut back to 4 MiB after a checkpoint.
constexpr std::string_view k_writer_pragmas =
    "PRAGMA synchronous = FULL;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA journal_size_limit = 4194304;";

const std::string k_select_issuance =
    fmt::format("SELECT {} FROM issuance", k_issuance_columns);

Error ledger_error(ErrorKind kind,
                   const char* code,
                   const std::string& path,
                   std::string_view detail) {
  return Error(kind, code, fmt::format("ledger {}: {}", path, detail));
}

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size)
                                        : 0;
}

// Creates the missing directories above `path`, each 0700.
Status make_parent(const std::string& path) {
  std::vector<std::filesystem::path> missing;
  for (auto dir = std::filesystem::path(path).parent_path(); !dir.empty();
       dir = dir.parent_path()) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      break;
    }
    if (errno != ENOENT) {
      return os_error(
          path, fmt::format("cannot reach {}", dir.string()), errno);
    }
    missing.push_back(dir);
    if (dir == dir.parent_path()) {
      break;
    }
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      return os_error(
          path, fmt::format("cannot create directory {}", it->string()), errno);
    }
  }
  return ok_status();
}

// Creates the file 0600 if missing (SQLite gives its -wal and -shm files
// the same mode), or checks an existing one can be written.
Status make_file(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const bool moded = ::fchmod(fd, 0600) == 0; // whatever the umask
    ::close(fd);
    if (!moded) {
      return os_error(path, "cannot set mode 0600", errno);
    }
    log::info("ledger", "created path={}", path);
    return ok_status();
  }
  if (errno != EEXIST) {
    return os_error(path, "cannot create", errno);
  }

  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return os_error(path, "cannot inspect", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return ledger_error(
        ErrorKind::invalid_input, "ledger_io", path, "not a regular file");
  }
  if (::access(path.c_str(), W_OK) != 0) {
    return os_error(path, "cannot write", errno);
  }
  if ((st.st_mode & 077) != 0) {
    log::warn("ledger",
              "file is open to group or others path={} mode={:o}",
              path,
              st.st_mode & 0777);
  }
  return ok_status();
}

Result<std::unique_ptr<Database>> open_writer(const std::string& path,
                                              const Options& options) {
  if (auto made = make_parent(path); !made.ok()) {
    return made.error();
  }
  if (auto made = make_file(path); !made.ok()) {
    return made.error();
  }
  auto db = Database::open(path, OpenMode::read_write, options.busy_timeout);
  if (!db.ok()) {
    return db.error();
  }
  if ((*db)->read_only()) {
    return ledger_error(ErrorKind::unavailable,
                        "ledger_readonly",
                        path,
                        "read-only (file permissions or a read-only file "
                        "system)");
  }

  auto journal = (*db)->query_text("PRAGMA journal_mode = WAL");
  if (!journal.ok()) {
    return journal.error();
  }
  if (*journal != "wal") {
    return ledger_error(
        ErrorKind::unavailable,
        "ledger_io",
        path,
        fmt::format("cannot use write-ahead logging (journal mode {})",
                    *journal));
  }
  if (auto set = (*db)->exec(k_writer_pragmas); !set.ok()) {
    return set.error();
  }
  if (auto migrated = migrate(**db, schema_migrations()); !migrated.ok()) {
    return migrated.error();
  }
  return db;
}

bool on_read_only_file_system(const std::string& path) {
  struct statvfs fs {};
  return ::statvfs(path.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0;
}

// A read-only connection still needs the WAL index (-shm), which it cannot
// create on read-only media. There, with nothing left in the WAL, the file
// alone is the whole ledger and is read as immutable.
Result<std::unique_ptr<Database>> open_snapshot(const std::string& path,
                                                const Options& options) {
  if (file_size(path + "-wal") > 0) {
    return ledger_error(ErrorKind::unavailable,
                        "ledger_readonly",
                        path,
                        "read-only file system, and its write-ahead log "
                        "holds rows not yet merged; copy the ledger and its "
                        "-wal file somewhere writable to read it");
  }
  log::debug("ledger", "reading as immutable (read-only media) path={}", path);
  auto db = Database::open(path, OpenMode::immutable, options.busy_timeout);
  if (!db.ok()) {
    return db.error();
  }
  if (auto checked = check_schema(**db, schema_migrations()); !checked.ok()) {
    return checked.error();
  }
  return db;
}

Result<std::unique_ptr<Database>> open_reader(const std::string& path,
                                              const Options& options) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return ledger_error(ErrorKind::not_found,
                        "ledger_missing",
                        path,
                        "no such file (nothing recorded yet, or another "
                        "VSP_LEDGER)");
  }
  auto db = Database::open(path, OpenMode::read_only, options.busy_timeout);
  if (!db.ok()) {
    return db.error();
  }
  if (auto set = (*db)->exec("PRAGMA query_only = ON"); !set.ok()) {
    return set.error();
  }

  // On read-only media SQLite fails to open the WAL index: EROFS when it
  // tries to create it, ENOENT when it then looks for an existing one.
  auto checked = check_schema(**db, schema_migrations());
  if (!checked.ok() &&
      (checked.error().code == "ledger_readonly" ||
       checked.error().code == "ledger_io") &&
      on_read_only_file_system(path)) {
    return open_snapshot(path, options);
  }
  if (!checked.ok()) {
    return checked.error();
  }
  return db;
}

Error not_found(const std::string& path, const std::string& id) {
  return ledger_error(ErrorKind::not_found,
                      "ledger_not_found",
                      path,
                      fmt::format("no issuance {}", id));
}

Status insert_history(Database& db,
                      const std::string& id,
                      std::int64_t at_ms,
                      std::optional<State> from,
                      State to,
                      std::string_view reason,
                      Actor actor) {
  auto insert =
      db.prepare("INSERT INTO issuance_history "
                 "(issuance_id, at_ms, from_state, to_state, reason, actor) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!insert.ok()) {
    return insert.error();
  }
  (*insert)->bind(1, id);
  (*insert)->bind(2, at_ms);
  if (from) {
    (*insert)->bind(3, std::string_view(to_string(*from)));
  } else {
    (*insert)->bind_null(3);
  }
  (*insert)->bind(4, std::string_view(to_string(to)));
  (*insert)->bind(5, reason);
  (*insert)->bind(6, std::string_view(to_string(actor)));
  return (*insert)->run();
}

Status insert_intent(Database& db,
                     const Issuance& intent,
                     std::int64_t now,
                     std::string_view reason) {
  auto insert = db.prepare(fmt::format(
      "INSERT INTO issuance ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
      "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
      k_issuance_columns));
  if (!insert.ok()) {
    return insert.error();
  }
  bind_all(**insert,
           {intent.id,
            intent.created_ms != 0 ? intent.created_ms : now,
            intent.task_id,
            intent.task_name,
            intent.service_id,
            intent.service_name,
            intent.node_id,
            intent.secret,
            intent.rule,
            intent.kind,
            intent.accessor,
            intent.wrapping_accessor,
            intent.lease_id,
            policies_to_json(intent.policies),
            intent.ttl_s,
            intent.expires_ms,
            std::string(to_string(State::pending)),
            now,
            std::string(reason)});
  auto done = (*insert)->run();
  if (!done.ok() && done.error().code == "ledger_constraint") {
    return ledger_error(
        ErrorKind::invalid_input,
        "ledger_duplicate",
        db.path(),
        fmt::format("issuance {} is already recorded", intent.id));
  }
  return done;
}

// The row's state and policies, read inside the caller's transaction.
struct Current {
  State state = State::pending;
  std::string policies;
};

Result<Current> read_current(Database& db, const std::string& id) {
  auto select =
      db.prepare("SELECT state, policies FROM issuance WHERE id = ?1");
  if (!select.ok()) {
    return select.error();
  }
  (*select)->bind(1, id);
  auto row = (*select)->step();
  if (!row.ok()) {
    return row.error();
  }
  if (!*row) {
    return not_found(db.path(), id);
  }
  const auto state = parse_state((*select)->text(0));
  if (!state) {
    return ledger_error(ErrorKind::unavailable,
                        "ledger_corrupt",
                        db.path(),
                        fmt::format("issuance {} has an unknown state", id));
  }
  return Current{*state, (*select)->text(1)};
}

// One change to an existing row in a transaction of its own: `change` gets
// the row's current state and writes; the transaction commits if it
// succeeds.
template <typename Change>
Status change_row(Database& db, const std::string& id, Change&& change) {
  auto transaction = Transaction::begin(db);
  if (!transaction.ok()) {
    return transaction.error();
  }
  auto current = read_current(db, id);
  if (!current.ok()) {
    return current.error();
  }
  if (auto done = change(*current); !done.ok()) {
    return done;
  }
  return transaction->commit();
}

Status update_row(Database& db,
                  const std::string& id,
                  const Current& current,
                  State to,
                  std::int64_t now,
                  std::string_view reason,
                  const Outcome* outcome) {
  if (outcome == nullptr) {
    auto update = db.prepare("UPDATE issuance SET state = ?1, changed_ms = ?2, "
                             "reason = ?3 WHERE id = ?4");
    if (!update.ok()) {
      return update.error();
    }
    bind_all(**update,
             {std::string(to_string(to)), now, std::string(reason), id});
    return (*update)->run();
  }

  auto update = db.prepare(
      "UPDATE issuance SET state = ?1, changed_ms = ?2, reason = ?3, "
      "accessor = ?4, wrapping_accessor = ?5, lease_id = ?6, policies = ?7, "
      "ttl_s = ?8, expires_ms = ?9 WHERE id = ?10");
  if (!update.ok()) {
    return update.error();
  }
  bind_all(**update,
           {std::string(to_string(to)),
            now,
            std::string(reason),
            outcome->accessor,
            outcome->wrapping_accessor,
            outcome->lease_id,
            outcome->policies.empty() ? current.policies
                                      : policies_to_json(outcome->policies),
            outcome->ttl_s,
            outcome->expires_ms,
            id});
  return (*update)->run();
}

// Decodes a row of "SELECT at_ms, from_state, to_state, reason, actor".
Result<HistoryEntry> read_history_entry(const Statement& row,
                                        const std::string& path,
                                        const std::string& id) {
  HistoryEntry entry;
  entry.at_ms = row.integer(0);
  const bool created = row.is_null(1);
  if (!created) {
    entry.from = parse_state(row.text(1));
  }
  const auto to = parse_state(row.text(2));
  const auto actor = parse_actor(row.text(4));
  if (!to || !actor || (!created && !entry.from)) {
    return ledger_error(
        ErrorKind::unavailable,
        "ledger_corrupt",
        path,
        fmt::format("history of issuance {} is unreadable", id));
  }
  entry.to = *to;
  entry.reason = row.text(3);
  entry.actor = *actor;
  return entry;
}

Result<std::vector<Issuance>> find_rows(Database& db, const Query& query) {
  auto select = select_for(db.path(), query);
  if (!select.ok()) {
    return select.error();
  }
  return query_issuances(db, select->sql, select->params);
}

} // namespace

Ledger::Ledger(std::string path,
               Access access,
               std::unique_ptr<Database> db,
               Options options)
    : m_path(std::move(path)), m_access(access), m_options(std::move(options)),
      m_db(std::move(db)) {}

Ledger::~Ledger() = default;

Result<std::unique_ptr<Ledger>>
Ledger::open(const std::string& path, Access access, Options options) {
  if (path.empty()) {
    return Error(ErrorKind::invalid_input, "ledger_invalid", "ledger: no path");
  }
  auto db = access == Access::read_write ? open_writer(path, options)
                                         : open_reader(path, options);
  if (!db.ok()) {
    return db.error();
  }
  log::debug("ledger",
             "opened path={} access={}",
             path,
             access == Access::read_write ? "read-write" : "read-only");
  return std::unique_ptr<Ledger>(
      new Ledger(path, access, std::move(*db), std::move(options)));
}

std::int64_t Ledger::now() const {
  return m_options.now_ms ? m_options.now_ms() : system_now_ms();
}

Status Ledger::writable() const {
  if (m_access == Access::read_only) {
    return ledger_error(ErrorKind::internal,
                        "ledger_read_only_handle",
                        m_path,
                        "opened read-only, cannot write");
  }
  return ok_status();
}

Status Ledger::record_intent(const Issuance& intent) {
  if (auto valid = validate_intent(m_path, intent); !valid.ok()) {
    return valid;
  }
  const std::string reason =
      intent.reason.empty() ? "intent recorded" : short_reason(intent.reason);
  return write([&]() -> Status {
    const std::int64_t at = now();
    auto transaction = Transaction::begin(*m_db);
    if (!transaction.ok()) {
      return transaction.error();
    }
    if (auto done = insert_intent(*m_db, intent, at, reason); !done.ok()) {
      return done;
    }
    if (auto done = insert_history(*m_db,
                                   intent.id,
                                   at,
                                   std::nullopt,
                                   State::pending,
                                   reason,
                                   Actor::plugin);
        !done.ok()) {
      return done;
    }
    return transaction->commit();
  });
}

Status Ledger::record_issued(const std::string& id, const Outcome& outcome) {
  if (auto valid = validate_outcome(m_path, outcome); !valid.ok()) {
    return valid;
  }
  return write([&] {
    return transition(id, State::issued, "issued", Actor::plugin, &outcome);
  });
}

Status Ledger::record_failed(const std::string& id, std::string_view reason) {
  if (auto valid = validate_reason(m_path, reason); !valid.ok()) {
    return valid;
  }
  return write([&] {
    return transition(id,
                      State::failed,
                      reason.empty() ? "failed" : short_reason(reason),
                      Actor::plugin,
                      nullptr);
  });
}

Status Ledger::record_renewed(const std::string& id,
                              std::int64_t ttl_s,
                              std::int64_t expires_ms) {
  return write([&] {
    return change_row(*m_db, id, [&](const Current& current) -> Status {
      if (current.state != State::issued) {
        return ledger_error(ErrorKind::invalid_input,
                            "ledger_transition",
                            m_path,
                            fmt::format("issuance {} is {}; only an issued one "
                                        "can be renewed",
                                        id,
                                        to_string(current.state)));
      }
      auto update = m_db->prepare(
          "UPDATE issuance SET ttl_s = ?1, expires_ms = ?2 WHERE id = ?3");
      if (!update.ok()) {
        return update.error();
      }
      bind_all(**update, {ttl_s, expires_ms, id});
      if (auto done = (*update)->run(); !done.ok()) {
        return done;
      }
      return insert_history(*m_db,
                            id,
                            now(),
                            State::issued,
                            State::issued,
                            fmt::format("renewed for {}s", ttl_s),
                            Actor::poller);
    });
  });
}

Status Ledger::set_state(const std::string& id,
                         State state,
                         std::string_view reason,
                         Actor actor) {
  if (state == State::pending) {
    return ledger_error(ErrorKind::invalid_input,
                        "ledger_transition",
                        m_path,
                        "only record_intent() makes a row pending");
  }
  if (auto valid = validate_reason(m_path, reason); !valid.ok()) {
    return valid;
  }
  return write([&] {
    return transition(id, state, short_reason(reason), actor, nullptr);
  });
}

Status Ledger::write(const std::function<Status()>& change) {
  std::lock_guard lock(m_mutex);
  if (auto ok = writable(); !ok.ok()) {
    return ok;
  }
  Status done = change();
  std::lock_guard failure_lock(m_failure_mutex);
  if (done.ok()) {
    m_write_failure.reset();
  } else if (done.error().kind != ErrorKind::invalid_input &&
             done.error().kind != ErrorKind::not_found) {
    // Storage, not the caller: disk full, read-only, I/O, a busy lock.
    m_write_failure = WriteFailure{done.error().message, now()};
  }
  return done;
}

std::optional<Ledger::WriteFailure> Ledger::last_write_failure() const {
  std::lock_guard lock(m_failure_mutex);
  return m_write_failure;
}

// Called inside write().
Status Ledger::transition(const std::string& id,
                          State to,
                          std::string_view reason,
                          Actor actor,
                          const Outcome* outcome) {
  const std::int64_t at = now();
  return change_row(*m_db, id, [&](const Current& current) -> Status {
    if (current.state == to && outcome == nullptr) {
      return ok_status(); // already there: nothing to record
    }
    if (current.state == to) {
      return ledger_error(
          ErrorKind::invalid_input,
          "ledger_transition",
          m_path,
          fmt::format("issuance {} is already {}", id, to_string(to)));
    }
    if (!can_move(current.state, to)) {
      return ledger_error(ErrorKind::invalid_input,
                          "ledger_transition",
                          m_path,
                          fmt::format("issuance {} is {}; it cannot become {}",
                                      id,
                                      to_string(current.state),
                                      to_string(to)));
    }
    if (auto done = update_row(*m_db, id, current, to, at, reason, outcome);
        !done.ok()) {
      return done;
    }
    return insert_history(*m_db, id, at, current.state, to, reason, actor);
  });
}

Result<Issuance> Ledger::get(const std::string& id) {
  std::lock_guard lock(m_mutex);
  auto rows =
      query_issuances(*m_db, k_select_issuance + " WHERE id = ?1", {id});
  if (!rows.ok()) {
    return rows.error();
  }
  if (rows->empty()) {
    return not_found(m_path, id);
  }
  return std::move(rows->front());
}

Result<std::vector<Issuance>> Ledger::find(const Query& query) {
  std::lock_guard lock(m_mutex);
  return find_rows(*m_db, query);
}

Result<std::vector<Issuance>> Ledger::open_intents() {
  Query query;
  query.states = {State::pending};
  query.order = Order::oldest_first;
  std::lock_guard lock(m_mutex);
  return find_rows(*m_db, query);
}

Result<std::vector<HistoryEntry>> Ledger::history(const std::string& id) {
  std::lock_guard lock(m_mutex);
  auto select = m_db->prepare(
      "SELECT at_ms, from_state, to_state, reason, actor "
      "FROM issuance_history WHERE issuance_id = ?1 ORDER BY seq");
  if (!select.ok()) {
    return select.error();
  }
  (*select)->bind(1, id);

  std::vector<HistoryEntry> entries;
  for (;;) {
    auto more = (*select)->step();
    if (!more.ok()) {
      return more.error();
    }
    if (!*more) {
      break;
    }
    auto entry = read_history_entry(**select, m_path, id);
    if (!entry.ok()) {
      return entry.error();
    }
    entries.push_back(std::move(*entry));
  }
  // Every row's history starts with its creation.
  if (entries.empty()) {
    return not_found(m_path, id);
  }
  return entries;
}

Result<std::vector<TaskIssuances>> Ledger::live_by_task(std::int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  auto rows = query_issuances(
      *m_db,
      k_select_issuance +
          " WHERE state = ?1 AND (expires_ms = 0 OR expires_ms > ?2)"
          " ORDER BY task_id, created_ms, id",
      {std::string(to_string(State::issued)), now_ms});
  if (!rows.ok()) {
    return rows.error();
  }

  std::vector<TaskIssuances> tasks;
  for (auto& row : *rows) {
    if (tasks.empty() || tasks.back().task_id != row.task_id) {
      tasks.push_back(TaskIssuances{row.task_id, {}});
    }
    tasks.back().issuances.push_back(std::move(row));
  }
  return tasks;
}

Result<std::vector<Duplicate>> Ledger::duplicates() {
  std::lock_guard lock(m_mutex);
  auto select = m_db->prepare(
      "SELECT task_id, secret, id FROM issuance"
      " WHERE state = ?1 AND task_id != '' AND (task_id, secret) IN"
      " (SELECT task_id, secret FROM issuance WHERE state = ?1"
      "  AND task_id != '' GROUP BY task_id, secret HAVING count(*) > 1)"
      " ORDER BY task_id, secret, created_ms, id");
  if (!select.ok()) {
    return select.error();
  }
  (*select)->bind(1, std::string_view(to_string(State::issued)));

  std::vector<Duplicate> found;
  for (;;) {
    auto more = (*select)->step();
    if (!more.ok()) {
      return more.error();
    }
    if (!*more) {
      return found;
    }
    std::string task = (*select)->text(0);
    std::string secret = (*select)->text(1);
    if (found.empty() || found.back().task_id != task ||
        found.back().secret != secret) {
      found.push_back(Duplicate{std::move(task), std::move(secret), {}});
    }
    found.back().ids.push_back((*select)->text(2));
  }
}

Result<Stats> Ledger::stats() {
  std::lock_guard lock(m_mutex);
  auto select =
      m_db->prepare("SELECT state, count(*) FROM issuance GROUP BY state");
  if (!select.ok()) {
    return select.error();
  }
  Stats stats;
  for (const State state : {State::pending,
                            State::issued,
                            State::revoked,
                            State::expired,
                            State::failed,
                            State::unknown}) {
    stats.rows[state] = 0;
  }
  for (;;) {
    auto more = (*select)->step();
    if (!more.ok()) {
      return more.error();
    }
    if (!*more) {
      break;
    }
    if (const auto state = parse_state((*select)->text(0))) {
      stats.rows[*state] = (*select)->integer(1);
    }
  }
  stats.file_bytes = file_size(m_path);
  stats.wal_bytes = file_size(m_path + "-wal");
  return stats;
}

std::int64_t Ledger::memory_bytes() {
  std::lock_guard lock(m_mutex);
  return m_db->memory_bytes();
}

Result<std::int64_t> Ledger::prune(std::int64_t cutoff_ms) {
  std::int64_t total = 0;
  for (;;) {
    // The lock is taken per batch so other threads' writes interleave.
    std::lock_guard lock(m_mutex);
    if (auto ok = writable(); !ok.ok()) {
      return ok.error();
    }
    auto transaction = Transaction::begin(*m_db);
    if (!transaction.ok()) {
      return transaction.error();
    }
    // History rows go with their issuance (ON DELETE CASCADE).
    auto remove = m_db->prepare(
        "DELETE FROM issuance WHERE id IN (SELECT id FROM issuance"
        " WHERE state IN (?1, ?2, ?3) AND changed_ms < ?4 LIMIT ?5)");
    if (!remove.ok()) {
      return remove.error();
    }
    bind_all(**remove,
             {std::string(to_string(State::revoked)),
              std::string(to_string(State::expired)),
              std::string(to_string(State::failed)),
              cutoff_ms,
              k_prune_batch});
    if (auto done = (*remove)->run(); !done.ok()) {
      return done.error();
    }
    const std::int64_t removed = m_db->changes();
    if (auto done = transaction->commit(); !done.ok()) {
      return done.error();
    }
    total += removed;
    if (removed < k_prune_batch) {
      break;
    }
  }
  if (total > 0) {
    log::info("ledger", "pruned path={} rows={}", m_path, total);
  }
  return total;
}

Status Ledger::check() {
  std::lock_guard lock(m_mutex);
  // quick_check answers "ok", or rows of problems (a row may hold several
  // lines, the first led by "*** in database main ***").
  auto select = m_db->prepare("PRAGMA quick_check(3)");
  if (!select.ok()) {
    return select.error();
  }
  std::vector<std::string> problems;
  for (;;) {
    auto more = (*select)->step();
    if (!more.ok()) {
      return more.error();
    }
    if (!*more) {
      break;
    }
    const std::string text = (*select)->text(0);
    for (std::size_t at = 0; at < text.size();) {
      const auto end = std::min(text.find('\n', at), text.size());
      const std::string_view line(text.data() + at, end - at);
      if (!line.empty() && line != "ok" && !line.starts_with("***")) {
        problems.emplace_back(line);
      }
      at = end + 1;
    }
  }
  if (!problems.empty()) {
    return ledger_error(
        ErrorKind::unavailable,
        "ledger_corrupt",
        m_path,
        fmt::format("integrity check failed: {}", fmt::join(problems, "; ")));
  }
  return ok_status();
}

} // namespace vsp::ledger
