#pragma once

// Shared by the benchmark programs: start the Vault stand-ins and the
// plugin binary, drive GetSecret over its socket, and summarise latencies.
// Everything runs on loopback and Unix sockets under a scratch directory;
// every child is stopped by PID.

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/unix_http_client.hpp"

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vsp::bench {

using Nanos = std::chrono::nanoseconds;

// Command-line flags of the form --name value, with defaults.
class Flags {
public:
  Flags(int argc, char** argv);
  std::string text(const std::string& name, const std::string& fallback) const;
  double number(const std::string& name, double fallback) const;
  std::vector<int> numbers(const std::string& name,
                           const std::vector<int>& fallback) const;
  bool has(const std::string& name) const;

private:
  std::vector<std::pair<std::string, std::string>> m_values;
};

// bench/fake_vault as a child process with a fixed latency.
class FakeVault {
public:
  FakeVault(const std::string& binary, double latency_ms, test::TempDir& dir);
  const std::string& address() const { return m_address; }
  // {"requests": N, "connections": N} as the stand-in counted them.
  nlohmann::json stats() const;

private:
  std::unique_ptr<test::ChildProcess> m_process;
  std::string m_address;
};

// The body of GET `path` from 127.0.0.1:`port` ("" on failure).
std::string http_get_loopback(int port, const std::string& path);

// A Vault emulator config for bench_rules(): the policies, the token role
// vsp-task, a KV value, a database mount and the plugin's token, written
// to `token_file`.
nlohmann::json token_role_config(const std::string& token_file);

// The rules every benchmark's plugin runs with, one per kind: wrapped
// tokens for secrets "app-*", plain tokens for "plain-*", the one KV value
// secret/shared/db for "kv-*", database credentials for "db-*".
std::string bench_rules();

// The plugin binary as a child, with a token file, bench_rules() and
// `extra_env` (which wins over the defaults). `wrapper` (e.g. valgrind
// and its flags) runs in front of the binary.
class PluginProcess {
public:
  PluginProcess(const std::string& binary,
                const std::string& vault_address,
                test::TempDir& dir,
                std::vector<std::string> extra_env = {},
                std::vector<std::string> wrapper = {});

  // Waits until the socket answers Plugin.Activate; false on timeout or
  // when the process died.
  bool wait_ready(std::chrono::milliseconds timeout);
  const std::string& socket() const { return m_socket; }
  pid_t pid() const { return m_process->pid(); }
  test::ChildProcess& process() { return *m_process; }

private:
  std::string m_socket;
  std::unique_ptr<test::ChildProcess> m_process;
};

// A GetSecret body for a task, as Docker's leader sends it.
std::string get_secret_body(const std::string& secret,
                            const std::string& task_id);

// One keep-alive connection to the plugin, like the leader's.
class PluginConnection {
public:
  explicit PluginConnection(std::string socket);
  // Sends GetSecret; true when the reply holds a Value.
  bool get_secret(const std::string& secret, const std::string& task_id);
  // GET `path` (e.g. /metrics); the body, or nullopt on failure.
  std::optional<std::string> get(const std::string& path);

private:
  bool ensure();
  std::string m_socket;
  std::optional<test::UnixHttpClient> m_client;
};

// Latencies of one load phase.
struct Phase {
  std::vector<Nanos> latencies;
  long failures = 0;
  double seconds = 0;

  double throughput() const; // successful calls per second
  // The q-quantile (0..1) in milliseconds; 0 when empty.
  double quantile_ms(double q) const;
};

// `threads` threads call `call(thread, sequence)` back to back for
// `duration`; each call is timed. `call` returns false on failure.
Phase run_load(int threads,
               std::chrono::milliseconds duration,
               const std::function<bool(int, long)>& call);

// `total` calls spread over `threads` threads, each taking the next
// number; returns how many failed.
long run_count(int threads,
               long total,
               const std::function<bool(int, long)>& call);

// Median, minimum and maximum of some figures.
struct Spread {
  double median = 0;
  double min = 0;
  double max = 0;
};
Spread spread(std::vector<double> values);
nlohmann::json to_json(const Spread& s, int decimals = 3);

// Round to `decimals` places for printing.
double rounded(double v, int decimals);

} // namespace vsp::bench
