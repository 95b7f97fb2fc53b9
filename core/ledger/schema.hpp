#pragma once

#include "core/ledger/database.hpp"
#include "core/util/result.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace vsp::ledger {

// PRAGMA application_id of a vsp ledger ("vspL"), so another program's
// SQLite file at the ledger path is refused rather than written to.
inline constexpr std::int32_t k_application_id = 0x7673704c;

// One schema step: `sql` takes a ledger from version `version - 1` to
// `version`. Versions start at 1 and follow each other without gaps.
struct Migration {
  int version = 0;
  std::string_view sql;
};

// The ledger's schema history, oldest first; the last entry is current.
std::span<const Migration> schema_migrations();

// The version this vsp writes and reads (PRAGMA user_version).
int schema_version();

// Brings `db` up to the last of `steps`, each step in its own write
// transaction that also sets user_version, so a failing step leaves the
// file as it was before that step. Refuses a file from a newer vsp
// (ledger_too_new) and one that is not a vsp ledger (ledger_foreign).
Status migrate(Database& db, std::span<const Migration> steps);

// For a file opened read-only: fails unless it is a vsp ledger at exactly
// the last of `steps` (ledger_outdated, ledger_too_new, ledger_foreign).
Status check_schema(Database& db, std::span<const Migration> steps);

} // namespace vsp::ledger
