#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vsp::cli {

// Exit statuses, as the `vault` CLI uses them where they overlap.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_usage = 1;  // bad input, local failures
inline constexpr int k_exit_remote = 2; // Vault or the plugin failed
inline constexpr int k_exit_denied = 3; // the plugin answered with an Err

enum class OutputFormat { human, json };

// A failure a subcommand reports; main() prints "vsp: error: <message>"
// and exits with `status`.
class CommandError : public std::runtime_error {
public:
  CommandError(int status, const std::string& message)
      : std::runtime_error(message), m_status(status) {}
  int status() const { return m_status; }

private:
  int m_status;
};

// Adds `--format human|json` to `command`, bound to `format`.
void add_format_option(CLI::App& command, OutputFormat& format);

// "1 rule", "2 rules", "0 rules"; `plural` where adding "s" is wrong.
std::string
counted(std::size_t n, std::string_view singular, std::string_view plural = {});

// Writes `value` as indented JSON and a newline. A byte that is not UTF-8
// (a file name given on the command line) becomes U+FFFD instead of
// failing the whole output.
void print_json(std::ostream& out, const nlohmann::json& value);

// Each subcommand registers itself on the root app.
void add_rules(CLI::App& app);
void add_simulate(CLI::App& app);
void add_status(CLI::App& app);
void add_unwrap(CLI::App& app);
void add_audit(CLI::App& app);
void add_revoke(CLI::App& app);
void add_rotate(CLI::App& app);

// The `rules` subcommands register on the `rules` group.
void add_rules_check(CLI::App& rules);
void add_rules_list(CLI::App& rules);
void add_rules_explain(CLI::App& rules);

} // namespace vsp::cli
