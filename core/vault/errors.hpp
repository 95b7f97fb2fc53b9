#pragma once

#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace vsp::vault {

// Error::code values set by core/vault. Each is a case a caller handles
// differently; Error::kind gives the coarse class shown in parentheses.
// They are named like enum values (std::errc style), not k_ constants.
// NOLINTBEGIN(readability-identifier-naming): spelled as the code they hold
namespace errc {
// 403 from the ACL (denied).
inline constexpr char permission_denied[] = "permission_denied";
// 403 naming an invalid, expired or revoked token; "bad token" from a
// token lookup (denied).
inline constexpr char invalid_token[] = "invalid_token";
// 404, or an unknown lease, accessor or token (not_found).
inline constexpr char not_found[] = "not_found";
// KV v2 version soft-deleted / destroyed (not_found).
inline constexpr char deleted[] = "deleted";
inline constexpr char destroyed[] = "destroyed";
// 503 "Vault is sealed" (unavailable).
inline constexpr char sealed[] = "sealed";
// A standby answered and the active node could not be reached through
// its redirect (unavailable).
inline constexpr char standby[] = "standby";
// 429 (unavailable).
inline constexpr char rate_limited[] = "rate_limited";
// Could not connect, or the connection broke (unavailable).
inline constexpr char unreachable[] = "unreachable";
// The caller's deadline passed (timeout).
inline constexpr char timeout[] = "timeout";
// TLS handshake or certificate verification failed (unavailable).
inline constexpr char tls[] = "tls";
// A reply that is not what Vault sends: not JSON, truncated, empty where
// a body is needed, over the size cap (internal).
inline constexpr char invalid_response[] = "invalid_response";
// 400 and other 4xx, with Vault's message (invalid_input).
inline constexpr char bad_request[] = "bad_request";
// 5xx, and 412 once retries are spent (unavailable).
inline constexpr char server_error[] = "server_error";
// Unwrap, lookup or rewrap of a wrapping token that is used, expired or
// unknown: treat as possible interception (denied).
inline constexpr char wrapping_token_invalid[] = "wrapping_token_invalid";
// "lease is not renewable", batch tokens (invalid_input).
inline constexpr char not_renewable[] = "not_renewable";
// "lease expired": the secret behind it is gone (not_found).
inline constexpr char lease_expired[] = "lease_expired";
// A Minting::yes request may have reached Vault but its reply was lost:
// a token or credentials may exist that the caller never saw. Kind is
// timeout or unavailable. Reconcile (by metadata) before issuing again.
inline constexpr char outcome_unknown[] = "outcome_unknown";
// Client::cancel() ended the call: the process is stopping (unavailable).
inline constexpr char cancelled[] = "cancelled";
// The caller passed something the client refuses to send (invalid_input).
inline constexpr char invalid_argument[] = "invalid_argument";
} // namespace errc
// NOLINTEND(readability-identifier-naming)

// The shape of an HTTP body, as far as error decoding cares.
enum class BodyFormat { empty, json, other };

// Vault's messages from an {"errors":[...]} body, Go multierror framing
// ("1 error occurred:\n\t* ...") removed, joined with "; ", tokens scrubbed
// and capped in length. Empty when there are none.
std::string vault_error_text(const nlohmann::json& body);

// True when `text` says the token itself is bad: "invalid token" or "bad
// token", case-insensitively.
bool names_invalid_token(std::string_view text);

// Replaces anything shaped like a Vault token (hvs./hvb./hvr./s. + 20 or
// more characters) with "<redacted>".
std::string scrub_tokens(std::string_view text);

// The typed error for an HTTP answer that is not a success, to `path`.
Error error_for_status(long status,
                       std::string_view path,
                       const nlohmann::json& body,
                       BodyFormat format);

// Builds an Error with a code from errc.
Error make_error(ErrorKind kind, const char* code, std::string message);

// The coarse kind that goes with an errc code.
ErrorKind kind_of(std::string_view code);

} // namespace vsp::vault
