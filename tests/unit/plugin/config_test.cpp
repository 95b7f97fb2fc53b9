#include "plugin/config.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace vsp;
using namespace vsp::plugin;
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
