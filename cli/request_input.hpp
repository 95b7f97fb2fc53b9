#pragma once

#include "core/docker/secret_request.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace vsp::cli {

// A GetSecret request as a command takes it: a captured body in a file, or
// the fields as flags.
struct RequestInput {
  std::string file; // --request; "-" reads stdin
  std::string secret;
  std::vector<std::string> secret_labels; // K=V
  std::string service;
  std::vector<std::string> service_labels; // K=V
  std::string service_id;
  std::string task_id;
  std::string task_name;
  std::string image;
  std::string node_id;
};

// Adds --request, --secret, --secret-label, --service, --service-label,
// --service-id, --task-id, --task-name, --image and --node-id.
void add_request_options(CLI::App& command, RequestInput& input);

// The request body: the file as given (so a captured Docker request is
// replayed byte for byte, less trailing newlines), or one built from the
// flags. Throws CommandError when neither names a secret.
std::string request_body(const RequestInput& input);

// The body parsed as the plugin parses it; throws CommandError (usage)
// when it is not a valid request.
docker::SecretRequest parse_request(const std::string& body);

} // namespace vsp::cli
