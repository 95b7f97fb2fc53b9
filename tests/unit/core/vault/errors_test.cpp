#include "core/vault/errors.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace vsp::vault;
using json = nlohmann::json;

namespace {

Error decode(long status, const json& body, BodyFormat f = BodyFormat::json) {
  return error_for_status(status, "auth/token/create/vsp-task", body, f);
}

json errors(std::initializer_list<const char*> msgs) {
  json arr = json::array();
  for (const char* m : msgs) {
    arr.push_back(m);
  }
  return {{"errors", arr}};
}

} // namespace

TEST_CASE("error_for_status decodes every status Vault sends", "[vault]") {
  struct Case {
    long status;
    json body;
    const char* code;
    ErrorKind kind;
  };
  const Case cases[] = {
      {400,
       errors({"child policies must be subset of parent"}),
       errc::bad_request,
       ErrorKind::invalid_input},
      {400,
       errors({"wrapping token is not valid or does not exist"}),
       errc::wrapping_token_invalid,
       ErrorKind::denied},
      {400,
       errors({"lease is not renewable"}),
       errc::not_renewable,
       ErrorKind::invalid_input},
      {400,
       errors({"batch tokens cannot be renewed"}),
       errc::not_renewable,
       ErrorKind::invalid_input},
      {400,
       errors({"lease expired"}),
       errc::lease_expired,
       ErrorKind::not_found},
      {400, errors({"invalid lease"}), errc::not_found, ErrorKind::not_found},
      {400,
       errors({"invalid accessor"}),
       errc::not_found,
       ErrorKind::not_found},
      {400,
       errors({"1 error occurred:\n\t* invalid accessor\n\n"}),
       errc::not_found,
       ErrorKind::not_found},
      {403,
       errors({"1 error occurred:\n\t* permission denied\n\n"}),
       errc::permission_denied,
       ErrorKind::denied},
      {403,
       errors({"2 errors occurred:\n\t* permission denied\n\t* invalid "
               "token\n\n"}),
       errc::invalid_token,
       ErrorKind::denied},
      {403,
       errors({"permission denied", "Invalid Token"}),
       errc::invalid_token,
       ErrorKind::denied},
      {403, errors({"bad token"}), errc::invalid_token, ErrorKind::denied},
      {404,
       json{{"errors", json::array()}},
       errc::not_found,
       ErrorKind::not_found},
      {405,
       errors({"unsupported operation"}),
       errc::bad_request,
       ErrorKind::invalid_input},
      {412,
       errors({"required index state not present"}),
       errc::server_error,
       ErrorKind::unavailable},
      {413,
       errors({"http: request body too large"}),
       errc::bad_request,
       ErrorKind::invalid_input},
      {429,
       errors({"request path \"x\": rate limit quota exceeded"}),
       errc::rate_limited,
       ErrorKind::unavailable},
      {500,
       errors({"internal error"}),
       errc::server_error,
       ErrorKind::unavailable},
      {502,
       errors({"failed to connect to the database"}),
       errc::server_error,
       ErrorKind::unavailable},
      {503, errors({"Vault is sealed"}), errc::sealed, ErrorKind::unavailable},
      {503,
       errors({"local node not active but active cluster node not "
               "found"}),
       errc::standby,
       ErrorKind::unavailable},
      {307, json(nullptr), errc::standby, ErrorKind::unavailable},
  };
  for (const auto& c : cases) {
    INFO(c.status << " " << c.body.dump());
    const Error e = decode(c.status, c.body);
    CHECK(e.code == c.code);
    CHECK(e.kind == c.kind);
    CHECK(kind_of(e.code) == e.kind);
  }
}

TEST_CASE("error_for_status writes specific messages", "[vault]") {
  SECTION("permission denied names the path, without repeating vault") {
    const Error e =
        decode(403, errors({"1 error occurred:\n\t* permission denied\n\n"}));
    CHECK(e.message ==
          "vault: permission denied on auth/token/create/vsp-task");
  }
  SECTION("bad request carries Vault's own text") {
    const Error e = decode(400,
                           errors({"child policies must be subset of "
                                   "parent"}));
    CHECK(e.message == "vault: bad request (400) on auth/token/create/vsp-task"
                       ": child policies must be subset of parent");
  }
  SECTION("an invalid token") {
    const Error e = decode(403, errors({"permission denied", "invalid token"}));
    CHECK(e.message ==
          "vault: invalid or expired token on auth/token/create/vsp-task");
  }
  SECTION("a proxy's html page is called out") {
    const Error e = decode(502, json(nullptr), BodyFormat::other);
    CHECK(e.code == errc::server_error);
    CHECK_THAT(e.message, Catch::Contains("not json"));
  }
  SECTION("kv v2 warnings explain a 404") {
    const json body = {
        {"data", nullptr},
        {"warnings", {"Invalid path for a versioned K/V secrets engine."}}};
    const Error e = decode(404, body);
    CHECK(e.code == errc::not_found);
    CHECK_THAT(e.message, Catch::Contains("versioned K/V"));
  }
}

TEST_CASE("vault_error_text unwraps multierror framing", "[vault]") {
  CHECK(vault_error_text(
            errors({"1 error occurred:\n\t* permission denied\n\n"})) ==
        "permission denied");
  CHECK(vault_error_text(errors({"2 errors occurred:\n\t* permission "
                                 "denied\n\t* invalid token\n\n"})) ==
        "permission denied; invalid token");
  CHECK(vault_error_text(errors({"a", "b"})) == "a; b");
  CHECK(vault_error_text(json{{"errors", json::array()}}).empty());
  CHECK(vault_error_text(json("not an object")).empty());
  CHECK(vault_error_text(errors({std::string(1000, 'x').c_str()})).size() <
        410);
}

TEST_CASE("names_invalid_token matches case-insensitive substrings",
          "[vault]") {
  CHECK(names_invalid_token("permission denied; INVALID TOKEN"));
  CHECK(names_invalid_token("bad token"));
  CHECK_FALSE(names_invalid_token("permission denied"));
}

TEST_CASE("scrub_tokens removes anything shaped like a token", "[vault]") {
  CHECK(scrub_tokens("token hvs.CAESIJx7abcdefghijklmnopqrstu is bad") ==
        "token <redacted> is bad");
  CHECK(scrub_tokens("legacy s.abcdefghijklmnopqrstuvwx.") ==
        "legacy <redacted>");
  CHECK(scrub_tokens("paths.short stays") == "paths.short stays");
  CHECK(scrub_tokens("lease database/creds/ro/IQKUMCTg3M5QTRZ0abmLKjTX") ==
        "lease database/creds/ro/IQKUMCTg3M5QTRZ0abmLKjTX");
}

TEST_CASE("scrub_tokens catches a token glued to the text before it",
          "[vault]") {
  // Found by fuzz/vault_response_fuzzer.cpp: a Vault message "120hvs...."
  // kept the token because the scrubber looked for a word start.
  CHECK(scrub_tokens("120hvs.CAESIJx7abcdefghijklmnopqrstu") ==
        "120<redacted>");
  CHECK(scrub_tokens("token=x_hvb.AAAAAAAAAAAAAAAAAAAAAAAA;") ==
        "token=x_<redacted>;");
  CHECK(scrub_tokens("a.hvr.AAAAAAAAAAAAAAAAAAAAAAAA") == "a.<redacted>");
  // The legacy one-letter prefixes still need a word start.
  CHECK(scrub_tokens("files.abcdefghijklmnopqrstuvwx") ==
        "files.abcdefghijklmnopqrstuvwx");
  const Error e =
      decode(400, errors({"denied for 120hvs.CAESIJx7abcdefghijklmnopqrstu"}));
  CHECK(e.message.find("CAESIJx7") == std::string::npos);
}

TEST_CASE("error messages never echo a token", "[vault]") {
  const Error e = decode(
      400, errors({"token hvs.CAESIJx7abcdefghijklmnopqrstu cannot be used"}));
  CHECK(e.message.find("hvs.") == std::string::npos);
}
