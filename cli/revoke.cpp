// vsp revoke: ends credentials vsp issued, by task, service, secret,
// accessor, lease, token or lease prefix, and records it in the ledger.
#include "cli/command.hpp"
#include "cli/context.hpp"
#include "cli/option_checks.hpp"
#include "cli/secret_input.hpp"

#include "core/issuer/settle.hpp"
#include "core/ledger/ledger.hpp"
#include "core/vault/errors.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <unistd.h>

namespace vsp::cli {
namespace {

struct RevokeOptions {
  std::string ledger_path;
  std::vector<std::string> tasks;
  std::string service;
  std::string secret;
  std::vector<std::string> accessors;
  std::vector<std::string> leases;
  std::string token_file;
  bool token_stdin = false;
  std::string prefix;
  std::string reason = "revoked by an operator";
  bool dry_run = false;
  bool yes = false;
  OutputFormat format = OutputFormat::human;
};

enum class CredentialKind { accessor, lease };

// One thing to revoke: a ledger row, or a bare credential the ledger does
// not know.
struct Item {
  std::optional<ledger::Issuance> row;
  issuer::Credentials credentials;
  std::string prefix; // a lease prefix instead of credentials
  std::string what;   // how it is shown
  std::string outcome;
  bool failed = false;
};

std::string describe(const ledger::Issuance& row) {
  return fmt::format("issuance {} task={} secret={} accessor={}",
                     row.id,
                     row.task_name.empty() ? row.task_id : row.task_name,
                     row.secret,
                     row.accessor.empty() ? "-" : row.accessor);
}

Item item_for(ledger::Issuance row) {
  Item item;
  item.credentials = issuer::credentials_of(row);
  item.what = describe(row);
  item.row = std::move(row);
  return item;
}

// Rows still holding something: issued, or unknown with an accessor.
std::vector<ledger::Issuance> live_rows(ledger::Ledger& ledger,
                                        ledger::Query query) {
  query.states = {ledger::State::issued, ledger::State::unknown};
  auto rows = ledger.find(query);
  if (!rows) {
    throw CommandError(k_exit_usage, rows.error().message);
  }
  // An unknown outcome without an accessor names nothing to revoke: its
  // TTL ends it, and `vsp audit --unknown` shows it.
  std::vector<ledger::Issuance> out;
  for (auto& row : *rows) {
    if (!issuer::credentials_of(row).accessor.empty() ||
        !row.lease_id.empty()) {
      out.push_back(std::move(row));
    }
  }
  return out;
}

// Every row holding `credential` (an accessor or a lease), in any state:
// revoking again reports it as already revoked.
std::vector<ledger::Issuance> rows_holding(ledger::Ledger* ledger,
                                           const std::string& credential,
                                           CredentialKind kind) {
  if (ledger == nullptr) {
    return {};
  }
  ledger::Query q;
  (kind == CredentialKind::lease ? q.lease_id : q.accessor) = credential;
  auto rows = ledger->find(q);
  if (!rows) {
    throw CommandError(k_exit_usage, rows.error().message);
  }
  return std::move(*rows);
}

SecretString read_token(const RevokeOptions& o) {
  SecretInput input;
  input.file = o.token_stdin ? "-" : o.token_file;
  return read_secret_input(input, "token to revoke");
}

// The accessor of the token the operator handed in; the token itself
// goes no further than this lookup.
std::string accessor_of_token(const RevokeOptions& o,
                              const VaultSession& session) {
  const SecretString target = read_token(o);
  const SecretString token = session.token(session.call_deadline());
  auto info =
      session.client->lookup_token(token, target, session.call_deadline());
  if (!info) {
    if (info.error().code == vault::errc::invalid_token) {
      throw CommandError(k_exit_remote,
                         "vault does not know that token (already revoked, "
                         "expired, or never issued)");
    }
    throw CommandError(k_exit_remote, info.error().message);
  }
  return info->accessor;
}

void add_credential(std::vector<Item>& items,
                    std::set<std::string>& seen,
                    ledger::Ledger* ledger,
                    const std::string& credential,
                    CredentialKind kind) {
  const bool is_lease = kind == CredentialKind::lease;
  auto rows = rows_holding(ledger, credential, kind);
  for (auto& row : rows) {
    if (seen.insert(row.id).second) {
      items.push_back(item_for(std::move(row)));
    }
  }
  if (rows.empty()) {
    Item item;
    (is_lease ? item.credentials.lease_id : item.credentials.accessor) =
        credential;
    item.what = fmt::format("{} {} (not in the ledger)",
                            is_lease ? "lease" : "accessor",
                            credential);
    items.push_back(std::move(item));
  }
}

std::vector<Item> select(const RevokeOptions& o,
                         ledger::Ledger* ledger,
                         const VaultSession& session) {
  std::vector<Item> items;
  std::set<std::string> seen;
  const bool by_row =
      !o.tasks.empty() || !o.service.empty() || !o.secret.empty();
  if (by_row) {
    ledger::Query q;
    q.service = o.service.empty() ? std::nullopt
                                  : std::optional<std::string>(o.service);
    q.secret =
        o.secret.empty() ? std::nullopt : std::optional<std::string>(o.secret);
    std::vector<std::optional<std::string>> tasks(o.tasks.begin(),
                                                  o.tasks.end());
    if (tasks.empty()) {
      tasks.emplace_back();
    }
    for (const auto& task : tasks) {
      q.task_id = task;
      for (auto& row : live_rows(*ledger, q)) {
        if (seen.insert(row.id).second) {
          items.push_back(item_for(std::move(row)));
        }
      }
    }
  }
  for (const auto& accessor : o.accessors) {
    add_credential(items, seen, ledger, accessor, CredentialKind::accessor);
  }
  for (const auto& lease : o.leases) {
    add_credential(items, seen, ledger, lease, CredentialKind::lease);
  }
  if (!o.token_file.empty() || o.token_stdin) {
    add_credential(items,
                   seen,
                   ledger,
                   accessor_of_token(o, session),
                   CredentialKind::accessor);
  }
  if (!o.prefix.empty()) {
    Item item;
    item.prefix = o.prefix;
    item.what = fmt::format("every lease under {}", o.prefix);
    items.push_back(std::move(item));
  }
  return items;
}

void revoke_one(Item& item,
                ledger::Ledger* ledger,
                const VaultSession& session,
                const std::string& reason) {
  if (item.row && item.row->state == ledger::State::revoked) {
    item.outcome = "already revoked";
    return;
  }
  // Vault's revocations succeed for what it does not know, which is right
  // for a ledger row (gone is revoked) but would let a mistyped bare
  // accessor or lease read as revoked.
  if (!item.row && item.prefix.empty()) {
    const auto& c = item.credentials;
    const SecretString token = session.token(session.call_deadline());
    std::optional<Error> unknown;
    if (!c.accessor.empty()) {
      auto info = session.client->lookup_accessor(
          token, c.accessor, session.call_deadline());
      unknown = info ? std::nullopt : std::optional(info.error());
    } else {
      auto info = session.client->lookup_lease(
          token, c.lease_id, session.call_deadline());
      unknown = info ? std::nullopt : std::optional(info.error());
    }
    if (unknown && unknown->kind == ErrorKind::not_found) {
      item.failed = true;
      item.outcome = "not found in vault (already ended, or mistyped)";
      return;
    }
  }
  const Status done = item.prefix.empty()
                          ? issuer::revoke_credentials(*session.client,
                                                       *session.auth,
                                                       item.credentials,
                                                       session.call_deadline())
                          : session.client->revoke_lease_prefix(
                                session.token(session.call_deadline()),
                                item.prefix,
                                session.call_deadline());
  if (!done) {
    item.failed = true;
    item.outcome = "failed: " + done.error().message;
    return;
  }
  item.outcome = "revoked";
  if (item.row && ledger != nullptr) {
    auto recorded = ledger->set_state(
        item.row->id, ledger::State::revoked, reason, ledger::Actor::cli);
    if (!recorded) {
      item.failed = true;
      item.outcome =
          "revoked in vault, not recorded: " + recorded.error().message;
    }
  }
}

// Whether what `row` holds ended with a prefix revocation: its lease is
// under the prefix, or Vault no longer knows its token (token leases are
// keyed by creation path, which the ledger does not keep).
bool ended_by_prefix(const ledger::Issuance& row,
                     const std::string& prefix,
                     const VaultSession& session) {
  if (!row.lease_id.empty() && row.lease_id.rfind(prefix, 0) == 0) {
    return true;
  }
  if (row.accessor.empty()) {
    return false;
  }
  auto info =
      session.client->lookup_accessor(session.token(session.call_deadline()),
                                      row.accessor,
                                      session.call_deadline());
  return !info && info.error().kind == ErrorKind::not_found;
}

// Ledger rows whose credentials the prefix revocation ended are recorded
// as revoked too.
void record_prefix(const std::string& prefix,
                   ledger::Ledger* ledger,
                   const VaultSession& session,
                   const std::string& reason,
                   std::vector<Item>& items) {
  if (ledger == nullptr) {
    return;
  }
  for (auto& row : live_rows(*ledger, {})) {
    if (!ended_by_prefix(row, prefix, session)) {
      continue;
    }
    Item item = item_for(row);
    auto recorded = ledger->set_state(
        row.id, ledger::State::revoked, reason, ledger::Actor::cli);
    item.outcome = recorded ? "revoked (under the prefix)"
                            : "not recorded: " + recorded.error().message;
    item.failed = !recorded;
    items.push_back(std::move(item));
  }
}

void print(const RevokeOptions& o, const std::vector<Item>& items) {
  if (o.format == OutputFormat::json) {
    nlohmann::json out{{"dry_run", o.dry_run},
                       {"items", nlohmann::json::array()}};
    for (const auto& item : items) {
      nlohmann::json j{
          {"what", item.what},
          {"accessor", item.credentials.accessor},
          {"wrapping_accessor", item.credentials.wrapping_accessor},
          {"lease_id", item.credentials.lease_id},
          {"outcome", o.dry_run ? "would revoke" : item.outcome}};
      j["issuance_id"] =
          item.row ? nlohmann::json(item.row->id) : nlohmann::json();
      if (!item.prefix.empty()) {
        j["prefix"] = item.prefix;
      }
      out["items"].push_back(j);
    }
    print_json(std::cout, out);
    return;
  }
  if (items.empty()) {
    std::cout << "nothing to revoke\n";
    return;
  }
  for (const auto& item : items) {
    std::cout << fmt::format(
        "{}: {}\n", o.dry_run ? "would revoke" : item.outcome, item.what);
  }
}

bool selects_anything(const RevokeOptions& o) {
  return !o.tasks.empty() || !o.service.empty() || !o.secret.empty() ||
         !o.accessors.empty() || !o.leases.empty() || !o.token_file.empty() ||
         o.token_stdin || !o.prefix.empty();
}

// --task, --service and --secret narrow each other down to ledger
// entries; the others name what to revoke outright. Given together it is
// unclear whether the selectors should filter the credentials too, so
// neither reading is guessed.
void refuse_mixed_selection(const RevokeOptions& o) {
  const char* selector = !o.tasks.empty()     ? "--task"
                         : !o.service.empty() ? "--service"
                         : !o.secret.empty()  ? "--secret"
                                              : nullptr;
  const char* named = !o.accessors.empty()    ? "--accessor"
                      : !o.leases.empty()     ? "--lease"
                      : !o.token_file.empty() ? "--token-file"
                      : o.token_stdin         ? "--token-stdin"
                      : !o.prefix.empty()     ? "--prefix"
                                              : nullptr;
  if (selector != nullptr && named != nullptr) {
    throw CommandError(
        k_exit_usage,
        fmt::format("{} selects ledger entries and {} names what to revoke "
                    "itself: give one or the other (run vsp revoke once for "
                    "each)",
                    selector,
                    named));
  }
}

std::unique_ptr<ledger::Ledger> ledger_for(const RevokeOptions& o) {
  const bool needs_ledger =
      !o.tasks.empty() || !o.service.empty() || !o.secret.empty();
  if (!needs_ledger && ::access(o.ledger_path.c_str(), F_OK) != 0) {
    return nullptr; // a bare credential can go without a ledger
  }
  return open_ledger(o.ledger_path,
                     o.dry_run ? ledger::Access::read_only
                               : ledger::Access::read_write);
}

void run(const RevokeOptions& o) {
  if (!selects_anything(o)) {
    throw CommandError(k_exit_usage,
                       "say what to revoke: --task, --service, --secret, "
                       "--accessor, --lease, --token-file, --token-stdin or "
                       "--prefix");
  }
  refuse_mixed_selection(o);
  auto ledger = ledger_for(o);
  auto session = connect_vault();
  auto items = select(o, ledger.get(), session);

  if (o.dry_run || items.empty()) {
    print(o, items);
    return;
  }
  if (!o.yes && stdin_is_terminal() && !o.token_stdin && o.token_file != "-" &&
      !confirm(fmt::format("revoke {}?", counted(items.size(), "item")))) {
    throw CommandError(k_exit_usage, "not confirmed; nothing was revoked");
  }

  bool failed = false;
  const std::size_t selected = items.size();
  for (std::size_t i = 0; i < selected; ++i) {
    revoke_one(items[i], ledger.get(), session, o.reason);
    failed = failed || items[i].failed;
    if (!items[i].prefix.empty() && !items[i].failed) {
      record_prefix(items[i].prefix, ledger.get(), session, o.reason, items);
    }
  }
  print(o, items);
  if (failed) {
    throw CommandError(k_exit_remote, "some items were not revoked");
  }
}

} // namespace

void add_revoke(CLI::App& app) {
  auto o = std::make_shared<RevokeOptions>();
  o->ledger_path = default_ledger_path();
  auto* cmd = app.add_subcommand(
      "revoke", "Revoke credentials vsp issued and record it in the ledger");
  cmd->add_option("--task", o->tasks, "Task ID (repeatable)");
  cmd->add_option("--service", o->service, "Service ID or name");
  cmd->add_option("--secret", o->secret, "Secret name");
  cmd->add_option("--accessor", o->accessors, "Token accessor (repeatable)")
      ->check(not_empty("a token accessor"));
  cmd->add_option("--lease", o->leases, "Lease ID (repeatable)")
      ->check(not_empty("a lease ID"));
  auto* file = cmd->add_option("--token-file",
                               o->token_file,
                               "Read a token to revoke from FILE (- for stdin)")
                   ->check(input_file(DashIsStdin::yes));
  auto* in = cmd->add_flag(
      "--token-stdin", o->token_stdin, "Read a token to revoke from stdin");
  file->excludes(in);
  cmd->add_option("--prefix",
                  o->prefix,
                  "Revoke every lease under this Vault path prefix (needs "
                  "sudo)");
  cmd->add_option("--reason", o->reason, "Why, kept in the ledger");
  cmd->add_flag("--dry-run", o->dry_run, "Only list what would be revoked");
  cmd->add_flag("-y,--yes", o->yes, "Do not ask for confirmation");
  cmd->add_option("--ledger", o->ledger_path, "The ledger file")
      ->default_str(o->ledger_path);
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
