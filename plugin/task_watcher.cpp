#include "plugin/task_watcher.hpp"

#include "core/issuer/settle.hpp"
#include "core/util/log.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>

namespace vsp::plugin {
namespace {

constexpr const char* k_component = "watcher";
// Live ledger rows read at a time by a tick.
constexpr std::size_t k_rows_per_page = 256;

// Settling at start-up lists every accessor in Vault; give it room.
constexpr std::chrono::seconds k_settle_budget{120};
// After a settle Vault could not answer, try again this much later.
constexpr std::chrono::seconds k_settle_retry{30};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string why_revoked(const docker::Task* task) {
  return task == nullptr ? "task no longer exists"
                         : fmt::format("task {}", task->state);
}

} // namespace

TaskWatcher::TaskWatcher(ledger::Ledger& ledger,
                         vault::Client& vault,
                         vault::TokenSource& login,
                         ListTasks list_tasks,
                         WatcherOptions options)
    : m_ledger(ledger), m_vault(vault), m_login(login),
      m_list_tasks(std::move(list_tasks)), m_options(std::move(options)),
      m_started_ms(m_options.settle_before_ms != 0 ? m_options.settle_before_ms
                                                   : now_ms()) {}

TaskWatcher::~TaskWatcher() {
  stop();
}

void TaskWatcher::start() {
  std::lock_guard lock(m_mutex);
  if (m_thread.joinable()) {
    return;
  }
  m_stop = false;
  m_thread = std::thread([this] { run(); });
}

void TaskWatcher::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void TaskWatcher::run() {
  using Clock = std::chrono::steady_clock;
  bool settled = settle_intents();
  auto next_settle = Clock::now() + k_settle_retry;
  for (;;) {
    {
      std::unique_lock lock(m_mutex);
      m_wake.wait_for(lock, m_options.poll_interval, [this] { return m_stop; });
      if (m_stop) {
        return;
      }
    }
    if (!settled && Clock::now() >= next_settle) {
      settled = settle_intents();
      next_settle = Clock::now() + k_settle_retry;
    }
    const TickReport report = tick();
    if (report.revoked + report.renewed + report.expired + report.errors > 0) {
      log::info(k_component,
                "poll revoked={} renewed={} expired={} errors={}",
                report.revoked,
                report.renewed,
                report.expired,
                report.errors);
    }
  }
}

bool TaskWatcher::stopping() {
  std::lock_guard lock(m_mutex);
  return m_stop;
}

bool TaskWatcher::settle_intents() {
  auto report = issuer::settle_open_intents(m_ledger,
                                            m_vault,
                                            m_login,
                                            m_started_ms,
                                            Deadline::after(k_settle_budget));
  if (!report) {
    log::warn(k_component,
              "open intents not settled yet: {}",
              report.error().message);
    return false;
  }
  const auto& r = *report;
  if (m_options.on_revoked) {
    for (const auto& [kind, n] : r.revoked_by_kind) {
      for (std::int64_t i = 0; i < n; ++i) {
        m_options.on_revoked(kind, "never_handed_out");
      }
    }
  }
  if (r.found + r.absent + r.unknown + r.errors > 0) {
    log::info(k_component,
              "settled open intents revoked={} not_issued={} unknown={} "
              "errors={}{}",
              r.found,
              r.absent,
              r.unknown,
              r.errors,
              r.unknown > 0 ? " (the login may not list accessors: sudo on "
                              "auth/token/accessors; TTLs end the unknown)"
                            : "");
  }
  return true;
}

std::optional<TaskWatcher::TaskMap> TaskWatcher::list_tasks(Deadline deadline) {
  if (!m_list_tasks) {
    return std::nullopt;
  }
  auto listed = m_list_tasks(deadline);
  std::lock_guard lock(m_mutex);
  if (!listed) {
    if (!m_listing_failed) {
      m_listing_failed = true;
      log::warn(k_component,
                "cannot list swarm tasks, nothing is revoked until that "
                "works again: {}",
                listed.error().message);
    }
    return std::nullopt;
  }
  if (m_listing_failed) {
    log::info(k_component, "swarm tasks can be listed again");
  }
  m_listing_failed = false;
  TaskMap tasks;
  for (auto& task : *listed) {
    tasks.emplace(task.id, std::move(task));
  }
  return tasks;
}

TickReport TaskWatcher::tick() {
  TickReport report;
  const auto deadline = Deadline::after(m_options.tick_budget);
  const std::int64_t now = now_ms(); // also when the listing was asked

  const auto tasks = list_tasks(deadline);
  report.listed = tasks.has_value();

  // Page through the live rows: a tick's memory stays bounded however
  // many credentials are out.
  ledger::Query query;
  query.states = {ledger::State::issued};
  query.order = ledger::Order::oldest_first;
  query.limit = k_rows_per_page;
  for (;;) {
    auto rows = m_ledger.find(query);
    if (!rows) {
      log::error(
          k_component, "cannot read the ledger: {}", rows.error().message);
      ++report.errors;
      return report;
    }
    for (const auto& row : *rows) {
      if (stopping()) {
        return report; // the rest waits for the next start-up
      }
      check_row(row, tasks, now, deadline, report);
    }
    if (rows->size() < k_rows_per_page) {
      return report;
    }
    query.after = ledger::PageAfter{rows->back().created_ms, rows->back().id};
  }
}

void TaskWatcher::check_row(const ledger::Issuance& row,
                            const std::optional<TaskMap>& tasks,
                            std::int64_t now,
                            Deadline deadline,
                            TickReport& report) {
  if (tasks && !row.task_id.empty()) {
    const auto it = tasks->find(row.task_id);
    const docker::Task* task = it == tasks->end() ? nullptr : &it->second;
    if (task == nullptr || docker::is_terminal_task_state(task->state)) {
      settle_row(row, task, now, deadline, report);
      return;
    }
    renew_lease(row, now, deadline, report);
  }
  mark_if_expired(row, now, report);
}

void TaskWatcher::mark_if_expired(const ledger::Issuance& row,
                                  std::int64_t now_ms,
                                  TickReport& report) {
  if (row.expires_ms <= 0 || now_ms < row.expires_ms ||
      m_renewed_until.count(row.id) > 0) {
    return;
  }
  if (m_ledger.set_state(row.id,
                         ledger::State::expired,
                         "ttl ran out",
                         ledger::Actor::poller)) {
    ++report.expired;
  }
}

void TaskWatcher::settle_row(const ledger::Issuance& row,
                             const docker::Task* task,
                             std::int64_t listed_ms,
                             Deadline deadline,
                             TickReport& report) {
  if (task == nullptr &&
      row.created_ms > listed_ms - m_options.absent_grace.count()) {
    return;
  }
  const std::string reason = why_revoked(task);
  auto done = issuer::revoke_issuance(
      m_ledger, m_vault, m_login, row, reason, ledger::Actor::poller, deadline);
  if (!done) {
    ++report.errors;
    log::error(k_component,
               "cannot revoke issuance={} task={}: {}",
               row.id,
               row.task_id,
               done.error().message);
    return;
  }
  ++report.revoked;
  m_renewed_until.erase(row.id);
  m_renewal_capped.erase(row.id);
  if (m_options.on_revoked) {
    m_options.on_revoked(row.kind, "task_ended");
  }
  log::info(k_component,
            "revoked issuance={} task={} secret={} accessor={} reason={}",
            row.id,
            log::value(row.task_id),
            log::value(row.secret),
            row.accessor,
            log::value(reason));
}

void TaskWatcher::renew_lease(const ledger::Issuance& row,
                              std::int64_t now_ms,
                              Deadline deadline,
                              TickReport& report) {
  if (row.lease_id.empty() || row.ttl_s <= 0 || !m_options.wants_renewal ||
      m_renewal_capped.count(row.id) > 0 || !m_options.wants_renewal(row)) {
    return;
  }
  const auto known = m_renewed_until.find(row.id);
  const std::int64_t expires =
      known != m_renewed_until.end() ? known->second : row.expires_ms;
  const std::int64_t renew_at = expires - row.ttl_s * 1000 / 3;
  if (expires <= 0 || now_ms < renew_at) {
    return;
  }
  auto until = renew_with_holder(row, now_ms, deadline);
  if (!until) {
    ++report.errors;
    log::warn(k_component,
              "cannot renew lease={} task={}: {}",
              row.lease_id,
              row.task_id,
              until.error().message);
    return;
  }
  ++report.renewed;
  if (*until <= expires + 1000) {
    // Vault grants no more (a max TTL reached): asking again each poll
    // would only load it. The lease ends at its own expiry.
    m_renewal_capped.insert(row.id);
    log::info(k_component,
              "lease={} task={} can be renewed no further",
              row.lease_id,
              row.task_id);
  }
  m_renewed_until[row.id] = *until;
  const std::int64_t ttl_s = (*until - now_ms) / 1000;
  if (auto noted = m_ledger.record_renewed(row.id, ttl_s, *until); !noted) {
    log::warn(k_component,
              "lease={} renewed but not recorded: {}",
              row.lease_id,
              noted.error().message);
  }
}

Result<std::int64_t> TaskWatcher::renew_with_holder(const ledger::Issuance& row,
                                                    std::int64_t now_ms,
                                                    Deadline deadline) {
  auto token = m_login.current(deadline);
  if (!token) {
    return token.error();
  }
  const std::chrono::seconds increment(row.ttl_s);
  std::int64_t until = std::numeric_limits<std::int64_t>::max();
  // A lease dies with the token that asked for it (the holder whose
  // accessor the row records), so the holder is renewed first.
  if (!row.accessor.empty()) {
    auto holder =
        m_vault.renew_accessor(*token, row.accessor, increment, deadline);
    if (!holder) {
      return holder.error().wrap("renewing the lease holder");
    }
    until = now_ms + holder->lease_duration.count() * 1000;
  }
  auto lease = m_vault.renew_lease(*token, row.lease_id, increment, deadline);
  if (!lease) {
    return lease.error();
  }
  return std::min(until, now_ms + lease->lease_duration.count() * 1000);
}

} // namespace vsp::plugin
