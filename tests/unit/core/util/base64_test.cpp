#include "core/util/base64.hpp"

#include <catch2/catch.hpp>

using namespace vsp;

TEST_CASE("base64::encode pads to whole quads", "[util]") {
  CHECK(base64::encode("") == "");
  CHECK(base64::encode("h") == "aA==");
  CHECK(base64::encode("he") == "aGU=");
  CHECK(base64::encode("hello") == "aGVsbG8=");
  CHECK(base64::encode(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("base64::decode round-trips and refuses bad input", "[util]") {
  SECTION("round trip of every byte value") {
    std::string all;
    for (int i = 0; i < 256; ++i) {
      all += static_cast<char>(i);
    }
    auto back = base64::decode(base64::encode(all));
    REQUIRE(back.ok());
    CHECK(*back == all);
  }
  SECTION("unpadded input is accepted") {
    auto r = base64::decode("aGVsbG8");
    REQUIRE(r.ok());
    CHECK(*r == "hello");
  }
  SECTION("url-safe alphabet is refused") {
    CHECK_FALSE(base64::decode("-_8=").ok());
  }
  SECTION("impossible length is refused") {
    CHECK_FALSE(base64::decode("aGVsb").ok());
  }
}
