// vsp audit: what was issued to which task, whether it is still live in
// Vault, and whether its task still runs; flags what needs attention.
#include "cli/command.hpp"
#include "cli/context.hpp"
#include "cli/option_checks.hpp"
#include "cli/terminal.hpp"

#include "core/ledger/ledger.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unistd.h>

namespace vsp::cli {
namespace {

enum class Source { ledger, vault };

struct AuditOptions {
  std::string ledger_path;
  std::string task;
  std::string service;
  std::string secret;
  std::string node;
  std::string rule;
  std::vector<std::string> states;
  Source source = Source::ledger;
  bool check = false;
  bool only_live_after_task = false;
  bool only_duplicates = false;
  bool only_failed = false;
  bool only_unknown = false;
  bool only_problems = false;
  std::size_t limit = 0;
  OutputFormat format = OutputFormat::human;
};

// One issuance and what is known of it beyond the ledger.
struct Entry {
  ledger::Issuance row;
  std::string vault = "unchecked"; // live, gone, unchecked, error: ...
  std::int64_t vault_ttl_s = -1;   // remaining, when live
  std::string lease;               // as vault, empty without a lease
  std::string swarm;               // task state, "gone", or "" unchecked
  std::string in_ledger;           // vault source: "yes", "no", "?"
  std::vector<std::string> flags;

  explicit Entry(ledger::Issuance r) : row(std::move(r)) {}
};

// Flag names, as printed and as --format json gives them.
constexpr const char* k_live_after_task = "live-after-task";
constexpr const char* k_duplicate = "duplicate";
constexpr const char* k_failed = "failed";
constexpr const char* k_unknown = "unknown";

bool matches(const AuditOptions& o, const ledger::Issuance& row) {
  const auto is = [](const std::string& want,
                     std::initializer_list<const std::string*> have) {
    if (want.empty()) {
      return true;
    }
    for (const auto* h : have) {
      if (*h == want) {
        return true;
      }
    }
    return false;
  };
  return is(o.task, {&row.task_id, &row.task_name}) &&
         is(o.service, {&row.service_id, &row.service_name}) &&
         is(o.secret, {&row.secret}) && is(o.node, {&row.node_id}) &&
         is(o.rule, {&row.rule});
}

ledger::Query query_for(const AuditOptions& o) {
  ledger::Query q;
  // Task names (<service>.<slot>.<id>) always hold a dot, IDs never; a
  // name is matched after the query.
  if (!o.task.empty() && o.task.find('.') == std::string::npos) {
    q.task_id = o.task;
  }
  if (!o.service.empty()) {
    q.service = o.service;
  }
  if (!o.secret.empty()) {
    q.secret = o.secret;
  }
  if (!o.node.empty()) {
    q.node_id = o.node;
  }
  for (const auto& name : o.states) {
    auto state = ledger::parse_state(name);
    if (!state) {
      throw CommandError(
          k_exit_usage,
          fmt::format("--state: unknown state \"{}\" (pending, issued, "
                      "revoked, expired, failed, unknown)",
                      name));
    }
    q.states.push_back(*state);
  }
  q.limit = o.limit;
  q.order = ledger::Order::oldest_first;
  return q;
}

std::vector<Entry> from_ledger(const AuditOptions& o) {
  auto ledger = open_ledger(o.ledger_path, ledger::Access::read_only);
  auto rows = ledger->find(query_for(o));
  if (!rows) {
    throw CommandError(k_exit_usage, rows.error().message);
  }
  std::vector<Entry> out;
  for (auto& row : *rows) {
    if (matches(o, row)) {
      out.emplace_back(std::move(row));
    }
  }
  return out;
}

// A ledger row rebuilt from a token's vsp metadata.
ledger::Issuance row_from_token(const std::string& accessor,
                                const vault::TokenInfo& info) {
  const auto meta = [&](const char* key) {
    auto it = info.meta.find(key);
    return it == info.meta.end() ? std::string() : it->second;
  };
  ledger::Issuance row;
  row.id = meta("vsp_issuance_id");
  row.task_id = meta("vsp_task_id");
  row.task_name = meta("vsp_task_name");
  row.service_id = meta("vsp_service_id");
  row.service_name = meta("vsp_service_name");
  row.node_id = meta("vsp_node_id");
  row.secret = meta("vsp_secret");
  row.rule = meta("vsp_rule");
  row.accessor = accessor;
  row.policies = info.policies;
  row.ttl_s = info.creation_ttl.count();
  row.state = ledger::State::issued;
  return row;
}

// Whether this machine's ledger knows the issuance, when there is one.
std::function<std::string(const std::string&)>
ledger_lookup(const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0) {
    return [](const std::string&) { return std::string("?"); };
  }
  std::shared_ptr<ledger::Ledger> ledger =
      open_ledger(path, ledger::Access::read_only);
  return [ledger](const std::string& id) {
    auto row = ledger->get(id);
    return row ? std::string("yes") : std::string("no");
  };
}

// Every live token carrying vsp's metadata: what every manager issued.
std::vector<Entry> from_vault(const AuditOptions& o) {
  auto session = connect_vault();
  const SecretString token = session.token(session.call_deadline());
  auto accessors =
      session.client->list_accessors(token, session.call_deadline());
  if (!accessors) {
    throw CommandError(k_exit_remote,
                       accessors.error()
                           .wrap("listing token accessors "
                                 "(needs sudo on "
                                 "auth/token/accessors)")
                           .message);
  }
  const auto in_ledger = ledger_lookup(o.ledger_path);
  std::vector<Entry> out;
  Progress progress("looking up tokens", accessors->size());
  for (const auto& accessor : *accessors) {
    progress.step();
    auto info = session.client->lookup_accessor(
        token, accessor, session.call_deadline());
    if (!info || info->meta.count("vsp_issuance_id") == 0) {
      continue; // gone since the listing, or not vsp's
    }
    Entry e(row_from_token(accessor, *info));
    if (!matches(o, e.row)) {
      continue;
    }
    e.vault = "live";
    e.vault_ttl_s = info->ttl.count();
    e.in_ledger = in_ledger(e.row.id);
    out.push_back(std::move(e));
  }
  return out;
}

std::string vault_state(const Error& error) {
  return error.kind == ErrorKind::not_found ? "gone"
                                            : "error: " + error.message;
}

void check_vault(std::vector<Entry>& entries) {
  auto session = connect_vault();
  const SecretString token = session.token(session.call_deadline());
  Progress progress("checking vault", entries.size());
  for (auto& e : entries) {
    progress.step();
    if (!e.row.accessor.empty()) {
      auto info = session.client->lookup_accessor(
          token, e.row.accessor, session.call_deadline());
      e.vault = info ? "live" : vault_state(info.error());
      e.vault_ttl_s = info ? info->ttl.count() : -1;
    }
    if (!e.row.lease_id.empty()) {
      auto lease = session.client->lookup_lease(
          token, e.row.lease_id, session.call_deadline());
      e.lease = lease ? "live" : vault_state(lease.error());
    }
  }
}

// Swarm's view of each entry's task; false without Engine API access.
bool check_swarm(std::vector<Entry>& entries) {
  auto engine = engine_or_null();
  if (!engine) {
    return false;
  }
  auto tasks = engine->tasks({}, Deadline::after(std::chrono::seconds(30)));
  if (!tasks) {
    std::cerr << "vsp: warning: swarm tasks not checked: "
              << tasks.error().message << '\n';
    return false;
  }
  std::map<std::string, std::string> state;
  for (const auto& t : *tasks) {
    state[t.id] = t.state;
  }
  for (auto& e : entries) {
    if (e.row.task_id.empty()) {
      continue;
    }
    auto it = state.find(e.row.task_id);
    e.swarm = it == state.end() ? "gone" : it->second;
  }
  return true;
}

bool holds_credential(const Entry& e) {
  if (e.vault == "live" || e.lease == "live") {
    return true;
  }
  return e.vault == "unchecked" && e.row.state == ledger::State::issued;
}

void flag(std::vector<Entry>& entries) {
  std::map<std::pair<std::string, std::string>, int> received;
  for (const auto& e : entries) {
    if (!e.row.task_id.empty() && e.row.state != ledger::State::failed &&
        e.row.state != ledger::State::pending) {
      ++received[{e.row.task_id, e.row.secret}];
    }
  }
  for (auto& e : entries) {
    const bool task_over =
        e.swarm == "gone" || docker::is_terminal_task_state(e.swarm);
    if (task_over && holds_credential(e)) {
      e.flags.push_back(k_live_after_task);
    }
    if (received[{e.row.task_id, e.row.secret}] > 1) {
      e.flags.push_back(k_duplicate);
    }
    if (e.row.state == ledger::State::failed) {
      e.flags.push_back(k_failed);
    }
    if (e.row.state == ledger::State::unknown) {
      e.flags.push_back(k_unknown);
    }
  }
}

std::vector<Entry> keep_flagged(const AuditOptions& o,
                                std::vector<Entry> entries) {
  std::set<std::string> wanted;
  if (o.only_live_after_task) {
    wanted.insert(k_live_after_task);
  }
  if (o.only_duplicates) {
    wanted.insert(k_duplicate);
  }
  if (o.only_failed) {
    wanted.insert(k_failed);
  }
  if (o.only_unknown) {
    wanted.insert(k_unknown);
  }
  if (wanted.empty() && !o.only_problems) {
    return entries;
  }
  std::vector<Entry> out;
  for (auto& e : entries) {
    bool keep = false;
    for (const auto& f : e.flags) {
      keep = keep || o.only_problems || wanted.count(f) > 0;
    }
    if (keep) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

nlohmann::json to_json(const Entry& e) {
  const auto& r = e.row;
  nlohmann::json j{
      {"issuance_id", r.id},
      {"created", format_time_ms(r.created_ms)},
      {"task_id", r.task_id},
      {"task_name", r.task_name},
      {"service_id", r.service_id},
      {"service_name", r.service_name},
      {"node_id", r.node_id},
      {"secret", r.secret},
      {"rule", r.rule},
      {"kind", r.kind},
      {"accessor", r.accessor},
      {"wrapping_accessor", r.wrapping_accessor},
      {"lease_id", r.lease_id},
      {"policies", r.policies},
      {"ttl_s", r.ttl_s},
      {"expires", format_time_ms(r.expires_ms)},
      {"state", ledger::to_string(r.state)},
      {"changed", format_time_ms(r.changed_ms)},
      {"reason", r.reason},
      {"vault", e.vault},
      {"flags", e.flags},
  };
  if (e.vault_ttl_s >= 0) {
    j["vault_ttl_s"] = e.vault_ttl_s;
  }
  j["lease"] = e.lease.empty() ? nlohmann::json() : nlohmann::json(e.lease);
  j["swarm"] = e.swarm.empty() ? nlohmann::json() : nlohmann::json(e.swarm);
  if (!e.in_ledger.empty()) {
    j["in_ledger"] = e.in_ledger;
  }
  return j;
}

std::string join(const std::vector<std::string>& items) {
  return items.empty() ? "-" : fmt::format("{}", fmt::join(items, ","));
}

std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

// From Vault, the IN_LEDGER column tells whether this manager's ledger
// knows the token: yes, no, or ? when there is no ledger here to ask.
void print_table(const std::vector<Entry>& entries, Source source) {
  const auto line = [source](const std::array<std::string, 8>& c,
                             const std::string& in_ledger,
                             const std::string& flags) {
    std::cout << fmt::format("{:<10} {:<19} {:<31} {:<16} {:<8} {:<9} {:<10} "
                             "{:<24} ",
                             c[0],
                             c[1],
                             c[2],
                             c[3],
                             c[4],
                             c[5],
                             c[6],
                             c[7]);
    if (source == Source::vault) {
      std::cout << fmt::format("{:<9} ", in_ledger);
    }
    std::cout << flags << '\n';
  };
  line({"ISSUANCE",
        "CREATED",
        "TASK",
        "SECRET",
        "STATE",
        "VAULT",
        "SWARM",
        "ACCESSOR"},
       "IN_LEDGER",
       "FLAGS");
  for (const auto& e : entries) {
    const auto& r = e.row;
    const std::string vault =
        e.vault.rfind("error", 0) == 0 ? "error" : e.vault;
    line({r.id.substr(0, 10),
          format_time_ms(r.created_ms),
          one_line(or_dash(r.task_name.empty() ? r.task_id : r.task_name)),
          one_line(r.secret),
          std::string(ledger::to_string(r.state)),
          vault,
          or_dash(e.swarm),
          or_dash(r.accessor)},
         or_dash(e.in_ledger),
         join(e.flags));
  }
}

void print_summary(const std::vector<Entry>& entries) {
  std::map<std::string, int> states;
  std::map<std::string, int> flags;
  for (const auto& e : entries) {
    ++states[ledger::to_string(e.row.state)];
    for (const auto& f : e.flags) {
      ++flags[f];
    }
  }
  std::vector<std::string> parts;
  parts.reserve(states.size());
  for (const auto& [name, n] : states) {
    parts.push_back(fmt::format("{} {}", n, name));
  }
  std::cout << fmt::format("\n{}: {}\n",
                           counted(entries.size(), "issuance"),
                           fmt::join(parts, ", "));
  for (const auto& [name, n] : flags) {
    std::cout << fmt::format("  {} flagged {}\n", n, name);
  }
  for (const auto& e : entries) {
    if (e.vault.rfind("error", 0) == 0) {
      std::cout << fmt::format("  {}: vault {}\n", e.row.id, e.vault);
    }
  }
}

void print(const AuditOptions& o,
           const std::vector<Entry>& entries,
           bool swarm_checked) {
  if (o.format == OutputFormat::json) {
    nlohmann::json out{
        {"source", o.source == Source::vault ? "vault" : "ledger"},
        {"checked_vault", o.check || o.source == Source::vault},
        {"checked_swarm", swarm_checked},
        {"entries", nlohmann::json::array()},
    };
    for (const auto& e : entries) {
      out["entries"].push_back(to_json(e));
    }
    print_json(std::cout, out);
    return;
  }
  if (entries.empty()) {
    std::cout << "no issuances match\n";
    return;
  }
  print_table(entries, o.source);
  print_summary(entries);
}

void run(const AuditOptions& o) {
  auto entries = o.source == Source::vault ? from_vault(o) : from_ledger(o);

  bool swarm_checked = false;
  if (o.check) {
    if (o.source == Source::ledger) {
      check_vault(entries);
    }
    swarm_checked = check_swarm(entries);
  }

  flag(entries);
  // Counted before filtering: an entry Vault could not be asked about is
  // unknown, not clean.
  std::size_t unasked = 0;
  std::string first_error;
  for (const auto& e : entries) {
    if (e.vault.rfind("error", 0) == 0) {
      first_error = first_error.empty() ? e.vault : first_error;
      ++unasked;
    }
  }
  const std::size_t total = entries.size();
  print(o, keep_flagged(o, std::move(entries)), swarm_checked);
  if (unasked > 0) {
    throw CommandError(
        k_exit_remote,
        fmt::format("vault could not be asked about {} of {}; first: {}",
                    unasked,
                    counted(total, "issuance"),
                    first_error.substr(first_error.find(' ') + 1)));
  }
}

} // namespace

void add_audit(CLI::App& app) {
  auto o = std::make_shared<AuditOptions>();
  o->ledger_path = default_ledger_path();
  auto* cmd = app.add_subcommand(
      "audit", "List what was issued to which task, and what is still live");
  cmd->add_option("--task", o->task, "Task ID or name");
  cmd->add_option("--service", o->service, "Service ID or name");
  cmd->add_option("--secret", o->secret, "Secret name");
  cmd->add_option("--node", o->node, "Node ID");
  cmd->add_option("--rule", o->rule, "Name of the rule that decided");
  cmd->add_option("--state",
                  o->states,
                  "Ledger state: pending, issued, revoked, expired, failed, "
                  "unknown (repeatable)")
      ->check(one_of(
          {"pending", "issued", "revoked", "expired", "failed", "unknown"},
          LetterCase::exact));
  cmd->add_option_function<std::string>(
         "--source",
         [o](const std::string& name) {
           o->source = name == "vault" ? Source::vault : Source::ledger;
         },
         "Where to enumerate from: ledger (this manager's) or vault (every "
         "manager's; needs sudo on auth/token/accessors)")
      ->transform(one_of({"ledger", "vault"}, LetterCase::exact))
      ->default_str("ledger");
  cmd->add_flag("--check",
                o->check,
                "Check each entry against Vault (token and lease) and, with "
                "the Engine API, Swarm's task state");
  cmd->add_option("--ledger", o->ledger_path, "The ledger file")
      ->default_str(o->ledger_path);
  cmd->add_flag("--live-after-task",
                o->only_live_after_task,
                "Only credentials still live for tasks that ended or are "
                "gone");
  cmd->add_flag("--duplicates",
                o->only_duplicates,
                "Only tasks that received several credentials for one "
                "secret");
  cmd->add_flag("--failed", o->only_failed, "Only issuances that failed");
  cmd->add_flag(
      "--unknown", o->only_unknown, "Only issuances whose outcome is unknown");
  cmd->add_flag("--problems", o->only_problems, "Only flagged entries");
  cmd->add_option("--limit", o->limit, "At most this many ledger rows")
      ->transform(row_limit());
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
