#pragma once

#include "core/util/log.hpp"
#include "core/util/result.hpp"
#include "core/vault/login.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsp::plugin {

using vault::Getenv;

// The plugin's settings, all from environment variables because that is
// what `docker plugin set` manages. Credentials are never among them: the
// plugin reads its Vault login from files named here.
struct Config {
  std::string socket_path = "/run/docker/plugins/vsp.sock"; // VSP_SOCKET
  std::string socket_group;                                 // VSP_SOCKET_GROUP
  mode_t socket_mode = 0660;                      // VSP_SOCKET_MODE (octal)
  std::string rules_path = "/etc/vsp/rules.yaml"; // VSP_RULES
  vault::LoginConfig login; // VSP_TOKEN_FILE, or the AppRole files
  std::chrono::milliseconds deadline{5000};           // VSP_DEADLINE
  std::chrono::seconds reuse_window{300};             // VSP_REUSE_WINDOW
  unsigned workers = 64;                              // VSP_WORKERS
  std::string ledger_path = "/var/lib/vsp/ledger.db"; // VSP_LEDGER
  std::chrono::milliseconds poll_interval{10'000};    // VSP_POLL_INTERVAL
  log::Level log_level = log::Level::info;            // VSP_LOG_LEVEL

  // Reads the variables above. Fails on malformed values, on a missing
  // login (neither a token file nor an AppRole pair), and on VAULT_TOKEN,
  // which would show in `docker plugin inspect`.
  static Result<Config> from_env(const Getenv& getenv);
};

// Every VSP_* variable the plugin reads, as vsp-plugin(8) lists them.
const std::vector<std::string_view>& known_settings();

// A warning for each VSP_* name in `environment` ("NAME=value" entries)
// that the plugin does not read, naming the setting it was probably meant
// to be: a misspelt VSP_RULESS would otherwise leave the default in force
// without a word.
std::vector<std::string>
unknown_settings(const std::vector<std::string>& environment);

} // namespace vsp::plugin
