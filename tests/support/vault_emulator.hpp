#pragma once

#include "tests/support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <memory>
#include <string>

// Starts the Python Vault emulator for a test and stops it (by PID) when
// the test is done; also picks the Vault a client integration test runs
// against: a real one named by VSP_TEST_VAULT_ADDR/VSP_TEST_VAULT_TOKEN,
// else the emulator. Plain VAULT_ADDR/VAULT_TOKEN are never read.
namespace vsp::test {

// Catch2 v2 has no SKIP: report why and leave the test case.
#define VSP_SKIP(why)                                                          \
  do {                                                                         \
    WARN("skipped: " << (why));                                                \
    return;                                                                    \
  } while (false)

struct EmulatorOptions {
  std::string listen = "127.0.0.1:0"; // --listen
  nlohmann::json config; // written to a file passed as --config if not null
  std::string unix_path; // --unix
  std::string tls_cert;  // --tls-cert / --tls-key
  std::string tls_key;
  std::string tls_client_ca; // --tls-client-ca: require client certs
  std::string audit_log;     // --audit-log
};

class VaultEmulator {
public:
  // The script: $VSP_EMULATOR if set, else
  // VSP_SOURCE_DIR/tests/emulator/vault_emulator.py.
  static std::string script_path();

  // Starts it and waits (at most 15 s) for its ready file. Returns null
  // and sets `why` when it is missing or does not come up.
  static std::unique_ptr<VaultEmulator> start(const EmulatorOptions& options,
                                              std::string* why);

  ~VaultEmulator(); // SIGTERM, then SIGKILL after 5 s, by PID
  VaultEmulator(const VaultEmulator&) = delete;
  VaultEmulator& operator=(const VaultEmulator&) = delete;

  const std::string& address() const { return m_address; }
  const std::string& unix_address() const { return m_unix; }
  const std::string& root_token() const { return m_root_token; }
  pid_t pid() const { return m_pid; }

  // A control or Vault API call authenticated with the root token,
  // independent of core/vault. Returns {"status": n, "body": json}.
  nlohmann::json request(const std::string& method,
                         const std::string& path,
                         const nlohmann::json& body = nullptr) const;

  // POST /_emulator/faults (replaces the whole set); true on a 2xx.
  bool faults(const nlohmann::json& spec) const;
  bool reset_faults() const; // {} // {}
  // POST /_emulator/clock {"advance": seconds}.
  bool advance_clock(long seconds) const;
  // GET /_emulator/stats and /_emulator/audit (bodies; null on failure).
  nlohmann::json stats() const;
  nlohmann::json audit() const;
  // Request and TCP connection counts from stats, -1 when absent.
  long connection_count() const;
  long request_count() const;

  // The emulator's combined stdout/stderr, for failure messages.
  std::string log() const;

private:
  VaultEmulator() = default;

  pid_t m_pid = -1;
  std::string m_dir;
  std::string m_address;
  std::string m_unix;
  std::string m_root_token;
  std::string m_ca; // for the control channel over TLS
};

// Where a client integration test runs.
struct VaultTarget {
  std::string address;
  std::string token;                       // root (or the given) token
  std::unique_ptr<VaultEmulator> emulator; // null against a real Vault
  bool real() const { return !emulator; }
};

// A real Vault when VSP_TEST_VAULT_ADDR and VSP_TEST_VAULT_TOKEN are both
// set, otherwise a fresh emulator; null with `why` when neither works.
std::unique_ptr<VaultTarget> vault_target(std::string* why,
                                          const EmulatorOptions& options = {});

// A scratch directory under TMPDIR, removed with its content on
// destruction.
// Runs a command line with /bin/sh; returns its exit status.
int run_shell(const std::string& command);

} // namespace vsp::test
