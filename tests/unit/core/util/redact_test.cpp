#include "core/util/redact.hpp"

#include <catch2/catch.hpp>

using namespace vsp;

TEST_CASE("redact_url hides credentials in urls", "[util]") {
  SECTION("userinfo password") {
    CHECK(redact_url("https://bob:hunter2@vault:8200/v1/x") ==
          "https://bob:<redacted>@vault:8200/v1/x");
    CHECK(redact_url("https://bob@vault/v1/x") == "https://bob@vault/v1/x");
  }
  SECTION("credential-like query parameters only") {
    CHECK(redact_url("http://h/v1/a?token=abc&version=2") ==
          "http://h/v1/a?token=<redacted>&version=2");
    CHECK(redact_url("http://h/p?X-Amz-Signature=zz&list=true#frag") ==
          "http://h/p?X-Amz-Signature=<redacted>&list=true#frag");
    CHECK(redact_url("http://h/p?secret_id=1") ==
          "http://h/p?secret_id=<redacted>");
  }
  SECTION("plain urls pass through") {
    CHECK(redact_url("unix:///run/vault.sock") == "unix:///run/vault.sock");
    CHECK(redact_url("http://127.0.0.1:8200/v1/sys/health") ==
          "http://127.0.0.1:8200/v1/sys/health");
  }
}

TEST_CASE("redact_header hides credential headers", "[util]") {
  CHECK(redact_header("X-Vault-Token: hvs.abc") == "X-Vault-Token: <redacted>");
  CHECK(redact_header("authorization: Bearer x") ==
        "authorization: <redacted>");
  CHECK(redact_header("Cookie: a=b") == "Cookie: <redacted>");
  CHECK(redact_header("X-Vault-Namespace: ns1/") == "X-Vault-Namespace: ns1/");
  CHECK(redact_header("no colon here") == "no colon here");
}

TEST_CASE("redact_secret removes every occurrence", "[util]") {
  const SecretString s(std::string("hvs.sekret"));
  CHECK(redact_secret("a hvs.sekret b hvs.sekret", s) ==
        "a <redacted> b <redacted>");
  CHECK(redact_secret("nothing", SecretString()) == "nothing");
}
