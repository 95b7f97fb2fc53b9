#include "core/ledger/database.hpp"

#include "core/util/log.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <cctype>
#include <cerrno>
#include <system_error>
#include <utility>

namespace vsp::ledger {
namespace {

// Distinct statements are few (find() builds one per combination of
// filters in use); the bound only stops a pathological caller.
constexpr std::size_t k_cache_limit = 64;

std::string errno_text(int err) {
  std::string text = std::generic_category().message(err);
  if (!text.empty()) {
    text[0] =
        static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

Error ledger_failure(ErrorKind kind,
                     const char* code,
                     const std::string& path,
                     std::string_view detail) {
  return Error(kind, code, fmt::format("ledger {}: {}", path, detail));
}

// Classifies an OS error seen while opening, reading or writing.
Error classify_errno(const std::string& path, std::string_view what, int err) {
  switch (err) {
  case ENOSPC:
  case EDQUOT:
    return ledger_failure(
        ErrorKind::unavailable, "ledger_full", path, "disk full");
  case EROFS:
  case EACCES:
  case EPERM:
    return ledger_failure(ErrorKind::unavailable,
                          "ledger_readonly",
                          path,
                          fmt::format("read-only: {}", errno_text(err)));
  default:
    return ledger_failure(ErrorKind::unavailable,
                          "ledger_io",
                          path,
                          fmt::format("{}: {}", what, errno_text(err)));
  }
}

// A URI for sqlite3_open_v2 with SQLITE_OPEN_URI: only '%', '?' and '#'
// (and bytes that are not printable ASCII) need escaping in the path.
std::string immutable_uri(const std::string& path) {
  std::string uri = "file:";
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '%' || c == '?' || c == '#' || u <= 0x20 || u >= 0x7f) {
      uri += fmt::format("%{:02X}", u);
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

} // namespace

Error sqlite_error(const std::string& path,
                   int rc,
                   int os_errno,
                   std::string_view detail) {
  switch (rc & 0xff) {
  case SQLITE_FULL:
    return ledger_failure(
        ErrorKind::unavailable, "ledger_full", path, "disk full");
  case SQLITE_READONLY:
  case SQLITE_PERM:
    if (rc == SQLITE_READONLY_DIRECTORY) {
      return ledger_failure(ErrorKind::unavailable,
                            "ledger_readonly",
                            path,
                            "read-only: its directory is not writable "
                            "(the -wal and -shm files live there)");
    }
    if (os_errno == EROFS || os_errno == EACCES || os_errno == EPERM) {
      return classify_errno(path, "read-only", os_errno);
    }
    return ledger_failure(
        ErrorKind::unavailable,
        "ledger_readonly",
        path,
        "read-only (file permissions or a read-only file system)");
  case SQLITE_CANTOPEN:
    if (os_errno != 0) {
      return classify_errno(path, "cannot open", os_errno);
    }
    return ledger_failure(ErrorKind::unavailable,
                          "ledger_io",
                          path,
                          fmt::format("cannot open: {}", detail));
  case SQLITE_IOERR:
    if (os_errno != 0) {
      return classify_errno(path, "i/o error", os_errno);
    }
    return ledger_failure(ErrorKind::unavailable,
                          "ledger_io",
                          path,
                          fmt::format("i/o error: {}", detail));
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return ledger_failure(
        ErrorKind::unavailable,
        "ledger_corrupt",
        path,
        fmt::format("corrupt or not a database file ({})", detail));
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return ledger_failure(
        ErrorKind::timeout,
        "ledger_busy",
        path,
        "busy: another connection held its lock past the busy timeout");
  case SQLITE_CONSTRAINT:
    return ledger_failure(
        ErrorKind::invalid_input, "ledger_constraint", path, detail);
  case SQLITE_NOMEM:
    return ledger_failure(
        ErrorKind::internal, "ledger_nomem", path, "out of memory");
  default:
    return ledger_failure(ErrorKind::internal, "ledger_sqlite", path, detail);
  }
}

Error os_error(const std::string& path, std::string_view action, int err) {
  return classify_errno(path, action, err);
}

// --- Statement -------------------------------------------------------------

Statement::Statement(const Database& db, sqlite3_stmt* stmt)
    : m_db(db), m_stmt(stmt) {}

Statement::~Statement() {
  sqlite3_finalize(m_stmt);
}

void Statement::bind(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(
      m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
}

void Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(m_stmt, index, value);
  if (rc != SQLITE_OK && m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
}

void Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(m_stmt, index);
  if (rc != SQLITE_OK && m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
}

Result<bool> Statement::step() {
  if (m_bind_rc != SQLITE_OK) {
    return m_db.error(m_bind_rc);
  }
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return m_db.error(rc);
}

Status Statement::run() {
  for (;;) {
    auto more = step();
    if (!more.ok()) {
      return more.error();
    }
    if (!*more) {
      return ok_status();
    }
  }
}

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(m_stmt, column);
  const int size = sqlite3_column_bytes(m_stmt, column);
  if (data == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(data),
                     static_cast<std::size_t>(size));
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(m_stmt, column);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

void Statement::reset() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
  m_bind_rc = SQLITE_OK;
}

// --- Borrowed --------------------------------------------------------------

Borrowed::Borrowed(Statement& statement) : m_statement(&statement) {
  m_statement->m_in_use = true;
}

Borrowed::Borrowed(Borrowed&& other) noexcept
    : m_statement(std::exchange(other.m_statement, nullptr)) {}

Borrowed::~Borrowed() {
  if (m_statement != nullptr) {
    m_statement->reset();
    m_statement->m_in_use = false;
  }
}

// --- Database --------------------------------------------------------------

Database::Database(std::string path, sqlite3* handle)
    : m_path(std::move(path)), m_handle(handle) {}

Database::~Database() {
  m_cache.clear(); // statements first: close_v2 would otherwise linger
  sqlite3_close_v2(m_handle);
}

Result<std::unique_ptr<Database>>
Database::open(const std::string& path,
               OpenMode mode,
               std::chrono::milliseconds busy_timeout) {
  int flags = SQLITE_OPEN_NOMUTEX;
  std::string name = path;
  switch (mode) {
  case OpenMode::read_write:
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    break;
  case OpenMode::read_only:
    flags |= SQLITE_OPEN_READONLY;
    break;
  case OpenMode::immutable:
    flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
    name = immutable_uri(path);
    break;
  }

  sqlite3* handle = nullptr;
  const int rc = sqlite3_open_v2(name.c_str(), &handle, flags, nullptr);
  // The handle exists even when opening failed and must be closed.
  std::unique_ptr<Database> db(new Database(path, handle));
  if (handle == nullptr) {
    return sqlite_error(path, SQLITE_NOMEM, 0, "");
  }
  if (rc != SQLITE_OK) {
    return db->error(rc);
  }
  sqlite3_extended_result_codes(handle, 1);
  sqlite3_busy_timeout(handle, static_cast<int>(busy_timeout.count()));
  return db;
}

Status Database::exec(std::string_view sql) {
  const std::string text(sql);
  const int rc =
      sqlite3_exec(m_handle, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return error(rc);
  }
  return ok_status();
}

Result<Borrowed> Database::prepare(std::string_view sql) {
  const std::string key(sql);
  if (auto it = m_cache.find(key); it != m_cache.end()) {
    return Borrowed(*it->second);
  }
  if (m_cache.size() >= k_cache_limit) {
    std::erase_if(m_cache,
                  [](const auto& entry) { return !entry.second->m_in_use; });
  }

  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(m_handle,
                                    key.data(),
                                    static_cast<int>(key.size()),
                                    SQLITE_PREPARE_PERSISTENT,
                                    &stmt,
                                    nullptr);
  if (rc != SQLITE_OK) {
    return error(rc);
  }
  auto& slot = m_cache[key];
  slot.reset(new Statement(*this, stmt));
  return Borrowed(*slot);
}

Result<std::int64_t> Database::query_integer(std::string_view sql) {
  auto statement = prepare(sql);
  if (!statement.ok()) {
    return statement.error();
  }
  auto row = (*statement)->step();
  if (!row.ok()) {
    return row.error();
  }
  if (!*row) {
    return sqlite_error(m_path, SQLITE_ERROR, 0, "query returned no row");
  }
  return (*statement)->integer(0);
}

Result<std::string> Database::query_text(std::string_view sql) {
  auto statement = prepare(sql);
  if (!statement.ok()) {
    return statement.error();
  }
  auto row = (*statement)->step();
  if (!row.ok()) {
    return row.error();
  }
  if (!*row) {
    return sqlite_error(m_path, SQLITE_ERROR, 0, "query returned no row");
  }
  return (*statement)->text(0);
}

bool Database::read_only() const {
  return sqlite3_db_readonly(m_handle, "main") == 1;
}

bool Database::in_transaction() const {
  return sqlite3_get_autocommit(m_handle) == 0;
}

std::int64_t Database::changes() const {
  return sqlite3_changes64(m_handle);
}

std::int64_t Database::memory_bytes() const {
  std::int64_t total = 0;
  for (const int what : {SQLITE_DBSTATUS_CACHE_USED,
                         SQLITE_DBSTATUS_SCHEMA_USED,
                         SQLITE_DBSTATUS_STMT_USED}) {
    int current = 0;
    int highest = 0;
    if (sqlite3_db_status(m_handle, what, &current, &highest, 0) == SQLITE_OK) {
      total += current;
    }
  }
  return total;
}

Error Database::error(int rc) const {
  return sqlite_error(m_path,
                      rc,
                      sqlite3_system_errno(m_handle),
                      m_handle != nullptr ? sqlite3_errmsg(m_handle)
                                          : sqlite3_errstr(rc));
}

// --- Transaction -----------------------------------------------------------

Result<Transaction> Transaction::begin(Database& db) {
  auto begin = db.prepare("BEGIN IMMEDIATE");
  if (!begin.ok()) {
    return begin.error();
  }
  if (auto done = (*begin)->run(); !done.ok()) {
    return done.error();
  }
  return Transaction(db);
}

Transaction::Transaction(Transaction&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)) {}

Transaction::~Transaction() {
  // SQLite rolls back by itself after some failures (disk full, I/O);
  // only a transaction still open needs it.
  if (m_db == nullptr || !m_db->in_transaction()) {
    return;
  }
  if (auto undone = m_db->exec("ROLLBACK"); !undone.ok()) {
    log::warn("ledger", "rollback failed: {}", undone.error().message);
  }
}

Status Transaction::commit() {
  auto commit = m_db->prepare("COMMIT");
  if (!commit.ok()) {
    return commit.error();
  }
  if (auto done = (*commit)->run(); !done.ok()) {
    return done.error();
  }
  m_db = nullptr;
  return ok_status();
}

} // namespace vsp::ledger
