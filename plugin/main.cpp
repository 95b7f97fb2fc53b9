// vsp-plugin: the Docker secrets driver. main() only wires the pieces;
// every decision lives in vsp_core and plugin/plugin.cpp.
#include "plugin/config.hpp"
#include "plugin/http_server.hpp"
#include "plugin/metrics_endpoint.hpp"
#include "plugin/plugin.hpp"
#include "plugin/unix_listener.hpp"

#include "core/rules/rule_set.hpp"
#include "core/util/env.hpp"
#include "core/util/log.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"

#include <curl/curl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>

namespace {

using namespace vsp;

constexpr const char* k_component = "main";

// A core dump of the plugin would hold tokens; ptrace by other users is
// refused too. More descriptors than the default 1024 for many
// connections.
void harden_process() {
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 &&
      files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
}

// Signals are taken synchronously by main's sigwait loop; every thread
// started later inherits this mask.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int s : {SIGTERM, SIGINT, SIGHUP}) {
    sigaddset(&set, s);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

[[noreturn]] void fail(const std::string& message) {
  log::error(k_component, "refusing to start: {}", message);
  std::exit(1);
}

void wait_for_signals(const sigset_t& set, plugin::Plugin& app) {
  for (;;) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) {
      continue;
    }
    if (signal_number != SIGHUP) {
      log::info(k_component, "stopping on signal {}", signal_number);
      return;
    }
    if (auto status = app.reload_rules(); !status) {
      log::error(k_component,
                 "rules not reloaded, keeping the current ones: {}",
                 status.error().message);
    }
  }
}

int run() {
  harden_process();
  const sigset_t signals = block_signals();
  curl_global_init(CURL_GLOBAL_DEFAULT);

  auto config = plugin::Config::from_env(process_env);
  if (!config) {
    fail(config.error().message);
  }
  log::set_level(config->log_level);

  auto rules = rules::RuleSet::load_file(config->rules_path);
  if (!rules) {
    fail(rules.error().message);
  }

  // The socket comes first: Docker gives a managed plugin about ten
  // seconds to listen, whatever Vault is doing.
  plugin::ListenOptions listen{config->socket_path, config->socket_mode};
  if (!config->socket_group.empty()) {
    listen.group = config->socket_group;
  }
  auto listener = plugin::UnixListener::bind(listen);
  if (!listener) {
    fail(listener.error().message);
  }

  auto vault_config = vault::Config::from_env(process_env);
  if (!vault_config) {
    fail(vault_config.error().message);
  }
  auto metrics_settings = plugin::MetricsSettings::from_env(process_env);
  if (!metrics_settings) {
    fail(metrics_settings.error().message);
  }
  // One kept connection per worker: a worker never waits for a connect.
  vault_config->max_idle_connections = config->workers;
  vault::Client vault(*vault_config);
  auto login = vault::Auth::from_config(vault, config->login);

  plugin::Plugin app(*config, std::move(rules).value(), vault, *login);
  plugin::Observability observability(
      std::move(metrics_settings).value(), app, vault, *login);
  plugin::ServerOptions options;
  options.workers = config->workers;
  auto server = plugin::HttpServer::start(
      std::move(listener).value(),
      observability.wrap(
          [&app](const plugin::HttpRequest& r) { return app.handle(r); }),
      options);
  if (!server) {
    fail(server.error().message);
  }
  if (auto started = observability.start(**server); !started) {
    fail(started.error().message);
  }
  log::info(k_component,
            "listening socket={} rules={} vault={} deadline={}ms",
            config->socket_path,
            config->rules_path,
            vault_config->address,
            config->deadline.count());

  login->start_renewer();
  wait_for_signals(signals, app);

  observability.stop();
  (*server)->stop();
  login->stop_renewer();
  log::info(k_component, "stopped");
  return 0;
}

} // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vsp-plugin: fatal: %s\n", e.what());
    return 1;
  }
}
