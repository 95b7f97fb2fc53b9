#include "core/util/duration.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace std::chrono_literals;

TEST_CASE("parse_duration reads Vault's duration forms", "[util]") {
  CHECK(parse_duration("90").value() == 90s);
  CHECK(parse_duration("30s").value() == 30s);
  CHECK(parse_duration("20m").value() == 1200s);
  CHECK(parse_duration("1h30m").value() == 5400s);
  CHECK(parse_duration("768h").value() == 2764800s);
  CHECK(parse_duration_ms("250ms").value() == 250ms);
}

TEST_CASE("parse_duration refuses malformed text", "[util]") {
  for (const char* bad :
       {"", "-5s", "5x", "h", "5m3", "1.5h", "s5", "99999999999999999999h"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad).ok());
  }
  CHECK_FALSE(parse_duration("1500ms").ok());
}

TEST_CASE("format_duration writes the short form", "[util]") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(45s) == "45s");
  CHECK(format_duration(300s) == "5m");
  CHECK(format_duration(5400s) == "1h30m");
  CHECK(format_duration(2764800s) == "768h");
}
