#pragma once

#include "core/docker/engine_client.hpp"
#include "core/ledger/ledger.hpp"
#include "core/util/deadline.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

// What the ledger-, Vault- and Swarm-facing subcommands (audit, revoke,
// rotate) share: where things are and how failures are reported.
namespace vsp::cli {

// VSP_LEDGER, else the plugin's default path.
std::string default_ledger_path();

// Opens the ledger at `path`; throws CommandError naming the file.
std::unique_ptr<ledger::Ledger> open_ledger(const std::string& path,
                                            ledger::Access access);

// Vault as the `vault` CLI finds it: VAULT_ADDR and friends, the token
// from VAULT_TOKEN or ~/.vault-token. Throws CommandError.
struct VaultSession {
  std::unique_ptr<vault::Client> client;
  std::unique_ptr<vault::Auth> auth;

  // The token; throws CommandError when it cannot be had.
  SecretString token(Deadline deadline) const;
  // A deadline for one Vault call under VAULT_CLIENT_TIMEOUT.
  Deadline call_deadline() const;
};
VaultSession connect_vault();

// The Engine API when DOCKER_HOST or the docker socket gives one; null
// otherwise. A DOCKER_HOST vsp cannot use throws CommandError.
std::unique_ptr<docker::EngineClient> engine_or_null();

// Whether stdin / stderr are terminals (for prompts and progress).
bool stdin_is_terminal();
bool stderr_is_terminal();

// Asks `question` on the terminal; true for y or yes.
bool confirm(const std::string& question);

// "2026-01-02 03:04:05" in UTC; "-" for 0.
std::string format_time_ms(std::int64_t ms);

// "checking 12/40" on stderr, rewritten in place, only on a terminal and
// only for more than a few items; cleared when done.
class Progress {
public:
  Progress(std::string label, std::size_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void step();

private:
  std::string m_label;
  std::size_t m_total;
  std::size_t m_done = 0;
  bool m_shown;
};

} // namespace vsp::cli
