#include "cli/command.hpp"
#include "cli/complete.hpp"
#include "cli/terminal.hpp"

#include "core/util/log.hpp"

#include <fmt/format.h>

#include <exception>
#include <iostream>

namespace {

int run(int argc, char** argv) {
  CLI::App app{"vsp: Vault secrets for Docker Swarm, operator tool", "vsp"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("vsp ") + VSP_VERSION);
  // Library log lines are for the plugin; the CLI reports through its
  // own messages and only shows warnings.
  vsp::log::set_level(vsp::log::Level::warn);
  // Names and labels printed come from whoever created a service.
  const vsp::cli::TerminalGuard terminal;

  vsp::cli::add_rules(app);
  vsp::cli::add_simulate(app);
  vsp::cli::add_status(app);
  vsp::cli::add_unwrap(app);
  vsp::cli::add_audit(app);
  vsp::cli::add_revoke(app);
  vsp::cli::add_rotate(app);
  vsp::cli::add_complete(app); // hidden; completions/ call it

  try {
    app.parse(argc, argv);
  } catch (const CLI::ValidationError& e) {
    // The option checks (cli/option_checks.hpp) say what was expected.
    std::cerr << "vsp: error: " << vsp::cli::printable(e.what()) << '\n';
    return vsp::cli::k_exit_usage;
  } catch (const CLI::ArgumentMismatch& e) {
    // CLI11 says "--timeout: 1 required FLOAT:SECONDS missing".
    const std::string what = e.what();
    std::cerr << "vsp: error: "
              << vsp::cli::printable(what.substr(0, what.find(": ")))
              << ": expected a value, none given\n";
    return vsp::cli::k_exit_usage;
  } catch (const CLI::ConversionError& e) {
    // Only a flag's value is left for CLI11 to convert: "Could not
    // convert: --dry-run = maybe".
    const std::string what = e.what();
    const auto name = what.find("--");
    const auto eq = what.find(" = ", name);
    if (name == std::string::npos || eq == std::string::npos) {
      throw;
    }
    std::cerr << "vsp: error: "
              << vsp::cli::printable(fmt::format(
                     "{}: expected no value, or true or false, not \"{}\"",
                     what.substr(name, eq - name),
                     what.substr(eq + 3)))
              << '\n';
    return vsp::cli::k_exit_usage;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e); // --help, --version
    }
    // Bad command lines are bad input like any other: exit 1 and one
    // `vsp: error:` line, whatever CLI11's own code for the case.
    if (argc < 2) {
      std::cerr << app.help() << "vsp: error: name a subcommand\n";
      return vsp::cli::k_exit_usage;
    }
    if (app.get_subcommands().empty() && argv[1][0] != '-') {
      std::cerr << "vsp: error: unknown subcommand \""
                << vsp::cli::printable(argv[1]) << "\"; see vsp --help\n";
      return vsp::cli::k_exit_usage;
    }
    std::cerr << "vsp: error: " << vsp::cli::printable(e.what())
              << "; see --help\n";
    return vsp::cli::k_exit_usage;
  } catch (const vsp::cli::CommandError& e) {
    std::cerr << "vsp: error: " << vsp::cli::printable(e.what()) << '\n';
    return e.status();
  }
  return vsp::cli::k_exit_ok;
}

} // namespace

// The one catch for what run() lets through, its set-up included.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "vsp: error: " << vsp::cli::printable(e.what()) << '\n';
    return vsp::cli::k_exit_usage;
  }
}
