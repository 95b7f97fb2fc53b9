#pragma once

#include <chrono>
#include <optional>
#include <string_view>

// The retry policy of spec section 8.2, as pure functions.
namespace vsp::vault {

using Millis = std::chrono::milliseconds;

// True for the statuses the official client retries: 412, 429 and every
// 5xx except 501.
bool retryable_status(long status);

// True when a Minting::yes request answered with `status` may be sent
// again because Vault refused it before acting: 412 (consistency check),
// 429 (quota check), 503 sealed or standby (`vault_text` tells), and the
// redirects of a standby. Any other 5xx may come after the effect.
bool mint_replay_safe(long status, std::string_view vault_text);

// The wait before retry number `retry` (1 for the first retry): a pick
// in [min, max] times `retry`. `unit` in [0, 1) chooses inside the range,
// so tests can pin it; the client passes a random value.
Millis backoff(int retry, Millis min, Millis max, double unit);

// Parses a Retry-After value: delta-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT"), relative to `now`. A date in the
// past gives zero; nullopt when the value is neither.
std::optional<Millis>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now);

// Whether to wait `wait` and try again with `remaining` left before the
// deadline: only when the wait ends early enough to leave the next
// attempt `min_attempt` of time.
bool fits_deadline(Millis wait, Millis remaining, Millis min_attempt);

} // namespace vsp::vault
