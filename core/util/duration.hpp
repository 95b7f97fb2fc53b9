#pragma once

#include "core/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace vsp {

using Seconds = std::chrono::seconds;

// Parses a duration as Vault writes them: a bare number of seconds ("90")
// or units h, m, s, ms combined ("1h30m", "20m", "1.5h" is refused).
// Fails on empty, negative or malformed text.
Result<Seconds> parse_duration(std::string_view text);

// Same, but keeps milliseconds ("250ms", "5s").
Result<std::chrono::milliseconds> parse_duration_ms(std::string_view text);

// Formats seconds the short way: 0s, 45s, 5m, 1h30m, 768h.
std::string format_duration(Seconds d);

} // namespace vsp
