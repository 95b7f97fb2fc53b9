#pragma once

#include "core/ledger/issuance.hpp"
#include "core/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsp::ledger {

class Database;

struct Options {
  // How long a write waits for another process's write lock (`vsp revoke`
  // beside the plugin, say) before failing with ledger_busy.
  std::chrono::milliseconds busy_timeout{5000};
  // Milliseconds since the epoch; tests replace it. Empty: the system clock.
  std::function<std::int64_t()> now_ms;
};

// vsp's durable record of what it issued to which Swarm task: one SQLite
// file in WAL mode, every write committed with synchronous=FULL. The plugin
// writes it; the CLI opens the same file beside it, read-only for `audit`
// and read-write for `revoke`.
//
// Thread-safe: one connection per Ledger, every call serialised by a mutex.
// SQLite admits one writer at a time anyway, and each write waits for an
// fsync, so more connections would only trade our queue for SQLite's
// polling busy handler. A second process waits under the busy timeout.
//
// Every failure names the file: a full disk is unavailable/ledger_full,
// a read-only file or file system ledger_readonly, other I/O ledger_io,
// a damaged file ledger_corrupt, a lock held too long timeout/ledger_busy.
// A failed write changes nothing: what was committed before stays.
class Ledger {
public:
  // Opens (read-write: creates, with a 0700 parent directory and a 0600
  // file, and upgrades the schema of) the ledger at `path`. Refuses a file
  // from a newer vsp, another program's file, and a corrupt one.
  static Result<std::unique_ptr<Ledger>>
  open(const std::string& path, Access access, Options options = {});

  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  ~Ledger();

  const std::string& path() const { return m_path; }
  Access access() const { return m_access; }

  // Records `intent` (state pending) before Vault is asked, by the plugin;
  // `changed_ms` is now, and so is a zero `created_ms`. Needs an ID of
  // lowercase hex, a secret and a kind; refuses a duplicate ID
  // (ledger_duplicate) and any field shaped like a Vault token.
  Status record_intent(const Issuance& intent);

  // Completes a pending (or unknown) row with what Vault answered; a row
  // already issued is refused (ledger_transition), not overwritten.
  Status record_issued(const std::string& id, const Outcome& outcome);

  // Marks a pending (or unknown) row failed: Vault refused or the call
  // failed before anything was issued.
  Status record_failed(const std::string& id, std::string_view reason);

  // Notes that an issued row's lease was renewed: its TTL and expiry
  // become `ttl_s` and `expires_ms`, with an entry in its history. Fails
  // with not_found for an unknown ID and invalid_input (ledger_transition)
  // for a row that is not issued.
  Status record_renewed(const std::string& id,
                        std::int64_t ttl_s,
                        std::int64_t expires_ms);

  // Moves a row to `state` as can_move() allows, noting `reason` and
  // `actor` in its history. Setting the state it already has is a no-op.
  // Fails with not_found for an unknown ID and invalid_input
  // (ledger_transition) for a move can_move() refuses.
  Status set_state(const std::string& id,
                   State state,
                   std::string_view reason,
                   Actor actor);

  // The row with ID `id`, or not_found.
  Result<Issuance> get(const std::string& id);

  // Rows matching every filter in `query`.
  Result<std::vector<Issuance>> find(const Query& query);

  // Pending rows, oldest first: intents a crash left unsettled. The plugin
  // settles them at start-up (record_issued, set_state revoked/unknown).
  Result<std::vector<Issuance>> open_intents();

  // A row's state changes, oldest first (the first is its creation).
  Result<std::vector<HistoryEntry>> history(const std::string& id);

  // Issued rows not past their expiry at `now_ms` (0 expiry: no known
  // end, so live), grouped by task ID in order, each group oldest first.
  Result<std::vector<TaskIssuances>> live_by_task(std::int64_t now_ms);

  // Tasks holding more than one issued row for the same secret.
  Result<std::vector<Duplicate>> duplicates();

  // Row counts by state and the size of the file and its WAL.
  Result<Stats> stats();

  // Heap memory SQLite holds for this handle (Database::memory_bytes).
  std::int64_t memory_bytes();

  // Deletes settled rows (revoked, expired, failed) whose state changed
  // before `cutoff_ms`, with their history, in short batches so writers
  // are not held up. Returns how many rows went.
  Result<std::int64_t> prune(std::int64_t cutoff_ms);

  // Runs SQLite's quick_check; ledger_corrupt if the file is damaged.
  Status check();

  // The last write refused by storage (disk full, read-only, I/O), kept
  // until a later write succeeds, so `vsp status` can say why requests
  // fail before anyone reads the log.
  struct WriteFailure {
    std::string message;
    std::int64_t at_ms = 0;
  };
  std::optional<WriteFailure> last_write_failure() const;

private:
  Ledger(std::string path,
         Access access,
         std::unique_ptr<Database> db,
         Options options);

  std::int64_t now() const;
  Status writable() const;
  // Runs `change` under m_mutex on a writable handle and keeps
  // m_write_failure up to date with its outcome.
  Status write(const std::function<Status()>& change);
  Status transition(const std::string& id,
                    State to,
                    std::string_view reason,
                    Actor actor,
                    const Outcome* outcome);

  const std::string m_path;
  const Access m_access;
  const Options m_options;
  std::mutex m_mutex; // guards m_db: the connection and its statements
  std::unique_ptr<Database> m_db;
  mutable std::mutex m_failure_mutex; // guards m_write_failure
  std::optional<WriteFailure> m_write_failure;
};

} // namespace vsp::ledger
