#include "core/vault/types.hpp"

#include "core/vault/errors.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace vsp::vault;
using namespace std::chrono_literals;
using json = nlohmann::json;

TEST_CASE("parse_token_auth reads a token create reply", "[vault]") {
  Response r{200, json::parse(R"({
    "request_id":"x","lease_id":"","renewable":false,"lease_duration":0,
    "data":null,"wrap_info":null,"warnings":["Policy \"web\" does not exist"],
    "auth":{"client_token":"hvs.AAAAAAAAAAAAAAAAAAAAAAAA","accessor":"acc1",
      "policies":["default","web"],"token_policies":["default","web"],
      "metadata":{"task":"t1"},"lease_duration":3600,"renewable":true,
      "entity_id":"","token_type":"service","orphan":true,"num_uses":0}})")};
  const auto a = parse_token_auth(r, "auth/token/create");
  REQUIRE(a.ok());
  CHECK(a->client_token.reveal() == "hvs.AAAAAAAAAAAAAAAAAAAAAAAA");
  CHECK(a->accessor == "acc1");
  CHECK(a->policies == std::vector<std::string>{"default", "web"});
  CHECK(a->metadata.at("task") == "t1");
  CHECK(a->lease_duration == 3600s);
  CHECK(a->renewable);
  CHECK(a->orphan);
  CHECK(a->token_type == "service");
  SECTION("the token is moved out of the json, not copied") {
    CHECK(r.body["auth"]["client_token"].get<std::string>().empty());
  }
}

TEST_CASE("parse_wrap_info reads wrap_info", "[vault]") {
  Response r{200, json::parse(R"({"request_id":"","wrap_info":{
    "token":"hvs.WWWWWWWWWWWWWWWWWWWWWWWW","accessor":"wacc","ttl":300,
    "creation_time":"2024-01-01T00:00:00Z",
    "creation_path":"auth/token/create/r","wrapped_accessor":"inner"}})")};
  const auto w = parse_wrap_info(r, "auth/token/create/r");
  REQUIRE(w.ok());
  CHECK(w->token.reveal() == "hvs.WWWWWWWWWWWWWWWWWWWWWWWW");
  CHECK(w->ttl == 300s);
  CHECK(w->creation_path == "auth/token/create/r");
  CHECK(w->wrapped_accessor == "inner");
  SECTION("an unwrapped reply is an invalid response") {
    Response plain{200, json::parse(R"({"auth":{"client_token":"x"}})")};
    const auto e = parse_wrap_info(plain, "p");
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().code == errc::invalid_response);
  }
  SECTION("an empty body is an invalid response") {
    Response none{200, nullptr};
    CHECK(parse_wrap_info(none, "p").error().code == errc::invalid_response);
  }
}

TEST_CASE("parse_token_info reads lookups, null fields included", "[vault]") {
  const Response r{200, json::parse(R"({"data":{"accessor":"a","creation_ttl":
    2764800,"display_name":"token-x","expire_time":null,"explicit_max_ttl":0,
    "id":"","meta":null,"num_uses":0,"orphan":false,"path":"auth/token/create",
    "policies":["root"],"renewable":false,"ttl":0,"type":"service"}})")};
  const auto i = parse_token_info(r, "auth/token/lookup-self");
  REQUIRE(i.ok());
  CHECK(i->accessor == "a");
  CHECK(i->expire_time.empty());
  CHECK(i->meta.empty());
  CHECK(i->creation_ttl == 2764800s);
  CHECK(i->policies == std::vector<std::string>{"root"});
}

TEST_CASE("parse_secret keeps data and lease", "[vault]") {
  Response r{200, json::parse(R"({"lease_id":"database/creds/ro/abc",
    "renewable":true,"lease_duration":3600,
    "data":{"username":"u","password":"p"},"warnings":null})")};
  const auto s = parse_secret(r, "database/creds/ro");
  REQUIRE(s.ok());
  CHECK(s->lease_id == "database/creds/ro/abc");
  CHECK(s->renewable);
  CHECK(s->lease_duration == 3600s);
  CHECK(s->data["username"] == "u");
  SECTION("204 gives an empty secret") {
    Response none{204, nullptr};
    const auto e = parse_secret(none, "x");
    REQUIRE(e.ok());
    CHECK(e->data.is_null());
  }
}

TEST_CASE("parse_keys and the lease parsers", "[vault]") {
  const Response keys{200, json::parse(R"({"data":{"keys":["a","b/"]}})")};
  CHECK(parse_keys(keys, "x").value() == std::vector<std::string>{"a", "b/"});
  const Response lease{200, json::parse(R"({"data":{"id":"l/1",
    "issue_time":"t","expire_time":"u","last_renewal":null,"renewable":true,
    "ttl":59}})")};
  const auto l = parse_lease_info(lease, "sys/leases/lookup");
  REQUIRE(l.ok());
  CHECK(l->ttl == 59s);
  CHECK(l->last_renewal.empty());
  const Response renewal{200, json::parse(R"({"lease_id":"l/1",
    "renewable":true,"lease_duration":120})")};
  CHECK(parse_lease_renewal(renewal, "sys/leases/renew")->lease_duration ==
        120s);
}

TEST_CASE("parse_health reads every state", "[vault]") {
  const Response r{299, json::parse(R"({"initialized":true,"sealed":false,
    "standby":true,"performance_standby":false,"version":"1.15.0",
    "cluster_name":"c","cluster_id":"id","server_time_utc":1700000000})")};
  const auto h = parse_health(r);
  REQUIRE(h.ok());
  CHECK(h->status == 299);
  CHECK(h->standby);
  CHECK(h->version == "1.15.0");
  CHECK(parse_health(Response{200, nullptr}).error().code ==
        errc::invalid_response);
}
