#include "cli/request_input.hpp"

#include "cli/command.hpp"
#include "cli/option_checks.hpp"

#include "core/util/file.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

namespace vsp::cli {
namespace {

std::string read_input(const std::string& path) {
  if (path == "-") {
    std::ostringstream out;
    out << std::cin.rdbuf();
    return out.str();
  }
  // Larger than any body the plugin takes, so a request may be too large
  // on purpose.
  constexpr std::size_t k_max_request_bytes = std::size_t{16} << 20;
  auto text = read_regular_file(path, k_max_request_bytes);
  if (!text) {
    throw CommandError(k_exit_usage,
                       fmt::format("cannot read {}", text.error().message));
  }
  return std::move(*text);
}

docker::Labels parse_labels(const std::vector<std::string>& items,
                            const char* flag) {
  docker::Labels labels;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CommandError(
          k_exit_usage,
          fmt::format("{}: expected KEY=VALUE, not \"{}\"", flag, item));
    }
    labels[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return labels;
}

} // namespace

void add_request_options(CLI::App& cmd, RequestInput& in) {
  cmd.add_option("--request",
                 in.file,
                 "A GetSecret body (JSON), e.g. one captured from Docker; - "
                 "reads stdin")
      ->check(input_file(DashIsStdin::yes));
  cmd.add_option("--secret", in.secret, "Secret name");
  cmd.add_option("--secret-label", in.secret_labels, "Secret label K=V")
      ->check(key_value());
  cmd.add_option("--service", in.service, "Service name");
  cmd.add_option("--service-label", in.service_labels, "Service label K=V")
      ->check(key_value());
  cmd.add_option("--service-id", in.service_id, "Service ID");
  cmd.add_option("--task-id", in.task_id, "Task ID");
  cmd.add_option("--task-name", in.task_name, "Task name");
  cmd.add_option("--image", in.image, "Task image");
  cmd.add_option("--node-id", in.node_id, "Node ID");
}

std::string request_body(const RequestInput& o) {
  if (!o.file.empty()) {
    std::string body = read_input(o.file);
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
  r.service_id = o.service_id;
  r.task_id = o.task_id;
  r.task_name = o.task_name;
  r.task_image = o.image;
  r.node_id = o.node_id;
  return docker::to_json(r).dump();
}

docker::SecretRequest parse_request(const std::string& body) {
  auto parsed = docker::parse_secret_request(body);
  if (!parsed) {
    throw CommandError(
        k_exit_usage,
        fmt::format("the request is not valid: {}", parsed.error().message));
  }
  return std::move(parsed).value();
}

} // namespace vsp::cli
