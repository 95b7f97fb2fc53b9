#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsp::ledger {

// Where one issuance stands.
//   pending  intent recorded, Vault not yet (or not known to be) asked
//   issued   Vault issued it; accessors and lease are recorded
//   revoked  revoked in Vault (by the poller, `vsp revoke`, or a settle)
//   expired  its TTL ran out
//   failed   Vault refused or the request failed before anything existed
//   unknown  a crash or a lost reply left the outcome unknown
enum class State { pending, issued, revoked, expired, failed, unknown };

// How a ledger file is opened: the plugin and `vsp revoke` write,
// `vsp audit` only reads.
enum class Access { read_write, read_only };

// Who changed a row's state, kept in its history.
enum class Actor { plugin, cli, poller };

// Lowercase names as stored in the file ("pending", "cli", ...).
const char* to_string(State state);
const char* to_string(Actor actor);
std::optional<State> parse_state(std::string_view text);
std::optional<Actor> parse_actor(std::string_view text);

// Whether a row may move from `from` to `to`. Nothing moves back to
// pending; revoked is final; failed and expired may still become revoked
// (a token found later is revoked, not forgotten).
bool can_move(State from, State to);

// Whether `state` is settled: nothing is left to revoke or decide, so
// prune() may delete the row once it is old enough.
bool is_settled(State state);

// One row: what was issued to which task. Vault identifiers are accessors
// and lease IDs only; there is deliberately no field for a token or a
// value, and none of these fields accepts a SecretString.
struct Issuance {
  std::string id; // vsp_issuance_id: lowercase hex, also in Vault metadata
  std::int64_t created_ms = 0; // ms since the epoch; 0: now
  std::string task_id;
  std::string task_name;
  std::string service_id;
  std::string service_name;
  std::string node_id;
  std::string secret;
  std::string rule;
  std::string kind; // "wrapped-token", "token", "kv", "dynamic", ...
  std::string accessor;
  std::string wrapping_accessor;
  std::string lease_id;
  std::vector<std::string> policies;
  std::int64_t ttl_s = 0;
  std::int64_t expires_ms = 0; // 0: no known expiry
  State state = State::pending;
  std::int64_t changed_ms = 0; // when `state` last changed
  std::string reason;          // why, in a few words
};

// What Vault answered, recorded by Ledger::record_issued().
struct Outcome {
  std::string accessor;
  std::string wrapping_accessor;
  std::string lease_id;
  std::vector<std::string> policies; // as granted; empty keeps the intent's
  std::int64_t ttl_s = 0;
  std::int64_t expires_ms = 0;
};

// One state change of one issuance.
struct HistoryEntry {
  std::int64_t at_ms = 0;
  std::optional<State> from; // empty for the row's creation
  State to = State::pending;
  std::string reason;
  Actor actor = Actor::plugin;
};

enum class Order { newest_first, oldest_first };

// Where a listing in pages resumes: the last row of the previous page.
// Rows are ordered by creation time, then ID, so a page never repeats or
// skips a row, whatever changes state in between.
struct PageAfter {
  std::int64_t created_ms = 0;
  std::string id;
};

// Filters for Ledger::find(); every filter present must hold.
struct Query {
  std::optional<std::string> id_prefix; // an issuance ID or its start
  std::optional<std::string> task_id;
  std::optional<std::string> service; // service ID or name
  std::optional<std::string> secret;
  std::optional<std::string> node_id;
  std::optional<std::string> accessor; // token or wrapping accessor
  std::optional<std::string> lease_id;
  std::vector<State> states; // any of these; empty: every state
  std::optional<std::int64_t> created_from_ms;  // inclusive
  std::optional<std::int64_t> created_until_ms; // exclusive
  std::optional<PageAfter> after; // only rows past this one, in `order`
  std::size_t limit = 0;          // 0: no limit
  Order order = Order::newest_first;
};

// Live rows of one task, oldest first.
struct TaskIssuances {
  std::string task_id;
  std::vector<Issuance> issuances;
};

// A task holding several issued rows for one secret.
struct Duplicate {
  std::string task_id;
  std::string secret;
  std::vector<std::string> ids; // oldest first
};

// Figures for metrics.
struct Stats {
  std::map<State, std::int64_t> rows; // every state, zero included
  std::int64_t file_bytes = 0;        // the database file
  std::int64_t wal_bytes = 0;         // its write-ahead log, if any
};

// Whether `text` holds something shaped like a Vault token (hvs./hvb./hvr.
// followed by a token body, or a whole legacy s./b./r. token). The ledger
// refuses such fields so a token passed by mistake never reaches disk.
bool looks_like_vault_token(std::string_view text);

} // namespace vsp::ledger
