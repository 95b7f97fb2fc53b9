#include "core/vault/config.hpp"

#include "core/vault/errors.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace vsp;
using namespace vsp::vault;
using namespace std::chrono_literals;

namespace {

Getenv fake(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

} // namespace

TEST_CASE("Config::from_env reads the vault CLI variables", "[vault]") {
  SECTION("defaults") {
    const auto c = Config::from_env(fake({}));
    REQUIRE(c.ok());
    CHECK(c->address == "https://127.0.0.1:8200");
    CHECK(c->max_retries == 2);
    CHECK(c->tls.skip_verify == SkipVerify::no);
    CHECK(c->namespace_name.empty());
    CHECK(c->client_timeout == 60s);
  }
  SECTION("every variable") {
    const auto c = Config::from_env(fake({
        {"VAULT_ADDR", "https://vault.example:8200"},
        {"VAULT_NAMESPACE", "ns1/"},
        {"VAULT_CACERT", "/ca.pem"},
        {"VAULT_CAPATH", "/cas"},
        {"VAULT_CLIENT_CERT", "/c.pem"},
        {"VAULT_CLIENT_KEY", "/k.pem"},
        {"VAULT_TLS_SERVER_NAME", "vault.internal"},
        {"VAULT_SKIP_VERIFY", "true"},
        {"VAULT_MAX_RETRIES", "0"},
        {"VAULT_CLIENT_TIMEOUT", "90s"},
        {"VAULT_PROXY_ADDR", "http://proxy:3128"},
    }));
    REQUIRE(c.ok());
    CHECK(c->address == "https://vault.example:8200");
    CHECK(c->namespace_name == "ns1/");
    CHECK(c->tls.ca_cert == "/ca.pem");
    CHECK(c->tls.ca_path == "/cas");
    CHECK(c->tls.client_cert == "/c.pem");
    CHECK(c->tls.client_key == "/k.pem");
    CHECK(c->tls.server_name == "vault.internal");
    CHECK(c->tls.skip_verify == SkipVerify::yes);
    CHECK(c->max_retries == 0);
    CHECK(c->client_timeout == 90s);
    CHECK(c->proxy == "http://proxy:3128");
  }
  SECTION("VAULT_AGENT_ADDR wins over VAULT_ADDR") {
    const auto c = Config::from_env(fake(
        {{"VAULT_ADDR", "http://a:1"}, {"VAULT_AGENT_ADDR", "http://b:2"}}));
    REQUIRE(c.ok());
    CHECK(c->address == "http://b:2");
  }
  SECTION("empty values count as unset") {
    const auto c =
        Config::from_env(fake({{"VAULT_ADDR", ""}, {"VAULT_SKIP_VERIFY", ""}}));
    REQUIRE(c.ok());
    CHECK(c->address == "https://127.0.0.1:8200");
  }
  SECTION("unix sockets") {
    const auto c =
        Config::from_env(fake({{"VAULT_ADDR", "unix:///run/v.sock"}}));
    REQUIRE(c.ok());
  }
}

TEST_CASE("Config::from_env refuses malformed values", "[vault]") {
  const std::map<std::string, std::string> bad[] = {
      {{"VAULT_CLIENT_CERT", "/c.pem"}},
      {{"VAULT_CLIENT_KEY", "/k.pem"}},
      {{"VAULT_SKIP_VERIFY", "yes"}},
      {{"VAULT_MAX_RETRIES", "-1"}},
      {{"VAULT_MAX_RETRIES", "two"}},
      {{"VAULT_CLIENT_TIMEOUT", "soon"}},
      {{"VAULT_ADDR", "vault:8200"}},
      {{"VAULT_ADDR", "ftp://vault"}},
      {{"VAULT_ADDR", "unix://relative.sock"}},
      {{"VAULT_ADDR", "https://user:pw@vault:8200"}},
  };
  for (const auto& vars : bad) {
    INFO(vars.begin()->first << "=" << vars.begin()->second);
    const auto c = Config::from_env(fake(vars));
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == errc::invalid_argument);
    CHECK(c.error().kind == ErrorKind::invalid_input);
    CHECK(c.error().message.find("pw@") == std::string::npos);
  }
  SECTION("the pair rule names both") {
    const auto c = Config::from_env(fake({{"VAULT_CLIENT_CERT", "/c.pem"}}));
    CHECK(c.error().message ==
          "both client cert and client key must be provided");
  }
}

TEST_CASE("parse_go_bool accepts exactly strconv.ParseBool's forms",
          "[vault]") {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    CHECK(parse_go_bool(t) == true);
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    CHECK(parse_go_bool(f) == false);
  }
  for (const char* x : {"", "yes", "tRuE", "2"}) {
    CHECK_FALSE(parse_go_bool(x).has_value());
  }
}

TEST_CASE("parse_address takes addresses apart", "[vault]") {
  SECTION("default ports") {
    const auto e = parse_address("https://vault.example");
    REQUIRE(e.ok());
    CHECK(e->port == "443");
    CHECK(e->base_url == "https://vault.example:443");
  }
  SECTION("a path prefix and a trailing slash") {
    const auto e = parse_address("http://10.0.0.1:8200/vault/");
    REQUIRE(e.ok());
    CHECK(e->base_url == "http://10.0.0.1:8200/vault");
    CHECK(e->prefix == "/vault");
  }
  SECTION("ipv6") {
    const auto e = parse_address("http://[::1]:8200");
    REQUIRE(e.ok());
    CHECK(e->host == "[::1]");
  }
  SECTION("unix") {
    const auto e = parse_address("unix:///run/vault/vault.sock");
    REQUIRE(e.ok());
    CHECK(e->scheme == Endpoint::Scheme::unix_socket);
    CHECK(e->unix_path == "/run/vault/vault.sock");
  }
}
