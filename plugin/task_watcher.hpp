#pragma once

#include "core/docker/engine_client.hpp"
#include "core/ledger/ledger.hpp"
#include "core/util/deadline.hpp"
#include "core/util/result.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace vsp::vault {
class Client;
class TokenSource;
} // namespace vsp::vault

namespace vsp::plugin {

// Swarm's tasks, as the engine lists them; tests give a fake.
using ListTasks =
    std::function<Result<std::vector<docker::Task>>(Deadline deadline)>;

// Whether a live task's lease should be renewed, from its row's rule.
using WantsRenewal = std::function<bool(const ledger::Issuance& row)>;

struct WatcherOptions {
  std::chrono::milliseconds poll_interval{10'000}; // VSP_POLL_INTERVAL
  // A row whose task is absent from a listing is left alone if it was
  // issued less than this before the listing was asked for: the listing
  // may predate the task, or come from a manager a little behind. Tasks
  // removed by a scale-down vanish from the listing once shut down, so
  // this is all the delay they get.
  std::chrono::milliseconds absent_grace{5'000};
  // Budget of one poll: listing, revocations, renewals.
  std::chrono::milliseconds tick_budget{30'000};
  // Empty: no lease is renewed.
  WantsRenewal wants_renewal;
  // Told of each credential revoked here: its kind and why ("task_ended",
  // "never_handed_out"). Runs on the watcher's thread; may be empty.
  std::function<void(std::string_view kind, std::string_view reason)>
      on_revoked;
  // Open intents created before this (ms since the epoch) were left by an
  // earlier process and are settled at start; later ones may be requests
  // in flight. Set it before the socket accepts requests. 0: when the
  // watcher is made.
  std::int64_t settle_before_ms = 0;
};

// What one poll did, for logs and tests.
struct TickReport {
  bool listed = false; // the engine answered
  std::int64_t revoked = 0;
  std::int64_t renewed = 0;
  std::int64_t expired = 0;
  std::int64_t errors = 0;
};

// Ends credentials with their task. In its own thread it first settles
// the intents a crash left open, then polls Swarm's tasks (Docker 20.10
// emits no task events) and, for each issued row of this plugin's ledger
// whose task reached a terminal state or is gone, revokes its token (and
// wrapping token and lease) and records that as the poller. Leases of
// running tasks are renewed once two thirds of their TTL have passed, if
// `wants_renewal` says so; rows past their expiry are marked expired.
// Without a task listing (no Engine API access) it only settles intents
// and marks expiry: TTLs are the backstop.
class TaskWatcher {
public:
  // `list_tasks` empty: no Engine API access. The references must
  // outlive the watcher.
  TaskWatcher(ledger::Ledger& ledger,
              vault::Client& vault,
              vault::TokenSource& login,
              ListTasks list_tasks,
              WatcherOptions options);
  ~TaskWatcher(); // stops the thread
  TaskWatcher(const TaskWatcher&) = delete;
  TaskWatcher& operator=(const TaskWatcher&) = delete;

  // Starts / stops the thread; both idempotent.
  void start();
  void stop();

  // One poll, on the caller's thread (the thread calls it too).
  TickReport tick();

  // Settles open intents created before now; logs what it did. True when
  // Vault could be asked (so there is no need to try again).
  bool settle_intents();

private:
  using TaskMap = std::map<std::string, docker::Task>;

  void run();
  bool stopping();
  // Swarm's tasks by ID; nullopt without Engine API access or an answer.
  std::optional<TaskMap> list_tasks(Deadline deadline);
  // One live row: settled if its task has ended, else renewed or marked
  // expired as due.
  void check_row(const ledger::Issuance& row,
                 const std::optional<TaskMap>& tasks,
                 std::int64_t now_ms,
                 Deadline deadline,
                 TickReport& report);
  void mark_if_expired(const ledger::Issuance& row,
                       std::int64_t now_ms,
                       TickReport& report);
  void settle_row(const ledger::Issuance& row,
                  const docker::Task* task,
                  std::int64_t listed_ms,
                  Deadline deadline,
                  TickReport& report);
  void renew_lease(const ledger::Issuance& row,
                   std::int64_t now_ms,
                   Deadline deadline,
                   TickReport& report);
  // Renews the row's holder token (if any) and then its lease by the
  // row's TTL; when the sooner of the two now ends (ms since the epoch).
  Result<std::int64_t> renew_with_holder(const ledger::Issuance& row,
                                         std::int64_t now_ms,
                                         Deadline deadline);

  ledger::Ledger& m_ledger;
  vault::Client& m_vault;
  vault::TokenSource& m_login;
  ListTasks m_list_tasks;
  WatcherOptions m_options;
  std::int64_t m_started_ms;
  // Expiry (ms) of leases renewed so far; used by tick() only, which runs
  // on one thread at a time.
  std::map<std::string, std::int64_t> m_renewed_until;
  // Rows whose lease Vault would extend no further.
  std::set<std::string> m_renewal_capped;

  std::mutex m_mutex; // guards m_stop and m_listing_failed
  std::condition_variable m_wake;
  bool m_stop = false;
  bool m_listing_failed = false; // log a failing listing once per streak
  std::thread m_thread;
};

} // namespace vsp::plugin
