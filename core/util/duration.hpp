#pragma once

#include "core/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace vsp {

using Seconds = std::chrono::seconds;

// Parses a duration as Vault reads them: Go's time.ParseDuration forms
// without a sign ("1h30m", "1.5h", "1h0.5m", "0.5s", units h, m, s, ms,
// us, µs, ns), or a bare number of seconds ("90"). Fails on empty,
// negative or malformed text, on more than Go's limit (about 292 years),
// and on a total that is not whole seconds ("1.5s"): Vault keeps TTLs in
// whole seconds, and vsp does not round an operator's figure.
Result<Seconds> parse_duration(std::string_view text);

// Same, but keeps milliseconds ("250ms", "0.5s"); a total that is not
// whole milliseconds fails.
Result<std::chrono::milliseconds> parse_duration_ms(std::string_view text);

// Formats seconds the short way: 0s, 45s, 5m, 1h30m, 768h.
std::string format_duration(Seconds d);

} // namespace vsp
