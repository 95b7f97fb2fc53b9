#include "core/ledger/schema.hpp"

#include "core/util/log.hpp"

#include <fmt/format.h>

#include <array>

namespace vsp::ledger {
namespace {

// Version 1. Tables are STRICT so a value of the wrong type is an error,
// not a silent conversion. Times are milliseconds since the epoch (UTC).
constexpr std::string_view k_v1 = R"sql(
CREATE TABLE issuance (
  id                TEXT PRIMARY KEY NOT NULL,
  created_ms        INTEGER NOT NULL,
  task_id           TEXT NOT NULL,
  task_name         TEXT NOT NULL,
  service_id        TEXT NOT NULL,
  service_name      TEXT NOT NULL,
  node_id           TEXT NOT NULL,
  secret            TEXT NOT NULL,
  rule              TEXT NOT NULL,
  kind              TEXT NOT NULL,
  accessor          TEXT NOT NULL,
  wrapping_accessor TEXT NOT NULL,
  lease_id          TEXT NOT NULL,
  policies          TEXT NOT NULL,   -- JSON array of policy names
  ttl_s             INTEGER NOT NULL,
  expires_ms        INTEGER NOT NULL, -- 0: no known expiry
  state             TEXT NOT NULL,
  changed_ms        INTEGER NOT NULL,
  reason            TEXT NOT NULL
) STRICT;
CREATE INDEX issuance_by_task ON issuance (task_id, secret);
CREATE INDEX issuance_by_service_id ON issuance (service_id);
CREATE INDEX issuance_by_service_name ON issuance (service_name);
CREATE INDEX issuance_by_secret ON issuance (secret);
CREATE INDEX issuance_by_node ON issuance (node_id);
CREATE INDEX issuance_by_accessor ON issuance (accessor);
CREATE INDEX issuance_by_wrapping_accessor ON issuance (wrapping_accessor);
CREATE INDEX issuance_by_lease ON issuance (lease_id);
CREATE INDEX issuance_by_state ON issuance (state, changed_ms);
CREATE INDEX issuance_by_created ON issuance (created_ms);

CREATE TABLE issuance_history (
  seq         INTEGER PRIMARY KEY,
  issuance_id TEXT NOT NULL REFERENCES issuance (id) ON DELETE CASCADE,
  at_ms       INTEGER NOT NULL,
  from_state  TEXT,                 -- NULL: the row's creation
  to_state    TEXT NOT NULL,
  reason      TEXT NOT NULL,
  actor       TEXT NOT NULL         -- plugin, cli or poller
) STRICT;
CREATE INDEX issuance_history_by_issuance
  ON issuance_history (issuance_id, seq);
)sql";

constexpr std::array k_migrations = {
    Migration{1, k_v1},
};

Error schema_error(ErrorKind kind,
                   const char* code,
                   const Database& db,
                   std::string_view detail) {
  return Error(kind, code, fmt::format("ledger {}: {}", db.path(), detail));
}

int target_of(std::span<const Migration> steps) {
  return steps.empty() ? 0 : steps.back().version;
}

// The file's schema version, once it is known to be ours (or empty) and
// not newer than `target`.
Result<int> identify(Database& db, int target) {
  auto application = db.query_integer("PRAGMA application_id");
  if (!application.ok()) {
    return application.error();
  }
  auto version = db.query_integer("PRAGMA user_version");
  if (!version.ok()) {
    return version.error();
  }
  auto objects = db.query_integer("SELECT count(*) FROM sqlite_schema");
  if (!objects.ok()) {
    return objects.error();
  }

  const bool blank = *application == 0 && *version == 0 && *objects == 0;
  if (*application != k_application_id && !blank) {
    return schema_error(
        ErrorKind::invalid_input,
        "ledger_foreign",
        db,
        fmt::format("not a vsp ledger (application id {:#x}, schema "
                    "version {}); refusing to use it",
                    *application,
                    *version));
  }
  if (*version > target) {
    return schema_error(
        ErrorKind::unavailable,
        "ledger_too_new",
        db,
        fmt::format("schema version {} is newer than this vsp supports "
                    "({}); use a newer vsp",
                    *version,
                    target));
  }
  return static_cast<int>(*version);
}

// Runs the step from `from` to `from + 1` inside the caller's transaction.
Status apply(Database& db, std::span<const Migration> steps, int from) {
  const auto index = static_cast<std::size_t>(from);
  if (index >= steps.size() || steps[index].version != from + 1) {
    return schema_error(ErrorKind::internal,
                        "ledger_migration",
                        db,
                        fmt::format("no migration from version {}", from));
  }
  if (auto done = db.exec(steps[index].sql); !done.ok()) {
    return done.error().wrap(fmt::format("migration to version {}", from + 1));
  }
  // PRAGMAs take no bound parameters; both numbers are our constants.
  return db.exec(fmt::format("PRAGMA user_version = {}; "
                             "PRAGMA application_id = {};",
                             from + 1,
                             k_application_id));
}

} // namespace

std::span<const Migration> schema_migrations() {
  return k_migrations;
}

int schema_version() {
  return target_of(schema_migrations());
}

Status migrate(Database& db, std::span<const Migration> steps) {
  const int target = target_of(steps);
  // The common case, a current file, needs no write lock: opening beside
  // a busy writer must not wait for it.
  auto seen = identify(db, target);
  if (!seen.ok()) {
    return seen.error();
  }
  if (*seen == target) {
    return ok_status();
  }

  for (;;) {
    // Another process may be upgrading the same file: the version is read
    // again under the write lock each time.
    auto transaction = Transaction::begin(db);
    if (!transaction.ok()) {
      return transaction.error();
    }
    auto version = identify(db, target);
    if (!version.ok()) {
      return version.error();
    }
    if (*version == target) {
      return transaction->commit();
    }

    if (auto applied = apply(db, steps, *version); !applied.ok()) {
      return applied.error();
    }
    if (auto committed = transaction->commit(); !committed.ok()) {
      return committed.error();
    }
    log::info("ledger",
              "schema upgraded path={} from={} to={}",
              db.path(),
              *version,
              *version + 1);
  }
}

Status check_schema(Database& db, std::span<const Migration> steps) {
  const int target = target_of(steps);
  auto version = identify(db, target);
  if (!version.ok()) {
    return version.error();
  }
  if (*version < target) {
    return schema_error(
        ErrorKind::unavailable,
        "ledger_outdated",
        db,
        fmt::format("schema version {} is older than this vsp's ({}); "
                    "open it read-write once (start vsp-plugin) to upgrade",
                    *version,
                    target));
  }
  return ok_status();
}

} // namespace vsp::ledger
