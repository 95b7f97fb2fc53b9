// vsp-plugin: the Docker secrets driver. main() only wires the pieces;
// every decision lives in vsp_core and plugin/plugin.cpp.
#include "plugin/config.hpp"
#include "plugin/http_server.hpp"
#include "plugin/metrics_endpoint.hpp"
#include "plugin/plugin.hpp"
#include "plugin/task_watcher.hpp"
#include "plugin/unix_listener.hpp"

#include "core/docker/engine_client.hpp"
#include "core/ledger/ledger.hpp"
#include "core/rules/rule_set.hpp"
#include "core/util/env.hpp"
#include "core/util/log.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"

#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace {

using namespace vsp;

constexpr const char* k_component = "main";

// A core dump of the plugin would hold tokens; ptrace by other users is
// refused too. More descriptors than the default 1024 for many
// connections.
void harden_process() {
  // glibc gives each busy thread an arena of its own, up to 8 per core,
  // and keeps what they freed: after a burst on 64 workers the process
  // stays large. A few shared arenas cost little contention next to a
  // Vault round trip.
  mallopt(M_ARENA_MAX, 4);
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
  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    throw std::system_error(errno, std::generic_category(), "ignoring SIGPIPE");
  }
  return set;
}

[[noreturn]] void fail(const std::string& message) {
  log::error(k_component, "refusing to start: {}", message);
  std::exit(1);
}

// The ledger waits for another writer (`vsp revoke`) well within one
// request's deadline, so a busy file fails the request, not the leader.
std::unique_ptr<ledger::Ledger> open_ledger(const plugin::Config& config) {
  ledger::Options options;
  options.busy_timeout =
      std::max(std::chrono::milliseconds(50), config.deadline / 5);
  auto opened = ledger::Ledger::open(
      config.ledger_path, ledger::Access::read_write, options);
  if (!opened) {
    fail(opened.error().message);
  }
  return std::move(opened).value();
}

// The Engine API, if this plugin may reach it; without it, nothing ends
// a credential before its TTL, which is said once here. Nothing is asked
// of it yet: the socket must answer first.
std::unique_ptr<docker::EngineClient> engine_client() {
  auto endpoint = docker::find_engine(process_env);
  if (!endpoint || !*endpoint) {
    log::warn(k_component,
              "no docker engine API ({}): credentials are not revoked when "
              "their task ends, their TTL is the backstop",
              endpoint ? "set DOCKER_HOST or mount the docker socket"
                       : endpoint.error().message);
    return nullptr;
  }
  return std::make_unique<docker::EngineClient>(**endpoint);
}

// Says once at start-up whether the Engine API answers as a manager.
void check_engine(const docker::EngineClient* engine) {
  if (engine == nullptr) {
    return;
  }
  auto info = engine->info(Deadline::after(std::chrono::seconds(3)));
  if (!info) {
    log::warn(k_component,
              "docker engine API not answering yet ({}); will keep trying",
              info.error().message);
  } else if (!info->is_manager) {
    log::warn(k_component,
              "docker engine at {} is not a swarm manager (state={}): "
              "tasks cannot be listed here",
              engine->describe(),
              info->swarm_state);
  }
}

std::unique_ptr<plugin::TaskWatcher>
start_watcher(const plugin::Config& config,
              const plugin::Plugin& app,
              ledger::Ledger& ledger,
              vault::Client& vault,
              vault::TokenSource& login,
              const docker::EngineClient* engine,
              std::int64_t started_ms,
              plugin::PluginMetrics& metrics) {
  plugin::ListTasks list;
  if (engine != nullptr) {
    list = [engine](Deadline d) { return engine->tasks({}, d); };
  }
  plugin::WatcherOptions options;
  options.poll_interval = config.poll_interval;
  options.settle_before_ms = started_ms;
  // The rule that issued the row, as loaded now (a reload may have
  // changed or removed it), says whether its lease is kept alive.
  options.wants_renewal = [&app](const ledger::Issuance& row) {
    const auto rules = app.rules();
    const auto* rule = rules->find(row.rule);
    return rule != nullptr && rule->source.renew;
  };
  options.on_revoked = [&metrics](std::string_view kind,
                                  std::string_view reason) {
    metrics.revoked(kind, reason);
  };
  auto watcher = std::make_unique<plugin::TaskWatcher>(
      ledger, vault, login, std::move(list), options);
  watcher->start();
  log::info(k_component,
            "task watcher started engine={} poll={}ms ledger={}",
            engine != nullptr ? engine->describe() : "none",
            config.poll_interval.count(),
            config.ledger_path);
  return watcher;
}

// Between signals, once a second: wipes handed-out values whose reuse
// window has ended and gives the memory a burst left free back to the
// system, so the plugin shrinks again once the burst is over.
void wait_for_signals(const sigset_t& set, plugin::Plugin& app) {
  const timespec tick{1, 0};
  for (;;) {
    const int signal_number = sigtimedwait(&set, nullptr, &tick);
    if (signal_number < 0) {
      app.forget_expired();
      malloc_trim(0);
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

// Settings that start the plugin but are probably not what was meant.
void warn_about_settings(const plugin::Config& config) {
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    environment.emplace_back(*entry);
  }
  for (const auto& warning : plugin::unknown_settings(environment)) {
    log::warn(k_component, "{}", warning);
  }
  for (const auto& warning : config.login.file_warnings()) {
    log::warn(k_component, "{}", warning);
  }
}

int run() {
  // Before the socket accepts anything: open intents older than this are
  // an earlier process's, never this one's requests in flight.
  const auto started_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  harden_process();
  const sigset_t signals = block_signals();
  curl_global_init(CURL_GLOBAL_DEFAULT);

  auto config = plugin::Config::from_env(process_env);
  if (!config) {
    fail(config.error().message);
  }
  log::set_level(config->log_level);
  warn_about_settings(*config);

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
  auto ledger = open_ledger(*config);

  plugin::Plugin app(
      *config, std::move(rules).value(), vault, *login, ledger.get());
  const auto engine = engine_client();
  plugin::Observability observability(
      std::move(metrics_settings).value(), app, vault, *login);
  observability.watch_engine(engine.get());
  observability.watch_ledger(ledger.get(), config->ledger_path);
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
  check_engine(engine.get());
  auto watcher = start_watcher(*config,
                               app,
                               *ledger,
                               vault,
                               *login,
                               engine.get(),
                               started_ms,
                               observability.metrics());
  wait_for_signals(signals, app);

  observability.stop();
  (*server)->stop(); // requests in flight finish first
  // What still talks to Vault or Docker (the task watcher listing tasks,
  // settling or revoking, the login renewer) must not hold the exit up: an
  // unreachable Vault would keep it for minutes, a hung Docker socket for
  // a call's budget. Cut off, it is picked up at the next start.
  vault.cancel();
  if (engine) {
    engine->cancel();
  }
  watcher->stop();
  login->stop_renewer();
  log::info(k_component, "stopped");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // Settings come from the environment, as Docker gives them to a managed
  // plugin; an argument is a mistake, or a question.
  if (argc > 1) {
    const std::string arg = argv[1];
    if (arg == "--version") {
      std::cout << "vsp-plugin " << VSP_VERSION << '\n';
      return 0;
    }
    std::ostream& out = arg == "--help" || arg == "-h" ? std::cout : std::cerr;
    out << "usage: vsp-plugin (no arguments)\n"
           "The vsp Docker secrets plugin. Its settings come from the "
           "environment\n(VSP_RULES, VSP_SOCKET, VSP_TOKEN_FILE, VAULT_ADDR, "
           "...); see vsp-plugin(8).\n";
    return &out == &std::cout ? 0 : 1;
  }
  try {
    return run();
  } catch (const std::exception& e) {
    std::cerr << "vsp-plugin: fatal: " << e.what() << '\n';
    return 1;
  }
}
