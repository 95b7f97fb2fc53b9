#include "core/docker/protocol.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using namespace vsp;
using namespace vsp::docker;

TEST_CASE("protocol responses have the shape Docker decodes", "[docker]") {
  SECTION("activate") {
    auto j = nlohmann::json::parse(activate_response());
    CHECK(j["Implements"] == nlohmann::json::array({"secretprovider"}));
  }
  SECTION("value is padded standard base64") {
    auto body =
        value_response(SecretString(std::string("hello?>")), DoNotReuse::yes);
    auto j = nlohmann::json::parse(body.reveal());
    CHECK(j["Value"] == "aGVsbG8/Pg==");
    CHECK(j["DoNotReuse"] == true);
  }
  SECTION("error text is escaped JSON") {
    auto j = nlohmann::json::parse(error_response("bad \"x\"\n\xff"));
    CHECK(j["Err"].get<std::string>().rfind("bad \"x\"\n", 0) == 0);
  }
}
