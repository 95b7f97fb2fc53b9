// TLS between the client and the emulator, with a throwaway CA and
// certificates made by the openssl command at test time.

#include "core/vault/client.hpp"

#include "tests/support/vault_emulator.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace vsp;
using namespace vsp::vault;
using namespace vsp::test;
using namespace std::chrono_literals;

namespace {

Deadline soon() {
  return Deadline::after(10s);
}

// A CA, a server certificate for "vault.test" only (no IP address, so
// reaching it as 127.0.0.1 needs the server name override), a client
// certificate, and an unrelated CA.
struct Pki {
  TempDir dir;
  bool ok = false;

  std::string ca() const { return dir.file("ca.pem"); }
  std::string other_ca() const { return dir.file("other-ca.pem"); }
  std::string server_cert() const { return dir.file("server.pem"); }
  std::string server_key() const { return dir.file("server.key"); }
  std::string client_cert() const { return dir.file("client.pem"); }
  std::string client_key() const { return dir.file("client.key"); }
  // The server's key, certified by the CA for one day in 2020.
  std::string expired_cert() const { return dir.file("expired.pem"); }

  Pki() {
    const std::string d = dir.path();
    dir.write("server.ext",
              "subjectAltName=DNS:vault.test\n"
              "extendedKeyUsage=serverAuth\n");
    dir.write("client.ext", "extendedKeyUsage=clientAuth\n");
    // `openssl ca` is the way to pick a validity in the past.
    dir.write("ca.cnf",
              "[ca]\ndefault_ca=t\n[t]\ndatabase=index.txt\n"
              "new_certs_dir=.\ncertificate=ca.pem\nprivate_key=ca.key\n"
              "serial=serial\ndefault_md=sha256\npolicy=p\n"
              "[p]\ncommonName=supplied\n");
    dir.write("index.txt", "");
    dir.write("serial", "01\n");
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                            "-nodes";
    const std::string cmd =
        "cd " + d + " && " + "openssl req -x509 " + key +
        " -keyout ca.key -out ca.pem -days 1 -subj /CN=vsp-test-ca && " +
        "openssl req -x509 " + key +
        " -keyout other-ca.key -out other-ca.pem -days 1 "
        "-subj /CN=vsp-other-ca && " +
        "openssl req " + key +
        " -keyout server.key -out server.csr -subj /CN=vault.test && " +
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out server.pem -days 1 -extfile server.ext && " +
        "openssl req " + key +
        " -keyout client.key -out client.csr -subj /CN=vsp-client && " +
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out client.pem -days 1 -extfile client.ext && " +
        "openssl ca -batch -config ca.cnf -in server.csr -out expired.pem "
        "-startdate 20200101000000Z -enddate 20200102000000Z "
        "-extfile server.ext -notext";
    ok = run_shell("(" + cmd + ") >/dev/null 2>&1") == 0;
  }
};

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Config tls_config(const VaultEmulator& emu, const Pki& pki) {
  Config c;
  c.address = emu.address();
  c.tls.ca_cert = pki.ca();
  c.tls.server_name = "vault.test";
  c.retry_wait_min = 10ms;
  c.retry_wait_max = 20ms;
  return c;
}

} // namespace

#define START_TLS(emu, pki, client_ca)                                         \
  Pki pki;                                                                     \
  if (!pki.ok) {                                                               \
    VSP_SKIP("the openssl command could not make test certificates");          \
  }                                                                            \
  EmulatorOptions options;                                                     \
  options.tls_cert = pki.server_cert();                                        \
  options.tls_key = pki.server_key();                                          \
  options.tls_client_ca = (client_ca);                                         \
  std::string why;                                                             \
  auto emu = VaultEmulator::start(options, &why);                              \
  if (!emu) {                                                                  \
    VSP_SKIP(why);                                                             \
  }                                                                            \
  const SecretString root(std::string(emu->root_token()))

TEST_CASE("Client over TLS verifies the server", "[vault][emulator][tls]") {
  START_TLS(emu, pki, "");
  REQUIRE(emu->address().rfind("https://", 0) == 0);

  SECTION("the right CA and server name") {
    Client client(tls_config(*emu, pki));
    const auto self = client.lookup_self(root, soon());
    REQUIRE(self.ok());
    SECTION("and the connection is reused") {
      const long before = emu->connection_count();
      for (int i = 0; i < 50; ++i) {
        REQUIRE(client.lookup_self(root, soon()).ok());
      }
      CHECK(emu->connection_count() - before - 1 == 0);
    }
  }
  SECTION("the CA as PEM text") {
    Config c = tls_config(*emu, pki);
    c.tls.ca_cert.clear();
    c.tls.ca_pem = read_all(pki.ca());
    Client client(c);
    CHECK(client.lookup_self(root, soon()).ok());
  }
  SECTION("a wrong CA is a tls error, not retried") {
    Config c = tls_config(*emu, pki);
    c.tls.ca_cert = pki.other_ca();
    c.retry_wait_min = c.retry_wait_max = 2s;
    Client client(c);
    const auto t = std::chrono::steady_clock::now();
    const auto r = client.lookup_self(root, soon());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::tls);
    CHECK(r.error().kind == ErrorKind::unavailable);
    CHECK(std::chrono::steady_clock::now() - t < 1s);
  }
  SECTION("a name the certificate does not carry") {
    Config c = tls_config(*emu, pki);
    c.tls.server_name.clear(); // 127.0.0.1 is not in the certificate
    Client client(c);
    CHECK(client.lookup_self(root, soon()).error().code == errc::tls);
  }
  SECTION("skip verify accepts anything") {
    Config c = tls_config(*emu, pki);
    c.tls.ca_cert = pki.other_ca();
    c.tls.server_name.clear();
    c.tls.skip_verify = SkipVerify::yes;
    Client client(c);
    CHECK(client.lookup_self(root, soon()).ok());
  }
  SECTION("no redirect from https down to http") {
    REQUIRE(
        emu->faults({{"standby", {{"active_address", "http://127.0.0.1:9"}}}}));
    Client client(tls_config(*emu, pki));
    const auto r = client.lookup_self(root, soon());
    CHECK(r.error().code == errc::standby);
    CHECK_THAT(r.error().message, Catch::Contains("refusing redirect"));
  }
}

TEST_CASE("Client over TLS refuses an expired server certificate",
          "[vault][emulator][tls]") {
  Pki pki;
  if (!pki.ok) {
    VSP_SKIP("the openssl command could not make test certificates");
  }
  EmulatorOptions options;
  options.tls_cert = pki.expired_cert();
  options.tls_key = pki.server_key();
  std::string why;
  auto emu = VaultEmulator::start(options, &why);
  if (!emu) {
    VSP_SKIP(why);
  }
  Client client(tls_config(*emu, pki));
  const auto t = std::chrono::steady_clock::now();
  const auto r = client.lookup_self(SecretString(emu->root_token()), soon());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::tls);
  CHECK_THAT(r.error().message, Catch::Contains("expired"));
  CHECK(std::chrono::steady_clock::now() - t < 2s); // not retried
}

TEST_CASE("Client over TLS presents a client certificate",
          "[vault][emulator][tls]") {
  START_TLS(emu, pki, pki.ca());

  SECTION("with the certificate") {
    Config c = tls_config(*emu, pki);
    c.tls.client_cert = pki.client_cert();
    c.tls.client_key = pki.client_key();
    Client client(c);
    CHECK(client.lookup_self(root, soon()).ok());
  }
  SECTION("without it the handshake fails") {
    Client client(tls_config(*emu, pki));
    const auto r = client.lookup_self(root, soon());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::tls);
    CHECK_THAT(r.error().message,
               Catch::Contains("requires a client certificate"));
  }
}
