#include "core/util/duration.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>

namespace vsp {
namespace {

using std::chrono::nanoseconds;

// Go's limit: a time.Duration is an int64 count of nanoseconds
// (about 292 years).
constexpr std::uint64_t k_max_ns =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
constexpr std::uint64_t k_ns_per_s = 1'000'000'000;
// Fraction digits past this many add less than 1ns even to hours.
constexpr int k_max_fraction_digits = 13;

// A unit's length in nanoseconds, as coefficient * 10^exponent, so that
// fractions can be scaled without overflow.
struct Unit {
  std::string_view name;
  std::uint64_t coefficient;
  int exponent;
};

// Go's units; both spellings of micro (U+00B5, U+03BC) included.
constexpr std::array<Unit, 8> k_units{{{"ns", 1, 0},
                                       {"us", 1, 3},
                                       {"\xc2\xb5s", 1, 3},
                                       {"\xce\xbcs", 1, 3},
                                       {"ms", 1, 6},
                                       {"s", 1, 9},
                                       {"m", 6, 10},
                                       {"h", 36, 11}}};

std::uint64_t pow10(int exponent) {
  std::uint64_t n = 1;
  for (int i = 0; i < exponent; ++i) {
    n *= 10;
  }
  return n;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// One "1.5h" part of a duration, as read so far.
struct Component {
  std::uint64_t whole = 0;
  std::uint64_t fraction = 0; // the first fraction_digits digits
  int fraction_digits = 0;
  bool any_digit = false;
};

// Reads digits at `i` into `n`; false when n would pass k_max_ns.
bool read_whole(std::string_view text, std::size_t& i, Component& c) {
  for (; i < text.size() && is_digit(text[i]); ++i) {
    c.any_digit = true;
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (c.whole > (k_max_ns - digit) / 10) {
      return false;
    }
    c.whole = c.whole * 10 + digit;
  }
  return true;
}

void read_fraction(std::string_view text, std::size_t& i, Component& c) {
  for (; i < text.size() && is_digit(text[i]); ++i) {
    c.any_digit = true;
    if (c.fraction_digits < k_max_fraction_digits) {
      c.fraction = c.fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
      ++c.fraction_digits;
    }
  }
}

std::optional<Unit> find_unit(std::string_view name) {
  for (const auto& unit : k_units) {
    if (unit.name == name) {
      return unit;
    }
  }
  return std::nullopt;
}

// The component's nanoseconds; nullopt past k_max_ns. The fraction is
// truncated to whole nanoseconds, as Go does.
std::optional<std::uint64_t> nanoseconds_of(const Component& c, Unit unit) {
  const std::uint64_t scale = unit.coefficient * pow10(unit.exponent);
  if (c.whole > k_max_ns / scale) {
    return std::nullopt;
  }
  std::uint64_t ns = c.whole * scale;
  // fraction / 10^digits * coefficient * 10^exponent, exactly.
  const std::uint64_t part = unit.exponent >= c.fraction_digits
                                 ? c.fraction * unit.coefficient *
                                       pow10(unit.exponent - c.fraction_digits)
                                 : c.fraction * unit.coefficient /
                                       pow10(c.fraction_digits - unit.exponent);
  if (part > k_max_ns - ns) {
    return std::nullopt;
  }
  return ns + part;
}

Error bad(std::string_view text, std::string_view why) {
  return Error(ErrorKind::invalid_input,
               "invalid_duration",
               fmt::format("invalid duration \"{}\": {}", text, why));
}

// Vault's extra form: a bare number of seconds.
Result<nanoseconds> parse_bare_seconds(std::string_view text) {
  Component c;
  std::size_t i = 0;
  if (!read_whole(text, i, c) || c.whole > k_max_ns / k_ns_per_s) {
    return bad(text, "too large");
  }
  return nanoseconds(static_cast<std::int64_t>(c.whole * k_ns_per_s));
}

// Go's time.ParseDuration, without a sign: "1h30m", "1.5h", "250ms".
Result<nanoseconds> parse_nanoseconds(std::string_view text) {
  if (text.empty()) {
    return bad(text, "empty");
  }
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    return parse_bare_seconds(text);
  }
  std::uint64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    Component c;
    if (!read_whole(text, i, c)) {
      return bad(text, "too large");
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      read_fraction(text, i, c);
    }
    if (!c.any_digit) {
      return bad(text, "expected a number");
    }
    const std::size_t unit_start = i;
    while (i < text.size() && !is_digit(text[i]) && text[i] != '.') {
      ++i;
    }
    const std::string_view name = text.substr(unit_start, i - unit_start);
    if (name.empty()) {
      return bad(text, "a number without a unit (use h, m, s, ms, us or ns)");
    }
    const auto unit = find_unit(name);
    if (!unit) {
      return bad(text, "unknown unit (use h, m, s, ms, us or ns)");
    }
    const auto ns = nanoseconds_of(c, *unit);
    if (!ns || *ns > k_max_ns - total) {
      return bad(text, "too large");
    }
    total += *ns;
  }
  return nanoseconds(static_cast<std::int64_t>(total));
}

} // namespace

Result<std::chrono::milliseconds> parse_duration_ms(std::string_view text) {
  auto ns = parse_nanoseconds(text);
  if (!ns) {
    return ns.error();
  }
  if (ns->count() % 1'000'000 != 0) {
    return bad(text, "not a whole number of milliseconds");
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*ns);
}

Result<Seconds> parse_duration(std::string_view text) {
  auto ns = parse_nanoseconds(text);
  if (!ns) {
    return ns.error();
  }
  if (ns->count() % static_cast<std::int64_t>(k_ns_per_s) != 0) {
    return bad(text, "not a whole number of seconds");
  }
  return std::chrono::duration_cast<Seconds>(*ns);
}
std::string format_duration(Seconds d) {
  int64_t s = d.count();
  if (s <= 0) {
    return "0s";
  }
  const int64_t h = s / 3600;
  const int64_t m = (s % 3600) / 60;
  s %= 60;
  std::string out;
  if (h > 0) {
    out += fmt::format("{}h", h);
  }
  if (m > 0) {
    out += fmt::format("{}m", m);
  }
  if (s > 0) {
    out += fmt::format("{}s", s);
  }
  return out;
}

} // namespace vsp
