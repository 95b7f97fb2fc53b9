#include "cli/table.hpp"
#include "cli/terminal.hpp"

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

TEST_CASE("TerminalSafeBuf shows control characters but keeps colours",
          "[cli]") {
  std::ostringstream target;
  {
    TerminalSafeBuf safe(target.rdbuf());
    std::ostream out(&safe);
    // A task name that would set the window title, clear the screen and
    // overwrite its own line; then one of our colour codes.
    out << "task=a\x1b]0;owned\x07 b\r\x1b[2J\x1b[H\b\x7f c\n"
        << paint("issued", Colour::green, Colouring::on) << "\tok\n"
        << "\x1b[31;1"; // unfinished at the end
  }
  CHECK(target.str() == "task=a\\x1b]0;owned\\x07 b\\x0d\\x1b[2J\\x1b[H"
                        "\\x08\\x7f c\n"
                        "\x1b[32missued\x1b[0m\tok\n"
                        "\\x1b[31;1");
  // A colour code longer than any paint() writes is shown, not obeyed.
  std::ostringstream longer;
  {
    TerminalSafeBuf safe(longer.rdbuf());
    std::ostream out(&safe);
    out << "\x1b[" << std::string(40, '1') << "m.";
  }
  CHECK(longer.str().rfind("\\x1b[", 0) == 0);
}

TEST_CASE("printable escapes control characters for stdio messages", "[cli]") {
  CHECK(printable("plain \"name\"\tand\nlines") ==
        "plain \"name\"\tand\nlines");
  CHECK(printable("a\x1b[2Jb\rc") == "a\\x1b[2Jb\\x0dc");
}

TEST_CASE("Table cells stay on one line", "[cli]") {
  CHECK(one_line("app-x\n2026 info plugin: issued\ttask=FAKE\r") ==
        "app-x\\x0a2026 info plugin: issued\\x09task=FAKE\\x0d");
  Table table({"TASK", "SECRET"});
  table.add({{"t1"}, {"app-x\nFAKE  row"}});
  std::ostringstream out;
  table.print(out, Colouring::off);
  CHECK(out.str() == "TASK  SECRET\n"
                     "t1    app-x\\x0aFAKE  row\n");
}
