#pragma once

#include "core/docker/secret_request.hpp"
#include "core/util/deadline.hpp"
#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"

#include <string>
#include <string_view>

namespace vsp::docker {

// A plugin's answer to GetSecret, decoded as Docker decodes it.
struct SecretAnswer {
  bool ok = false;           // a value, no Err
  SecretString value;        // the decoded bytes
  bool do_not_reuse = false; // as the plugin said
  std::string err;           // the plugin's Err text, when !ok
  long http_status = 0;
};

// Calls a secrets plugin on its Unix socket the way Docker's daemon does:
// POST, `Accept: application/vnd.docker.plugins.v1.2+json`, no
// Content-Type, the JSON body followed by a newline. Transport failures
// are errors; an `Err` from the plugin is a successful call with !ok.
Result<SecretAnswer> call_get_secret(const std::string& socket_path,
                                     std::string_view body,
                                     Deadline deadline);

// POSTs `body` to `path` and returns the raw reply body.
Result<std::string> call_plugin(const std::string& socket_path,
                                std::string_view path,
                                std::string_view body,
                                Deadline deadline,
                                long* http_status = nullptr);

// GETs `path` (vsp's own /status, /metrics) and returns the raw reply
// body; failures as for call_plugin.
Result<std::string> get_from_plugin(const std::string& socket_path,
                                    std::string_view path,
                                    Deadline deadline,
                                    long* http_status = nullptr);

} // namespace vsp::docker
