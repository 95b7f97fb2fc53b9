// What the Vault client reports to its CallObserver (the plugin's
// metrics), against the emulator.
#include "core/vault/client.hpp"

#include "tests/support/vault_emulator.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <vector>

using namespace vsp;
using namespace vsp::vault;
using namespace vsp::test;
using namespace std::chrono_literals;

namespace {

struct Seen {
  std::string operation;
  long http_status;
  std::string error;
  std::chrono::nanoseconds elapsed;
};

class Recorder final : public CallObserver {
public:
  void on_call(const CallRecord& r) noexcept override {
    std::lock_guard lock(m_mutex);
    m_seen.push_back({std::string(r.operation),
                      r.http_status,
                      std::string(r.error),
                      r.elapsed});
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(m_mutex);
    return m_seen;
  }

private:
  mutable std::mutex m_mutex;
  std::vector<Seen> m_seen;
};

} // namespace

TEST_CASE("operation_name gives fixed names, never a secret's path",
          "[vault]") {
  CHECK(operation_name(Method::post, "auth/token/create/vsp-task") ==
        "token_create");
  CHECK(operation_name(Method::post, "auth/token/create-orphan") ==
        "token_create");
  CHECK(operation_name(Method::get, "auth/token/lookup-self") ==
        "token_lookup_self");
  CHECK(operation_name(Method::post, "auth/token/lookup-accessor") ==
        "token_lookup");
  CHECK(operation_name(Method::post, "auth/token/renew-self") ==
        "token_renew_self");
  CHECK(operation_name(Method::post, "auth/token/revoke-accessor") ==
        "token_revoke");
  CHECK(operation_name(Method::post, "auth/approle/login") == "login");
  CHECK(operation_name(Method::post, "auth/my-approle/login") == "login");
  CHECK(operation_name(Method::post, "sys/wrapping/unwrap") == "unwrap");
  CHECK(operation_name(Method::put, "sys/leases/renew") == "lease_renew");
  CHECK(operation_name(Method::put, "sys/leases/revoke") == "lease_revoke");
  CHECK(operation_name(Method::get, "sys/internal/ui/mounts/secret/app") ==
        "mount_info");
  CHECK(operation_name(Method::get, "sys/health") == "health");
  CHECK(operation_name(Method::get, "secret/data/payroll/ceo") == "read");
  CHECK(operation_name(Method::post, "database/creds/readonly") == "write");
  CHECK(operation_name(Method::list, "secret/metadata/") == "list");
  CHECK(operation_name(Method::del, "secret/data/x") == "delete");
}

TEST_CASE("Client reports each call once, retries included, to its observer",
          "[vault]") {
  std::string why;
  auto emu = VaultEmulator::start({}, &why);
  if (!emu) {
    VSP_SKIP(why);
  }
  Config config;
  config.address = emu->address();
  config.retry_wait_min = 10ms;
  config.retry_wait_max = 20ms;
  Client client(config);
  Recorder recorder;
  client.set_observer(&recorder);
  const SecretString root(emu->root_token());

  SECTION("an answered call: its operation and HTTP status") {
    REQUIRE(client.lookup_self(root, Deadline::after(10s)).ok());
    const auto seen = recorder.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].operation == "token_lookup_self");
    CHECK(seen[0].http_status == 200);
    CHECK(seen[0].error.empty());
    CHECK(seen[0].elapsed > 0ns);
  }
  SECTION("a refused call: the status Vault gave") {
    const SecretString bad("hvs.not-a-token");
    REQUIRE_FALSE(client.lookup_self(bad, Deadline::after(10s)).ok());
    const auto seen = recorder.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].http_status == 403);
  }
  SECTION("a call retried after 500s is one call") {
    REQUIRE(emu->faults({{"error", {{"status", 500}, {"count", 2}}}}));
    REQUIRE(client.lookup_self(root, Deadline::after(10s)).ok());
    const auto seen = recorder.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].http_status == 200);
  }
  SECTION("no answer at all: the error code") {
    Config down;
    down.address = "http://127.0.0.1:9"; // nothing listens on discard
    down.max_retries = 0;
    Client unreachable(down);
    unreachable.set_observer(&recorder);
    REQUIRE_FALSE(unreachable.lookup_self(root, Deadline::after(5s)).ok());
    const auto seen = recorder.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].http_status == 0);
    CHECK(seen[0].error == "unreachable");
  }
  SECTION("no observer: nothing is reported") {
    client.set_observer(nullptr);
    REQUIRE(client.lookup_self(root, Deadline::after(10s)).ok());
    CHECK(recorder.seen().empty());
  }
}
