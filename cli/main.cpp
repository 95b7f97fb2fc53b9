#include "cli/command.hpp"
#include "cli/complete.hpp"

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

  vsp::cli::add_rules(app);
  vsp::cli::add_simulate(app);
  vsp::cli::add_unwrap(app);
  vsp::cli::add_audit(app);
  vsp::cli::add_revoke(app);
  vsp::cli::add_rotate(app);
  vsp::cli::add_complete(app); // hidden; completions/ call it

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const vsp::cli::CommandError& e) {
    std::fprintf(stderr, "vsp: error: %s\n", e.what());
    return e.status();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vsp: error: %s\n", e.what());
    return vsp::cli::k_exit_usage;
  }
  return vsp::cli::k_exit_ok;
}
