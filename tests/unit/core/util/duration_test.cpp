#include "core/util/duration.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace vsp;
using namespace std::chrono_literals;

namespace {

// The message parse_duration fails with.
std::string refusal(std::string_view text) {
  auto d = parse_duration(text);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().kind == ErrorKind::invalid_input);
  return d.error().message;
}

} // namespace

TEST_CASE("parse_duration reads Vault's duration forms", "[util]") {
  CHECK(parse_duration("90").value() == 90s);
  CHECK(parse_duration("0").value() == 0s);
  CHECK(parse_duration("30s").value() == 30s);
  CHECK(parse_duration("20m").value() == 1200s);
  CHECK(parse_duration("1h30m").value() == 5400s);
  CHECK(parse_duration("768h").value() == 2764800s);
  CHECK(parse_duration_ms("250ms").value() == 250ms);
}

TEST_CASE("parse_duration reads Go's decimal fractions", "[util]") {
  CHECK(parse_duration("1.5h").value() == 5400s);
  CHECK(parse_duration("1h0.5m").value() == 3630s);
  CHECK(parse_duration("0.1h").value() == 360s);
  CHECK(parse_duration(".5m").value() == 30s);
  CHECK(parse_duration("2.s").value() == 2s);
  CHECK(parse_duration("1.50h").value() == 5400s);
  CHECK(parse_duration("0.5h0.5m0.5s1.5s").value() == 1832s);
  CHECK(parse_duration_ms("0.5s").value() == 500ms);
  CHECK(parse_duration_ms("1.25s").value() == 1250ms);
  // Digits past nanoseconds count for nothing, as in Go.
  CHECK(parse_duration("1.00000000000000000000001h").value() == 3600s);
}

TEST_CASE("parse_duration reads Go's small units", "[util]") {
  CHECK(parse_duration_ms("1500000us").value() == 1500ms);
  CHECK(parse_duration_ms("1000\xc2\xb5s").value() == 1ms); // U+00B5
  CHECK(parse_duration_ms("1000\xce\xbcs").value() == 1ms); // U+03BC
  CHECK(parse_duration("2000000000ns").value() == 2s);
  CHECK(parse_duration("1s500ms500ms").value() == 2s);
  CHECK(parse_duration("1ms999000us").value() == 1s);
}

TEST_CASE("parse_duration refuses malformed text", "[util]") {
  CHECK(refusal("") == "invalid duration \"\": empty");
  for (const char* bad : {"-5s", "+5s", "h", "s5", ".", ".s", "1h."}) {
    INFO(bad);
    CHECK(refusal(bad) ==
          "invalid duration \"" + std::string(bad) + "\": expected a number");
  }
  for (const char* bad : {"5x", "5sec", "1H", "5 s", "5s 3s", "1d"}) {
    INFO(bad);
    CHECK(refusal(bad) == "invalid duration \"" + std::string(bad) +
                              "\": unknown unit (use h, m, s, ms, us or ns)");
  }
  CHECK(refusal("5m3") == "invalid duration \"5m3\": a number without a unit "
                          "(use h, m, s, ms, us or ns)");
  CHECK(refusal("1.5.5h") == "invalid duration \"1.5.5h\": a number without a "
                             "unit (use h, m, s, ms, us or ns)");
}

TEST_CASE("parse_duration refuses what is not whole seconds", "[util]") {
  for (const char* bad : {"1.5s", "0.5s", "250ms", "1500ms", "1ns", "1.001m"}) {
    INFO(bad);
    CHECK(refusal(bad) == "invalid duration \"" + std::string(bad) +
                              "\": not a whole number of seconds");
  }
  auto ms = parse_duration_ms("1500us");
  REQUIRE_FALSE(ms.ok());
  CHECK(ms.error().message ==
        "invalid duration \"1500us\": not a whole number of milliseconds");
}

TEST_CASE("parse_duration refuses more than Go's limit, without overflow",
          "[util]") {
  // Go's limit is 2^63-1 ns: 2562047h47m16.854775807s.
  CHECK(parse_duration("2562047h47m16s").value() == 9223372036s);
  CHECK(parse_duration("9223372036").value() == 9223372036s);
  CHECK(parse_duration_ms("9223372036854ms").value() == 9223372036854ms);
  for (const char* bad : {"2562047h47m17s",
                          "2562048h",
                          "99999999999999h",
                          "99999999999999999999h",
                          "9223372037",
                          "99999999999999999999",
                          "18446744073709551616ns",
                          "9223372036854775808ns",
                          "2562047.9h",
                          "1h2562047h"}) {
    INFO(bad);
    CHECK(refusal(bad) ==
          "invalid duration \"" + std::string(bad) + "\": too large");
  }
}

TEST_CASE("format_duration writes the short form", "[util]") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(45s) == "45s");
  CHECK(format_duration(300s) == "5m");
  CHECK(format_duration(5400s) == "1h30m");
  CHECK(format_duration(2764800s) == "768h");
}
