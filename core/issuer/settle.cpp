#include "core/issuer/settle.hpp"

#include "core/util/log.hpp"
#include "core/vault/client.hpp"
#include "core/vault/errors.hpp"
#include "core/vault/login.hpp"

#include <fmt/format.h>

#include <functional>
#include <vector>

namespace vsp::issuer {
namespace {

constexpr const char* k_component = "settle";

// Runs `call` with the current login; once more with a fresh login when
// Vault says the login's token is invalid.
Status with_login(vault::TokenSource& login,
                  Deadline deadline,
                  const std::function<Status(const SecretString&)>& call) {
  for (int attempt = 0;; ++attempt) {
    auto token = login.current(deadline);
    if (!token) {
      return token.error();
    }
    Status done = call(*token);
    if (done || done.error().code != vault::errc::invalid_token ||
        attempt > 0) {
      return done;
    }
    login.invalidate(*token);
  }
}

std::vector<ledger::Issuance> rows_to_settle(ledger::Ledger& ledger,
                                             std::int64_t created_before_ms,
                                             Status& failure) {
  std::vector<ledger::Issuance> out;
  auto pending = ledger.open_intents();
  if (!pending) {
    failure = pending.error();
    return out;
  }
  for (auto& row : *pending) {
    if (row.created_ms < created_before_ms) {
      out.push_back(std::move(row));
    }
  }
  ledger::Query unknown;
  unknown.states = {ledger::State::unknown};
  unknown.order = ledger::Order::oldest_first;
  auto lost = ledger.find(unknown);
  if (!lost) {
    failure = lost.error();
    return out;
  }
  for (auto& row : *lost) {
    if (row.accessor.empty()) { // a known accessor is the poller's to end
      out.push_back(std::move(row));
    }
  }
  return out;
}

void note(const Status& done, const ledger::Issuance& row, SettleReport& r) {
  if (!done) {
    ++r.errors;
    log::error(k_component,
               "cannot settle issuance={} task={}: {}",
               row.id,
               row.task_id,
               done.error().message);
  }
}

// The token Vault issued for `row` never reached its task: the plugin
// died before answering. Record it, then end it.
Status settle_found(ledger::Ledger& ledger,
                    vault::Client& vault,
                    vault::TokenSource& login,
                    const ledger::Issuance& row,
                    const std::string& accessor,
                    Deadline deadline) {
  ledger::Outcome outcome;
  outcome.accessor = accessor;
  if (auto done = ledger.record_issued(row.id, outcome); !done) {
    return done;
  }
  ledger::Issuance found = row;
  found.accessor = accessor;
  return revoke_issuance(ledger,
                         vault,
                         login,
                         found,
                         "settled at start-up: issued but never handed out",
                         ledger::Actor::plugin,
                         deadline);
}

} // namespace

Credentials credentials_of(const ledger::Issuance& row) {
  return {row.accessor, row.wrapping_accessor, row.lease_id};
}

Status revoke_credentials(vault::Client& vault,
                          const SecretString& token,
                          const Credentials& c,
                          Deadline deadline) {
  for (const auto* accessor : {&c.accessor, &c.wrapping_accessor}) {
    if (accessor->empty()) {
      continue;
    }
    if (auto done = vault.revoke_accessor(token, *accessor, deadline); !done) {
      return done.error().wrap("revoking accessor " + *accessor);
    }
  }
  if (!c.lease_id.empty()) {
    if (auto done = vault.revoke_lease(token, c.lease_id, deadline); !done) {
      return done.error().wrap("revoking lease " + c.lease_id);
    }
  }
  return ok_status();
}

Status revoke_credentials(vault::Client& vault,
                          vault::TokenSource& login,
                          const Credentials& c,
                          Deadline deadline) {
  return with_login(login, deadline, [&](const SecretString& token) {
    return revoke_credentials(vault, token, c, deadline);
  });
}

Result<std::map<std::string, std::string>> find_tokens_by_issuance(
    vault::Client& vault, const SecretString& token, Deadline deadline) {
  auto accessors = vault.list_accessors(token, deadline);
  if (!accessors) {
    return accessors.error();
  }
  std::map<std::string, std::string> out;
  for (const auto& accessor : *accessors) {
    auto info = vault.lookup_accessor(token, accessor, deadline);
    if (!info) {
      if (info.error().kind == ErrorKind::not_found) {
        continue; // revoked or expired since the listing
      }
      return info.error();
    }
    if (auto id = info->meta.find("vsp_issuance_id"); id != info->meta.end()) {
      out[id->second] = accessor;
    }
  }
  return out;
}

Status revoke_issuance(ledger::Ledger& ledger,
                       vault::Client& vault,
                       vault::TokenSource& login,
                       const ledger::Issuance& row,
                       std::string_view reason,
                       ledger::Actor actor,
                       Deadline deadline) {
  if (row.state == ledger::State::revoked) {
    return ok_status();
  }
  if (auto done =
          revoke_credentials(vault, login, credentials_of(row), deadline);
      !done) {
    return done;
  }
  return ledger.set_state(row.id, ledger::State::revoked, reason, actor);
}

Result<SettleReport> settle_open_intents(ledger::Ledger& ledger,
                                         vault::Client& vault,
                                         vault::TokenSource& login,
                                         std::int64_t created_before_ms,
                                         Deadline deadline) {
  Status read = ok_status();
  const auto rows = rows_to_settle(ledger, created_before_ms, read);
  if (!read) {
    return read.error();
  }
  SettleReport report;
  if (rows.empty()) {
    return report;
  }

  std::map<std::string, std::string> tokens;
  const Status listed =
      with_login(login, deadline, [&](const SecretString& token) -> Status {
        auto found = find_tokens_by_issuance(vault, token, deadline);
        if (!found) {
          return found.error();
        }
        tokens = std::move(*found);
        return ok_status();
      });
  report.accessor_listing = listed.ok();
  if (!listed && listed.error().kind != ErrorKind::denied) {
    return listed.error(); // Vault unreachable: settle another time
  }

  for (const auto& row : rows) {
    if (!listed) {
      if (row.state == ledger::State::pending) {
        note(ledger.set_state(row.id,
                              ledger::State::unknown,
                              "outcome unknown after a restart: the login "
                              "may not list accessors; its TTL ends it",
                              ledger::Actor::plugin),
             row,
             report);
      }
      ++report.unknown;
      continue;
    }
    if (auto hit = tokens.find(row.id); hit != tokens.end()) {
      const Status done =
          settle_found(ledger, vault, login, row, hit->second, deadline);
      note(done, row, report);
      if (done) {
        ++report.revoked_by_kind[row.kind];
      }
      ++report.found;
      continue;
    }
    note(ledger.record_failed(row.id,
                              "settled at start-up: vault holds no token "
                              "with this issuance id"),
         row,
         report);
    ++report.absent;
  }
  return report;
}

} // namespace vsp::issuer
