#include "core/util/duration.hpp"

#include <fmt/format.h>

#include <cctype>
#include <limits>

namespace vsp {

Result<std::chrono::milliseconds> parse_duration_ms(std::string_view text) {
  using std::chrono::milliseconds;
  const auto bad = [&](const char* why) {
    return Error(ErrorKind::invalid_input,
                 "invalid_duration",
                 fmt::format("invalid duration \"{}\": {}", text, why));
  };
  if (text.empty()) {
    return bad("empty");
  }
  constexpr int64_t k_limit = std::numeric_limits<int64_t>::max() / 4;
  int64_t total_ms = 0;
  std::size_t i = 0;
  bool any_unit = false;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return bad("expected a number");
    }
    int64_t n = 0;
    while (i < text.size() &&
           std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > k_limit / 3'600'000) {
        return bad("too large");
      }
      ++i;
    }
    std::string_view unit;
    const std::size_t unit_start = i;
    while (i < text.size() &&
           std::isalpha(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    unit = text.substr(unit_start, i - unit_start);
    int64_t scale = 0;
    if (unit.empty()) {
      if (any_unit || i != text.size()) {
        return bad("a bare number must stand alone");
      }
      scale = 1000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "ms") {
      scale = 1;
    } else {
      return bad("unknown unit (use h, m, s or ms)");
    }
    any_unit = any_unit || !unit.empty();
    total_ms += n * scale;
    if (total_ms > k_limit) {
      return bad("too large");
    }
  }
  return milliseconds(total_ms);
}

Result<Seconds> parse_duration(std::string_view text) {
  auto ms = parse_duration_ms(text);
  if (!ms) {
    return ms.error();
  }
  if (ms->count() % 1000 != 0) {
    return Error(
        ErrorKind::invalid_input,
        "invalid_duration",
        fmt::format("invalid duration \"{}\": not whole seconds", text));
  }
  return std::chrono::duration_cast<Seconds>(*ms);
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
