#pragma once

#include "core/docker/secret_request.hpp"
#include "core/rules/decision.hpp"
#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace vsp::issuer {

// Facts about one value beyond its data, for metadata.
struct ValueFacts {
  std::string issuance_id;
  std::string lease_id;
  std::chrono::seconds lease_duration{0};
  bool renewable = false;
  std::optional<int> kv_version;
  std::optional<int> version; // KV v2 version read
};

// The metadata a value may carry (include_metadata, `{{ vsp.KEY }}`):
// task_id, task_name, service_id, service_name, node_id, secret, rule,
// kind, path, issuance_id, issued_at, and when known lease_id,
// lease_duration, renewable, expires_at, kv_version, version. Keys whose
// value is unknown or empty are left out.
nlohmann::json value_metadata(const docker::SecretRequest& request,
                              const rules::Decision& decision,
                              const ValueFacts& facts);

// The bytes of a KV or dynamic value per `spec`: one field (raw), the map
// as JSON (with metadata when include_metadata), or the rule's template.
// A missing or ambiguous field and a value outside Docker's 1..511,999
// bytes are invalid_input Errors naming the problem.
Result<SecretString> render_value(const rules::ValueSpec& spec,
                                  const nlohmann::json& data,
                                  const nlohmann::json& metadata);

// An invalid_input Error unless `value` is 1..511,999 bytes, the sizes
// Swarm accepts (docker::k_max_value_bytes).
Status check_value_size(const SecretString& value);

// "2026-01-02T03:04:05Z"; empty for a time whose year is beyond std::tm.
std::string utc_text(std::chrono::system_clock::time_point at);

} // namespace vsp::issuer
