// vsp simulate: replays a GetSecret request against a running plugin,
// exactly as Docker's Swarm leader sends it, and shows the answer.
#include "cli/command.hpp"

#include "core/docker/plugin_caller.hpp"
#include "core/docker/secret_request.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace vsp::cli {
namespace {

using namespace std::chrono_literals;

struct SimulateOptions {
  std::string socket;
  std::string request_file;
  std::string secret;
  std::vector<std::string> secret_labels;
  std::string service;
  std::vector<std::string> service_labels;
  std::string task_id;
  std::string task_name;
  std::string image;
  std::string node_id;
  double timeout_seconds = 30;
  bool show_value = false;
  OutputFormat format = OutputFormat::human;
};

std::string read_input(const std::string& path) {
  if (path == "-") {
    std::ostringstream out;
    out << std::cin.rdbuf();
    return out.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw CommandError(k_exit_usage, fmt::format("cannot read {}", path));
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

docker::Labels parse_labels(const std::vector<std::string>& items,
                            const char* flag) {
  docker::Labels labels;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CommandError(
          k_exit_usage,
          fmt::format("{} wants KEY=VALUE, got \"{}\"", flag, item));
    }
    labels[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return labels;
}

// The request body: the file as given (so a captured Docker request is
// replayed byte for byte), or one built from the flags.
std::string request_body(const SimulateOptions& o) {
  if (!o.request_file.empty()) {
    std::string body = read_input(o.request_file);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
      body.pop_back();
    }
    return body;
  }
  if (o.secret.empty()) {
    throw CommandError(k_exit_usage,
                       "give a request with --request FILE or at least "
                       "--secret NAME");
  }
  docker::SecretRequest r;
  r.secret_name = o.secret;
  r.secret_labels = parse_labels(o.secret_labels, "--secret-label");
  r.service_name = o.service;
  r.service_labels = parse_labels(o.service_labels, "--service-label");
  r.task_id = o.task_id;
  r.task_name = o.task_name;
  r.task_image = o.image;
  r.node_id = o.node_id;
  return docker::to_json(r).dump();
}

void print_answer(const SimulateOptions& o, const docker::SecretAnswer& a) {
  if (o.format == OutputFormat::json) {
    nlohmann::json out{{"ok", a.ok}};
    if (a.ok) {
      out["do_not_reuse"] = a.do_not_reuse;
      out["value_bytes"] = a.value.size();
      if (o.show_value) {
        out["value"] = std::string(a.value.reveal());
      }
    } else {
      out["err"] = a.err;
    }
    std::cout << out.dump(2) << '\n';
    return;
  }
  if (!a.ok) {
    std::cout << fmt::format("answer:       Err\nerr:          {}\n", a.err);
    return;
  }
  std::cout << fmt::format("answer:       Value\nDoNotReuse:   {}\n",
                           a.do_not_reuse);
  if (o.show_value) {
    std::cout << "value:        " << a.value.reveal() << '\n';
  } else {
    std::cout << fmt::format("value:        ({} bytes, hidden; --show-value "
                             "prints it)\n",
                             a.value.size());
  }
}

void run(const SimulateOptions& o) {
  const std::string body = request_body(o);
  if (auto parsed = docker::parse_secret_request(body); !parsed) {
    // Sent anyway: the point may be to see how the plugin refuses it.
    std::cerr << fmt::format("vsp: warning: the request is not valid: {}\n",
                             parsed.error().message);
  }
  const auto budget = std::chrono::milliseconds(
      static_cast<long long>(o.timeout_seconds * 1000));
  auto answer =
      docker::call_get_secret(o.socket, body, Deadline::after(budget));
  if (!answer) {
    throw CommandError(k_exit_remote, answer.error().message);
  }
  print_answer(o, *answer);
  if (!answer->ok) {
    throw CommandError(k_exit_denied,
                       fmt::format("the plugin refused: {}", answer->err));
  }
}

} // namespace

void add_simulate(CLI::App& app) {
  auto o = std::make_shared<SimulateOptions>();
  auto* cmd = app.add_subcommand(
      "simulate",
      "Send a GetSecret request to a running plugin as Docker does");
  cmd->add_option("--socket", o->socket, "The plugin's Unix socket")
      ->required();
  cmd->add_option("--request",
                  o->request_file,
                  "A GetSecret body (JSON), e.g. one captured from Docker; "
                  "- reads stdin");
  cmd->add_option("--secret", o->secret, "Secret name");
  cmd->add_option("--secret-label", o->secret_labels, "Secret label K=V");
  cmd->add_option("--service", o->service, "Service name");
  cmd->add_option("--service-label", o->service_labels, "Service label K=V");
  cmd->add_option("--task-id", o->task_id, "Task ID");
  cmd->add_option("--task-name", o->task_name, "Task name");
  cmd->add_option("--image", o->image, "Task image");
  cmd->add_option("--node-id", o->node_id, "Node ID");
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--show-value", o->show_value, "Print the secret value");
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
