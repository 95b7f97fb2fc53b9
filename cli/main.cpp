#include "cli/command.hpp"
#include "cli/complete.hpp"
#include "cli/terminal.hpp"

#include "core/util/log.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
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
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e); // --help, --version
    }
    // Bad command lines are bad input like any other: exit 1 and one
    // `vsp: error:` line, whatever CLI11's own code for the case.
    if (argc < 2) {
      std::fprintf(stderr, "%s", app.help().c_str());
      std::fprintf(stderr, "vsp: error: name a subcommand\n");
      return vsp::cli::k_exit_usage;
    }
    if (app.get_subcommands().empty() && argv[1][0] != '-') {
      std::fprintf(stderr,
                   "vsp: error: unknown subcommand \"%s\"; see vsp --help\n",
                   vsp::cli::printable(argv[1]).c_str());
      return vsp::cli::k_exit_usage;
    }
    std::fprintf(stderr,
                 "vsp: error: %s; see --help\n",
                 vsp::cli::printable(e.what()).c_str());
    return vsp::cli::k_exit_usage;
  } catch (const vsp::cli::CommandError& e) {
    std::fprintf(
        stderr, "vsp: error: %s\n", vsp::cli::printable(e.what()).c_str());
    return e.status();
  } catch (const std::exception& e) {
    std::fprintf(
        stderr, "vsp: error: %s\n", vsp::cli::printable(e.what()).c_str());
    return vsp::cli::k_exit_usage;
  }
  return vsp::cli::k_exit_ok;
}
