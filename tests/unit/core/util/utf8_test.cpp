#include "core/util/utf8.hpp"

#include <catch2/catch.hpp>

#include <string>

using vsp::utf8::first_invalid;
using vsp::utf8::valid;

TEST_CASE("utf8::first_invalid accepts well-formed UTF-8", "[util]") {
  CHECK(valid(""));
  CHECK(valid("plain ascii\n\t"));
  CHECK(valid(std::string("nul\0inside", 10)));
  CHECK(valid("caf\xc3\xa9"));         // U+00E9
  CHECK(valid("\xe2\x82\xac"));        // U+20AC
  CHECK(valid("\xef\xbb\xbfversion")); // a byte order mark
  CHECK(valid("\xed\x9f\xbf"));        // U+D7FF, just below the surrogates
  CHECK(valid("\xf0\x90\x80\x80"));    // U+10000
  CHECK(valid("\xf4\x8f\xbf\xbf"));    // U+10FFFF
}

TEST_CASE("utf8::first_invalid finds the first bad byte", "[util]") {
  struct Case {
    std::string text;
    std::size_t at;
  };
  const Case cases[] = {
      {"ab\x80", 2},                 // a continuation byte alone
      {"a\xc3", 1},                  // cut short at the end
      {"a\xc3z", 1},                 // cut short by an ASCII byte
      {"\xc0\xaf", 0},               // overlong '/'
      {"\xc1\xbf", 0},               // overlong
      {"\xe0\x80\xaf", 0},           // overlong, three bytes
      {"\xf0\x80\x80\xaf", 0},       // overlong, four bytes
      {"\xed\xa0\x80", 0},           // a UTF-16 surrogate
      {"\xf4\x90\x80\x80", 0},       // past U+10FFFF
      {"\xf5\x80\x80\x80", 0},       // never a lead byte
      {"\xff", 0},                   // never in UTF-8
      {"ok \xe2\x82\xac li\xf4", 9}, // after a good multi-byte sequence
      {"\xe2\x82", 0},               // three-byte sequence cut short
  };
  for (const auto& c : cases) {
    INFO(c.at);
    CHECK(first_invalid(c.text) == c.at);
  }
}
