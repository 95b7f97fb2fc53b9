#pragma once

#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>

namespace vsp::docker {

using Labels = std::map<std::string, std::string>;

// Largest GetSecret body the plugin reads; real ones are well under 4 KiB.
inline constexpr std::size_t k_max_request_bytes = 1 << 20;

// One `/SecretProvider.GetSecret` request as Docker's Swarm leader sends it.
// Only `secret_name` is guaranteed: older engines send no labels and no task
// identity, so every other field may be empty.
struct SecretRequest {
  std::string secret_name;
  Labels secret_labels;
  std::string service_hostname;
  std::string service_id;
  std::string service_name;
  Labels service_labels;
  std::string task_id;
  std::string task_name;
  std::string task_image;
  std::string node_id;
};

// Parses and validates a GetSecret body. Fails with invalid_input and a
// message naming the offending field; unknown fields are ignored, as
// Docker's own decoder ignores them.
Result<SecretRequest> parse_secret_request(std::string_view body);

// The request as Docker would encode it (empty fields omitted).
nlohmann::json to_json(const SecretRequest& request);

// "task=<id> service=<name> secret=<name>" for log lines; fields that are
// missing are left out.
std::string describe(const SecretRequest& request);

} // namespace vsp::docker
