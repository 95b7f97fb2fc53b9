#include "core/issuer/render.hpp"

#include "core/docker/protocol.hpp"
#include "core/rules/value_template.hpp"

#include <fmt/format.h>

#include <ctime>

namespace vsp::issuer {
namespace {

using json = nlohmann::json;

Error invalid(std::string message) {
  return Error(ErrorKind::invalid_input, "invalid_value", std::move(message));
}

std::string names_of(const json& data) {
  std::string out;
  for (const auto& item : data.items()) {
    out += out.empty() ? "" : ", ";
    out += item.key();
  }
  return out.empty() ? std::string("none") : out;
}

Result<SecretString> raw_value(const rules::ValueSpec& spec, const json& data) {
  std::string field = spec.field;
  if (field.empty()) {
    if (data.size() != 1) {
      return invalid(fmt::format("the value has {} fields ({}); the rule's "
                                 "field (or the label vsp.field) must "
                                 "choose one",
                                 data.size(),
                                 names_of(data)));
    }
    field = data.begin().key();
  }
  const auto it = data.find(field);
  if (it == data.end()) {
    return invalid(fmt::format(
        "field \"{}\" is missing (the value has: {})", field, names_of(data)));
  }
  return SecretString(rules::field_text(*it));
}

} // namespace

std::string utc_text(std::chrono::system_clock::time_point at) {
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  char buf[32];
  if (gmtime_r(&t, &tm) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return {};
  }
  return buf;
}

json value_metadata(const docker::SecretRequest& request,
                    const rules::Decision& decision,
                    const ValueFacts& facts) {
  json out = json::object();
  const std::pair<const char*, const std::string*> texts[] = {
      {"task_id", &request.task_id},
      {"task_name", &request.task_name},
      {"service_id", &request.service_id},
      {"service_name", &request.service_name},
      {"node_id", &request.node_id},
      {"secret", &request.secret_name},
      {"rule", &decision.rule},
      {"path", &decision.path},
      {"issuance_id", &facts.issuance_id},
      {"lease_id", &facts.lease_id},
  };
  for (const auto& [key, value] : texts) {
    if (!value->empty()) {
      out[key] = *value;
    }
  }
  out["kind"] = rules::to_string(decision.kind);
  const auto now = std::chrono::system_clock::now();
  out["issued_at"] = utc_text(now);
  if (facts.lease_duration.count() > 0) {
    out["lease_duration"] = facts.lease_duration.count();
    out["renewable"] = facts.renewable;
    out["expires_at"] = utc_text(now + facts.lease_duration);
  }
  if (facts.kv_version) {
    out["kv_version"] = *facts.kv_version;
  }
  if (facts.version) {
    out["version"] = *facts.version;
  }
  return out;
}

Result<SecretString> render_value(const rules::ValueSpec& spec,
                                  const json& data,
                                  const json& metadata) {
  if (!data.is_object()) {
    return invalid("vault returned no data for the value");
  }
  Result<SecretString> value = SecretString();
  switch (spec.format) {
  case rules::Format::raw:
    value = raw_value(spec, data);
    break;
  case rules::Format::json:
    value =
        SecretString(spec.include_metadata
                         ? json{{"data", data}, {"metadata", metadata}}.dump()
                         : data.dump());
    break;
  case rules::Format::rendered:
    value = spec.value_template
                ? spec.value_template->render(data, metadata)
                : Result<SecretString>(invalid("the rule has no template"));
    break;
  }
  if (!value) {
    return value.error();
  }
  if (auto size = check_value_size(*value); !size) {
    return size.error();
  }
  return value;
}

Status check_value_size(const SecretString& value) {
  if (value.empty() || value.size() > docker::k_max_value_bytes) {
    return invalid(fmt::format("the value is {} bytes; Docker takes 1 to {} "
                               "bytes",
                               value.size(),
                               docker::k_max_value_bytes));
  }
  return ok_status();
}

} // namespace vsp::issuer
