#include "plugin/config.hpp"

#include "tests/support/paths.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>
#include <sstream>

using namespace vsp;
using namespace vsp::plugin;
using namespace vsp::test;
using namespace std::chrono_literals;

namespace {

Getenv env_of(std::map<std::string, std::string> vars) {
  vars.emplace("VSP_TOKEN_FILE", "/etc/vsp/token");
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt
                            : std::optional<std::string>(it->second);
  };
}

} // namespace

TEST_CASE("Config reads the ledger path and the poll interval", "[plugin]") {
  SECTION("defaults") {
    auto c = Config::from_env(env_of({}));
    REQUIRE(c.ok());
    CHECK(c->ledger_path == "/var/lib/vsp/ledger.db");
    CHECK(c->poll_interval == 10s);
  }
  SECTION("set") {
    auto c = Config::from_env(
        env_of({{"VSP_LEDGER", "/data/l.db"}, {"VSP_POLL_INTERVAL", "2s"}}));
    REQUIRE(c.ok());
    CHECK(c->ledger_path == "/data/l.db");
    CHECK(c->poll_interval == 2s);
  }
  SECTION("a poll interval out of range") {
    for (const char* bad : {"10ms", "2h", "often"}) {
      auto c = Config::from_env(env_of({{"VSP_POLL_INTERVAL", bad}}));
      REQUIRE_FALSE(c.ok());
      CHECK(c.error().message ==
            std::string("VSP_POLL_INTERVAL=\"") + bad +
                "\": expected a duration from 100ms to 1h");
    }
  }
}

TEST_CASE("unknown_settings names misspelt VSP_ variables", "[plugin]") {
  CHECK(unknown_settings({"VSP_RULES=/r.yaml",
                          "PATH=/bin",
                          "VAULT_ADDR=http://127.0.0.1:8200",
                          "VSP_TOKEN_FILE=/t"})
            .empty());
  CHECK(unknown_settings({"VSP_RULESS=/r.yaml"}) ==
        std::vector<std::string>{"unknown setting VSP_RULESS is ignored "
                                 "(did you mean VSP_RULES?)"});
  CHECK(unknown_settings({"VSP_DEADLNIE=2s", "VSP_TOKENFILE=/t"}) ==
        std::vector<std::string>{
            "unknown setting VSP_DEADLNIE is ignored (did you mean "
            "VSP_DEADLINE?)",
            "unknown setting VSP_TOKENFILE is ignored (did you mean "
            "VSP_TOKEN_FILE?)"});
  CHECK(unknown_settings({"VSP_COLOUR=1"}) ==
        std::vector<std::string>{
            "unknown setting VSP_COLOUR is ignored (see vsp-plugin(8))"});
  // A name without a value still counts.
  CHECK(unknown_settings({"VSP_WORKER"}).size() == 1);
}

TEST_CASE("known_settings are the ones vsp-plugin(8) documents",
          "[plugin][docs]") {
  // Definitions open a line: "*VSP\_RULES*" or "*VSP\_A*, *VSP\_B*".
  std::istringstream page(read_file(source_path("man/vsp-plugin.8.scd")));
  const std::regex name(R"(\*(VSP(?:\\_[A-Z]+)+)\*)");
  std::set<std::string> documented;
  for (std::string line; std::getline(page, line);) {
    if (line.rfind("*VSP", 0) != 0) {
      continue;
    }
    for (auto it = std::sregex_iterator(line.begin(), line.end(), name);
         it != std::sregex_iterator();
         ++it) {
      documented.insert(
          std::regex_replace((*it)[1].str(), std::regex(R"(\\)"), ""));
    }
  }
  const std::set<std::string> known(known_settings().begin(),
                                    known_settings().end());
  CHECK(documented == known);
}
