#pragma once

#include "core/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace vsp::ledger {

class Database;

// How Database::open() opens a file.
enum class OpenMode {
  read_write, // created if missing
  read_only,  // SQLITE_OPEN_READONLY; still uses the WAL and its index
  immutable,  // read-only and assumed unchanging: for read-only media only
};

// Maps an SQLite result code (`rc`, extended or not) and the OS error
// behind it to an Error whose message names the ledger `path`:
// disk full -> unavailable/ledger_full, read-only -> ledger_readonly,
// other I/O -> ledger_io, corrupt -> ledger_corrupt, locked -> timeout.
Error sqlite_error(const std::string& path,
                   int rc,
                   int os_errno,
                   std::string_view detail);

// Same for a failing system call on the ledger's file or directory.
Error os_error(const std::string& path, std::string_view action, int err);

// One prepared statement, owned by its Database's cache. Parameters are
// 1-based as in SQL (?1, ?2, ...). Not thread-safe; neither is Database.
class Statement {
public:
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // A failing bind is reported by the next step().
  void bind(int index, std::string_view text);
  void bind(int index, std::int64_t value);
  void bind_null(int index);

  // Steps once: true with a row to read, false when done.
  Result<bool> step();
  // Steps to the end, for statements that return no rows.
  Status run();

  std::string text(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

  // Clears bindings and ends the statement's read, if any.
  void reset();

private:
  friend class Database;
  friend class Borrowed;
  Statement(const Database& db, sqlite3_stmt* stmt);

  const Database& m_db;
  sqlite3_stmt* m_stmt;
  int m_bind_rc = 0;
  bool m_in_use = false;
};

// A cached statement lent for one use; dropping it resets the statement,
// so no read outlives the call that made it.
class Borrowed {
public:
  explicit Borrowed(Statement& statement);
  Borrowed(Borrowed&& other) noexcept;
  Borrowed& operator=(Borrowed&&) = delete;
  ~Borrowed();

  Statement* operator->() const { return m_statement; }
  Statement& operator*() const { return *m_statement; }

private:
  Statement* m_statement;
};

// One SQLite connection with a cache of prepared statements. Opened with
// SQLITE_OPEN_NOMUTEX: its owner serialises every use.
class Database {
public:
  // Opens `path`; `busy_timeout` bounds waits for another connection's lock.
  static Result<std::unique_ptr<Database>>
  open(const std::string& path,
       OpenMode mode,
       std::chrono::milliseconds busy_timeout);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  const std::string& path() const { return m_path; }

  // Runs SQL without parameters (pragmas, schema); may hold several
  // statements.
  Status exec(std::string_view sql);

  // The cached prepared form of `sql`, which must be built from constants
  // only: values travel as bound parameters.
  Result<Borrowed> prepare(std::string_view sql);

  // Runs a one-row, one-column query such as "PRAGMA user_version".
  Result<std::int64_t> query_integer(std::string_view sql);
  Result<std::string> query_text(std::string_view sql);

  // Whether SQLite opened the file read-only (it falls back silently when
  // the file is not writable).
  bool read_only() const;
  bool in_transaction() const;
  std::int64_t changes() const;
  // Heap memory SQLite holds for this connection: its page cache (capped
  // by the cache_size pragma), schema and prepared statements.
  std::int64_t memory_bytes() const;

  // The Error for result code `rc` of the last call on this connection.
  Error error(int rc) const;

private:
  Database(std::string path, sqlite3* handle);

  std::string m_path;
  sqlite3* m_handle;
  std::unordered_map<std::string, std::unique_ptr<Statement>> m_cache;
};

// A write transaction (BEGIN IMMEDIATE, so waiting for the write lock
// happens up front, under the busy timeout). Rolled back unless committed.
class Transaction {
public:
  static Result<Transaction> begin(Database& db);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  Status commit();

private:
  explicit Transaction(Database& db) : m_db(&db) {}

  Database* m_db;
};

} // namespace vsp::ledger
