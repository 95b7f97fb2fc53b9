#include "core/ledger/rows.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

namespace vsp::ledger {
namespace {

constexpr std::size_t k_max_field_bytes = 1024;
constexpr std::size_t k_max_policies = 64;
constexpr std::size_t k_max_id_length = 64;

Error invalid(const std::string& path, const char* code, std::string detail) {
  return Error(ErrorKind::invalid_input,
               code,
               fmt::format("ledger {}: {}", path, detail));
}

Error corrupt(const std::string& path, std::string detail) {
  return Error(ErrorKind::unavailable,
               "ledger_corrupt",
               fmt::format("ledger {}: {}", path, detail));
}

// Never echoes `value`: a field refused for looking like a token may be one.
Status validate_text(const std::string& path,
                     std::string_view field,
                     std::string_view value) {
  if (value.size() > k_max_field_bytes) {
    return invalid(path,
                   "ledger_invalid",
                   fmt::format("field {} is longer than {} bytes",
                               field,
                               k_max_field_bytes));
  }
  if (looks_like_vault_token(value)) {
    return invalid(path,
                   "ledger_token_shaped",
                   fmt::format("refusing field {}: it looks like a vault "
                               "token, and the ledger keeps accessors only",
                               field));
  }
  return ok_status();
}

Status validate_policies(const std::string& path,
                         const std::vector<std::string>& policies) {
  if (policies.size() > k_max_policies) {
    return invalid(path,
                   "ledger_invalid",
                   fmt::format("more than {} policies", k_max_policies));
  }
  for (const auto& policy : policies) {
    if (auto valid = validate_text(path, "policies", policy); !valid.ok()) {
      return valid;
    }
  }
  return ok_status();
}

Result<std::vector<std::string>> policies_from_json(const std::string& path,
                                                    const std::string& id,
                                                    const std::string& text) {
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_array()) {
    return corrupt(path,
                   fmt::format("issuance {} has unreadable policies", id));
  }
  std::vector<std::string> policies;
  for (const auto& item : json) {
    if (!item.is_string()) {
      return corrupt(path,
                     fmt::format("issuance {} has unreadable policies", id));
    }
    policies.push_back(item.get<std::string>());
  }
  return policies;
}

void add_equal(Select& select,
               std::string_view column,
               const std::optional<std::string>& value) {
  if (value) {
    select.sql += fmt::format(" AND {} = ?", column);
    select.params.emplace_back(*value);
  }
}

// Either of two columns equal to `value`.
void add_either(Select& select,
                std::string_view first,
                std::string_view second,
                const std::optional<std::string>& value) {
  if (value) {
    select.sql += fmt::format(" AND ({} = ? OR {} = ?)", first, second);
    select.params.emplace_back(*value);
    select.params.emplace_back(*value);
  }
}

Status add_id_prefix(Select& select,
                     const std::string& path,
                     const std::optional<std::string>& id_prefix) {
  if (!id_prefix) {
    return ok_status();
  }
  std::string prefix = *id_prefix;
  std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  if (auto valid = validate_id(path, prefix); !valid.ok()) {
    return valid;
  }
  // IDs are lowercase hex, so every ID starting with `prefix` sorts before
  // prefix + "g": a range the primary key index serves.
  select.sql += " AND id >= ? AND id < ?";
  select.params.emplace_back(prefix);
  select.params.emplace_back(prefix + "g");
  return ok_status();
}

void add_states(Select& select, const std::vector<State>& states) {
  if (states.empty()) {
    return;
  }
  select.sql += " AND state IN (?";
  for (std::size_t i = 1; i < states.size(); ++i) {
    select.sql += ", ?";
  }
  select.sql += ")";
  for (const State state : states) {
    select.params.emplace_back(std::string(to_string(state)));
  }
}

void add_time_range(Select& select, const Query& query) {
  if (query.created_from_ms) {
    select.sql += " AND created_ms >= ?";
    select.params.emplace_back(*query.created_from_ms);
  }
  if (query.created_until_ms) {
    select.sql += " AND created_ms < ?";
    select.params.emplace_back(*query.created_until_ms);
  }
}

void add_page_after(Select& select, const Query& query) {
  if (!query.after) {
    return;
  }
  const char* past = query.order == Order::newest_first ? "<" : ">";
  select.sql += fmt::format(
      " AND (created_ms {0} ? OR (created_ms = ? AND id {0} ?))", past);
  select.params.emplace_back(query.after->created_ms);
  select.params.emplace_back(query.after->created_ms);
  select.params.emplace_back(query.after->id);
}

} // namespace

void bind_all(Statement& statement, const std::vector<Param>& params) {
  int index = 1;
  for (const auto& param : params) {
    std::visit([&](const auto& value) { statement.bind(index, value); }, param);
    ++index;
  }
}

Result<Issuance> read_issuance(const Statement& row, const std::string& path) {
  Issuance out;
  out.id = row.text(0);
  out.created_ms = row.integer(1);
  out.task_id = row.text(2);
  out.task_name = row.text(3);
  out.service_id = row.text(4);
  out.service_name = row.text(5);
  out.node_id = row.text(6);
  out.secret = row.text(7);
  out.rule = row.text(8);
  out.kind = row.text(9);
  out.accessor = row.text(10);
  out.wrapping_accessor = row.text(11);
  out.lease_id = row.text(12);
  auto policies = policies_from_json(path, out.id, row.text(13));
  if (!policies.ok()) {
    return policies.error();
  }
  out.policies = std::move(*policies);
  out.ttl_s = row.integer(14);
  out.expires_ms = row.integer(15);
  const auto state = parse_state(row.text(16));
  if (!state) {
    return corrupt(path,
                   fmt::format("issuance {} has an unknown state", out.id));
  }
  out.state = *state;
  out.changed_ms = row.integer(17);
  out.reason = row.text(18);
  return out;
}

Result<std::vector<Issuance>> query_issuances(
    Database& db, std::string_view sql, const std::vector<Param>& params) {
  auto statement = db.prepare(sql);
  if (!statement.ok()) {
    return statement.error();
  }
  bind_all(**statement, params);

  std::vector<Issuance> rows;
  for (;;) {
    auto more = (*statement)->step();
    if (!more.ok()) {
      return more.error();
    }
    if (!*more) {
      return rows;
    }
    auto row = read_issuance(**statement, db.path());
    if (!row.ok()) {
      return row.error();
    }
    rows.push_back(std::move(*row));
  }
}

Result<Select> select_for(const std::string& path, const Query& query) {
  Select select;
  select.sql =
      fmt::format("SELECT {} FROM issuance WHERE 1", k_issuance_columns);
  if (auto added = add_id_prefix(select, path, query.id_prefix); !added.ok()) {
    return added.error();
  }
  add_equal(select, "task_id", query.task_id);
  add_either(select, "service_id", "service_name", query.service);
  add_equal(select, "secret", query.secret);
  add_equal(select, "node_id", query.node_id);
  add_either(select, "accessor", "wrapping_accessor", query.accessor);
  add_equal(select, "lease_id", query.lease_id);
  add_states(select, query.states);
  add_time_range(select, query);
  add_page_after(select, query);

  select.sql += query.order == Order::newest_first
                    ? " ORDER BY created_ms DESC, id DESC"
                    : " ORDER BY created_ms, id";
  if (query.limit > 0) {
    select.sql += " LIMIT ?";
    select.params.emplace_back(static_cast<std::int64_t>(query.limit));
  }
  return select;
}

std::string policies_to_json(const std::vector<std::string>& policies) {
  return nlohmann::json(policies).dump();
}

std::string short_reason(std::string_view reason) {
  if (reason.size() <= k_max_reason_bytes) {
    return std::string(reason);
  }
  std::size_t end = k_max_reason_bytes;
  while (end > 0 && (static_cast<unsigned char>(reason[end]) & 0xc0) == 0x80) {
    --end; // do not split a multi-byte character
  }
  return std::string(reason.substr(0, end));
}

Status validate_id(const std::string& path, std::string_view id) {
  const bool hex = std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (id.empty() || id.size() > k_max_id_length || !hex) {
    return invalid(path,
                   "ledger_invalid",
                   fmt::format("an issuance id is 1 to {} lowercase hex digits",
                               k_max_id_length));
  }
  return ok_status();
}

Status validate_intent(const std::string& path, const Issuance& intent) {
  if (auto valid = validate_id(path, intent.id); !valid.ok()) {
    return valid;
  }
  if (intent.secret.empty() || intent.kind.empty()) {
    return invalid(
        path, "ledger_invalid", "an intent needs a secret name and a kind");
  }
  if (intent.state != State::pending) {
    return invalid(path, "ledger_invalid", "an intent starts pending");
  }
  if (intent.ttl_s < 0 || intent.expires_ms < 0 || intent.created_ms < 0) {
    return invalid(path, "ledger_invalid", "negative ttl or time");
  }

  const std::pair<std::string_view, const std::string*> fields[] = {
      {"task_id", &intent.task_id},
      {"task_name", &intent.task_name},
      {"service_id", &intent.service_id},
      {"service_name", &intent.service_name},
      {"node_id", &intent.node_id},
      {"secret", &intent.secret},
      {"rule", &intent.rule},
      {"kind", &intent.kind},
      {"accessor", &intent.accessor},
      {"wrapping_accessor", &intent.wrapping_accessor},
      {"lease_id", &intent.lease_id},
  };
  for (const auto& [name, value] : fields) {
    if (auto valid = validate_text(path, name, *value); !valid.ok()) {
      return valid;
    }
  }
  if (auto valid = validate_reason(path, intent.reason); !valid.ok()) {
    return valid;
  }
  return validate_policies(path, intent.policies);
}

Status validate_outcome(const std::string& path, const Outcome& outcome) {
  if (outcome.ttl_s < 0 || outcome.expires_ms < 0) {
    return invalid(path, "ledger_invalid", "negative ttl or expiry");
  }
  const std::pair<std::string_view, const std::string*> fields[] = {
      {"accessor", &outcome.accessor},
      {"wrapping_accessor", &outcome.wrapping_accessor},
      {"lease_id", &outcome.lease_id},
  };
  for (const auto& [name, value] : fields) {
    if (auto valid = validate_text(path, name, *value); !valid.ok()) {
      return valid;
    }
  }
  return validate_policies(path, outcome.policies);
}

Status validate_reason(const std::string& path, std::string_view reason) {
  // Length is not refused (reasons are cut short), a token shape is.
  if (looks_like_vault_token(reason)) {
    return validate_text(path, "reason", reason);
  }
  return ok_status();
}

} // namespace vsp::ledger
