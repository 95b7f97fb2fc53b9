#include "core/docker/secret_request.hpp"

#include "core/util/log.hpp"

#include <fmt/format.h>

#include <strings.h>

namespace vsp::docker {
namespace {

using nlohmann::json;

constexpr std::size_t k_max_field_bytes = std::size_t{64} * 1024;

Error invalid(std::string message) {
  return Error(ErrorKind::invalid_input, "invalid_request", std::move(message));
}

// Docker's Go decoder matches field names case-insensitively, so a request
// that an older or newer engine spells differently still means the same.
const json* find_field(const json& object, std::string_view name) {
  if (auto it = object.find(name); it != object.end()) {
    return &*it;
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.key().size() == name.size() &&
        strncasecmp(it.key().data(), name.data(), name.size()) == 0) {
      return &*it;
    }
  }
  return nullptr;
}

Status
read_string(const json& object, std::string_view name, std::string& out) {
  const json* field = find_field(object, name);
  if (field == nullptr || field->is_null()) {
    return ok_status();
  }
  if (!field->is_string()) {
    return invalid(fmt::format("field {} must be a string", name));
  }
  const auto& text = field->get_ref<const std::string&>();
  if (text.size() > k_max_field_bytes) {
    return invalid(fmt::format(
        "field {} is longer than {} bytes", name, k_max_field_bytes));
  }
  out = text;
  return ok_status();
}

Status read_labels(const json& object, std::string_view name, Labels& out) {
  const json* field = find_field(object, name);
  if (field == nullptr || field->is_null()) {
    return ok_status();
  }
  if (!field->is_object()) {
    return invalid(fmt::format("field {} must be an object", name));
  }
  for (const auto& [key, value] : field->items()) {
    if (!value.is_string()) {
      return invalid(fmt::format(
          "label \"{}\" in {} must have a string value", key, name));
    }
    out.emplace(key, value.get<std::string>());
  }
  return ok_status();
}

} // namespace

Result<SecretRequest> parse_secret_request(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return invalid("empty request body (expected a JSON object)");
  }
  if (body.size() > k_max_request_bytes) {
    return invalid(fmt::format("request body is larger than {} bytes",
                               k_max_request_bytes));
  }
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return invalid("request body is not valid JSON");
  }
  if (!doc.is_object()) {
    return invalid("request body must be a JSON object");
  }

  SecretRequest request;
  const std::pair<std::string_view, std::string*> strings[] = {
      {"SecretName", &request.secret_name},
      {"ServiceHostname", &request.service_hostname},
      {"ServiceID", &request.service_id},
      {"ServiceName", &request.service_name},
      {"TaskID", &request.task_id},
      {"TaskName", &request.task_name},
      {"TaskImage", &request.task_image},
      {"NodeID", &request.node_id},
  };
  for (const auto& [name, target] : strings) {
    if (auto status = read_string(doc, name, *target); !status) {
      return status.error();
    }
  }
  for (const auto& [name, target] :
       {std::pair{"SecretLabels", &request.secret_labels},
        std::pair{"ServiceLabels", &request.service_labels}}) {
    if (auto status = read_labels(doc, name, *target); !status) {
      return status.error();
    }
  }

  if (request.secret_name.empty()) {
    return invalid("missing SecretName");
  }
  return request;
}

nlohmann::json to_json(const SecretRequest& request) {
  json out = json::object();
  const auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) {
      out[key] = value;
    }
  };
  put("SecretName", request.secret_name);
  if (!request.secret_labels.empty()) {
    out["SecretLabels"] = request.secret_labels;
  }
  put("ServiceHostname", request.service_hostname);
  put("ServiceID", request.service_id);
  put("ServiceName", request.service_name);
  if (!request.service_labels.empty()) {
    out["ServiceLabels"] = request.service_labels;
  }
  put("TaskID", request.task_id);
  put("TaskName", request.task_name);
  put("TaskImage", request.task_image);
  put("NodeID", request.node_id);
  return out;
}

std::string describe(const SecretRequest& request) {
  std::string out;
  const auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) {
      return;
    }
    if (!out.empty()) {
      out += ' ';
    }
    out += fmt::format("{}={}", key, log::value(value));
  };
  add("task", request.task_id);
  add("service", request.service_name);
  add("secret", request.secret_name);
  add("node", request.node_id);
  return out;
}

} // namespace vsp::docker
