#pragma once

// Internal to core/ledger: how an Issuance maps to and from table rows,
// and what may go into one.

#include "core/ledger/database.hpp"
#include "core/ledger/issuance.hpp"
#include "core/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vsp::ledger {

// A bound parameter; SQL text itself is only ever built from constants.
using Param = std::variant<std::string, std::int64_t>;

// Reasons are kept short: a few words, not a Vault error body.
inline constexpr std::size_t k_max_reason_bytes = 200;

// The issuance columns in the order read_issuance() expects.
inline constexpr std::string_view k_issuance_columns =
    "id, created_ms, task_id, task_name, service_id, service_name, node_id, "
    "secret, rule, kind, accessor, wrapping_accessor, lease_id, policies, "
    "ttl_s, expires_ms, state, changed_ms, reason";

// Binds `params` to ?1, ?2, ... in order.
void bind_all(Statement& statement, const std::vector<Param>& params);

// Decodes the current row of a "SELECT <k_issuance_columns> ..." query;
// ledger_corrupt if a stored state or policy list is unreadable.
Result<Issuance> read_issuance(const Statement& row, const std::string& path);

// Runs such a query and decodes every row.
Result<std::vector<Issuance>> query_issuances(Database& db,
                                              std::string_view sql,
                                              const std::vector<Param>& params);

// A query and its parameters.
struct Select {
  std::string sql;
  std::vector<Param> params;
};

// The SELECT of the rows `query` asks for. Its SQL depends only on which
// filters are present, so the statement cache stays small; invalid_input
// for an ID prefix that is not hex.
Result<Select> select_for(const std::string& path, const Query& query);

std::string policies_to_json(const std::vector<std::string>& policies);

// `reason` cut to k_max_reason_bytes on a UTF-8 boundary.
std::string short_reason(std::string_view reason);

// invalid_input unless `intent` may be recorded: a lowercase hex ID, a
// secret and a kind, fields of sane length, nothing shaped like a token.
Status validate_intent(const std::string& path, const Issuance& intent);
Status validate_outcome(const std::string& path, const Outcome& outcome);
Status validate_reason(const std::string& path, std::string_view reason);

// invalid_input unless `id` is 1 to 64 lowercase hex digits.
Status validate_id(const std::string& path, std::string_view id);

} // namespace vsp::ledger
