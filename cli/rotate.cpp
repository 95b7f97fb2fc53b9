// vsp rotate: replaces a service's tasks through a rolling update, so each
// new task fetches fresh credentials; the plugin revokes the old tasks'
// credentials as they end.
#include "cli/command.hpp"
#include "cli/context.hpp"
#include "cli/option_checks.hpp"

#include "core/ledger/ledger.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <set>
#include <thread>
#include <unistd.h>

namespace vsp::cli {
namespace {

using namespace std::chrono_literals;

struct RotateOptions {
  std::string service;
  std::string ledger_path;
  bool dry_run = false;
  bool wait = false;
  double timeout_seconds = 300;
  OutputFormat format = OutputFormat::human;
};

// How Swarm will roll the update, from the service's UpdateConfig.
struct Rollout {
  std::int64_t parallelism = 1;
  std::int64_t delay_s = 0;
  std::string order = "stop-first";
};

Rollout rollout_of(const nlohmann::json& spec) {
  Rollout r;
  const auto config = spec.value("UpdateConfig", nlohmann::json::object());
  r.parallelism = config.value("Parallelism", std::int64_t{1});
  r.delay_s = config.value("Delay", std::int64_t{0}) / 1'000'000'000;
  r.order = config.value("Order", std::string("stop-first"));
  return r;
}

std::vector<docker::Task> running_tasks(const docker::EngineClient& engine,
                                        const docker::Service& service) {
  docker::TaskFilter filter;
  filter.service = service.id;
  filter.desired_state = "running";
  auto tasks = engine.tasks(filter, Deadline::after(30s));
  if (!tasks) {
    throw CommandError(k_exit_remote, tasks.error().message);
  }
  return std::move(*tasks);
}

// Live ledger rows per task, when this machine has the ledger.
std::map<std::string, std::vector<ledger::Issuance>>
issuances_by_task(const RotateOptions& o,
                  const std::vector<docker::Task>& tasks) {
  std::map<std::string, std::vector<ledger::Issuance>> out;
  if (::access(o.ledger_path.c_str(), R_OK) != 0) {
    return out;
  }
  auto ledger = open_ledger(o.ledger_path, ledger::Access::read_only);
  for (const auto& task : tasks) {
    ledger::Query q;
    q.task_id = task.id;
    q.states = {ledger::State::issued};
    if (auto rows = ledger->find(q); rows) {
      out[task.id] = std::move(*rows);
    }
  }
  return out;
}

void print_plan(
    const RotateOptions& o,
    const docker::Service& service,
    const std::vector<docker::Task>& tasks,
    const std::map<std::string, std::vector<ledger::Issuance>>& issued) {
  const Rollout r = rollout_of(service.spec);
  if (o.format == OutputFormat::json) {
    nlohmann::json out{{"service", service.name},
                       {"service_id", service.id},
                       {"dry_run", o.dry_run},
                       {"parallelism", r.parallelism},
                       {"delay_s", r.delay_s},
                       {"order", r.order},
                       {"tasks", nlohmann::json::array()}};
    for (const auto& t : tasks) {
      nlohmann::json accessors = nlohmann::json::array();
      if (auto it = issued.find(t.id); it != issued.end()) {
        for (const auto& row : it->second) {
          accessors.push_back(row.accessor);
        }
      }
      out["tasks"].push_back(
          {{"task_id", t.id}, {"slot", t.slot}, {"accessors", accessors}});
    }
    print_json(std::cout, out);
    return;
  }
  std::cout << fmt::format("{} service {} ({}): {} replaced {} at a time, {}s "
                           "apart, {}\n",
                           o.dry_run ? "would update" : "updating",
                           service.name,
                           service.id,
                           counted(tasks.size(), "running task"),
                           r.parallelism,
                           r.delay_s,
                           r.order);
  for (const auto& t : tasks) {
    std::size_t n = 0;
    if (auto it = issued.find(t.id); it != issued.end()) {
      n = it->second.size();
    }
    std::cout << fmt::format("  task {} (slot {}): {} revoked "
                             "by the plugin when it ends\n",
                             t.id,
                             t.slot,
                             counted(n, "credential"));
  }
  std::cout << "each replacement task receives fresh credentials\n";
}

// Waits until no old task is still meant to run and as many new ones run.
void wait_for_replacement(const RotateOptions& o,
                          const docker::EngineClient& engine,
                          const docker::Service& service,
                          const std::vector<docker::Task>& old_tasks) {
  std::set<std::string> old;
  for (const auto& t : old_tasks) {
    old.insert(t.id);
  }
  const auto deadline = Deadline::after(std::chrono::milliseconds(
      static_cast<long long>(o.timeout_seconds * 1000)));
  while (!deadline.expired()) {
    std::size_t fresh = 0;
    std::size_t stale = 0;
    for (const auto& t : running_tasks(engine, service)) {
      if (old.count(t.id) > 0) {
        ++stale;
      } else if (t.state == "running") {
        ++fresh;
      }
    }
    if (stale == 0 && fresh >= old.size()) {
      if (o.format == OutputFormat::human) {
        std::cout << fmt::format("replaced {}\n", counted(old.size(), "task"));
      }
      return;
    }
    std::this_thread::sleep_for(500ms);
  }
  throw CommandError(k_exit_remote,
                     fmt::format("service {} not fully replaced within {}s",
                                 service.name,
                                 o.timeout_seconds));
}

void run(const RotateOptions& o) {
  auto engine = engine_or_null();
  if (!engine) {
    throw CommandError(k_exit_usage,
                       "rotate needs the docker engine API: set DOCKER_HOST "
                       "or run where /var/run/docker.sock is");
  }
  auto service = engine->service(o.service, Deadline::after(30s));
  if (!service) {
    throw CommandError(k_exit_remote, service.error().message);
  }
  const auto tasks = running_tasks(*engine, *service);
  print_plan(o, *service, tasks, issuances_by_task(o, tasks));
  if (o.dry_run) {
    return;
  }

  if (auto done =
          engine->update_service(*service,
                                 docker::with_forced_update(service->spec),
                                 Deadline::after(30s));
      !done) {
    throw CommandError(k_exit_remote, done.error().message);
  }

  if (o.wait) {
    wait_for_replacement(o, *engine, *service, tasks);
  }
}

} // namespace

void add_rotate(CLI::App& app) {
  auto o = std::make_shared<RotateOptions>();
  o->ledger_path = default_ledger_path();
  auto* cmd = app.add_subcommand(
      "rotate", "Replace a service's tasks so each gets fresh credentials");
  cmd->add_option("--service", o->service, "Service ID or name")->required();
  cmd->add_flag("--dry-run", o->dry_run, "Only show what would happen");
  cmd->add_flag("--wait", o->wait, "Wait until every task is replaced");
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds --wait waits")
      ->check(timeout_seconds());
  cmd->add_option("--ledger", o->ledger_path, "The ledger file")
      ->default_str(o->ledger_path);
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
