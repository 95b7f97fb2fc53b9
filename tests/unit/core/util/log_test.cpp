#include "core/util/log.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <array>
#include <string>

using namespace vsp;

TEST_CASE("log lines escape control characters from requests", "[util]") {
  std::array<int, 2> fds{};
  REQUIRE(::pipe(fds.data()) == 0);
  const auto saved = log::level();
  log::set_level(log::Level::info);
  log::set_fds(fds[1], fds[1]);
  // A secret name from a GetSecret body may hold newlines, escapes and
  // terminal control sequences; it must not forge a second log line.
  log::info(
      "plugin", "secret={}", std::string("a\nERROR forged\r\x1b[2J\0z", 20));
  log::set_fds(-1, -1);
  log::set_level(saved);
  ::close(fds[1]);
  std::string out;
  std::array<char, 512> buf{};
  for (ssize_t n = 0; (n = ::read(fds[0], buf.data(), buf.size())) > 0;) {
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  REQUIRE_FALSE(out.empty());
  CHECK(out.find('\n') == out.size() - 1);
  CHECK(out.find('\r') == std::string::npos);
  CHECK(out.find('\x1b') == std::string::npos);
  CHECK(out.find('\0') == std::string::npos);
  CHECK(out.find("forged") != std::string::npos);
}

TEST_CASE("log::value keeps a field from posing as another", "[util]") {
  CHECK(log::value("task-42") == "task-42");
  CHECK(log::value("web_1.2/x:y") == "web_1.2/x:y");
  CHECK(log::value("") == R"("")");
  // A secret name chosen to forge "reason=" in a refusal line.
  CHECK(log::value(R"(db reason="ok")") == R"("db reason=\"ok\"")");
  CHECK(log::value("a=b") == R"("a=b")");
  CHECK(log::value(R"(C:\path)") == R"("C:\\path")");
  CHECK(log::value("tab\there") == "\"tab\there\"");
}
