#include "cli/table.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace vsp::cli;

TEST_CASE("Table::print aligns columns and colours only when asked", "[cli]") {
  Table table({"RULE", "VERDICT", "WHY"});
  table.add({{"app"}, {"matched", Colour::green}, {""}});
  table.add({{"legacy-kv"}, {"no match", Colour::yellow}, {"no stack"}});

  std::ostringstream plain;
  table.print(plain, Colouring::off);
  CHECK(plain.str() == "RULE       VERDICT   WHY\n"
                       "app        matched\n"
                       "legacy-kv  no match  no stack\n");

  std::ostringstream coloured;
  table.print(coloured, Colouring::on);
  CHECK(coloured.str() ==
        "\033[1mRULE\033[0m       \033[1mVERDICT\033[0m   \033[1mWHY\033[0m\n"
        "app        \033[32mmatched\033[0m\n"
        "legacy-kv  \033[33mno match\033[0m  no stack\n");
}

TEST_CASE("paint leaves text alone without colour", "[cli]") {
  CHECK(paint("x", Colour::red, Colouring::off) == "x");
  CHECK(paint("x", Colour::red, Colouring::on) == "\033[31mx\033[0m");
  CHECK(paint("", Colour::red, Colouring::on).empty());
}
