#include "core/vault/types.hpp"

#include "core/vault/errors.hpp"

#include <fmt/format.h>

#include <cmath>
#include <string>

namespace vsp::vault {
namespace {

using json = nlohmann::json;

Error invalid(std::string_view path, std::string_view what) {
  return make_error(ErrorKind::internal,
                    errc::invalid_response,
                    fmt::format("vault: reply to {} {}", path, what));
}

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) {
    return nullptr;
  }
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const json* object(const json& obj, const char* key) {
  const json* m = member(obj, key);
  return m && m->is_object() ? m : nullptr;
}

std::string text(const json& obj, const char* key) {
  const json* m = member(obj, key);
  return m && m->is_string() ? m->get<std::string>() : std::string();
}

// Vault writes numbers; json.Number strings ("3600") are accepted too.
std::int64_t number(const json& obj, const char* key) {
  const json* m = member(obj, key);
  if (!m) {
    return 0;
  }
  if (m->is_number_integer()) {
    return m->get<std::int64_t>();
  }
  if (m->is_number_float()) {
    return static_cast<std::int64_t>(std::llround(m->get<double>()));
  }
  if (m->is_string()) {
    try {
      return std::stoll(m->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

Seconds seconds(const json& obj, const char* key) {
  return Seconds(number(obj, key));
}

bool flag(const json& obj, const char* key) {
  const json* m = member(obj, key);
  return m && m->is_boolean() && m->get<bool>();
}

std::vector<std::string> strings(const json& obj, const char* key) {
  std::vector<std::string> out;
  const json* m = member(obj, key);
  if (m && m->is_array()) {
    for (const auto& v : *m) {
      if (v.is_string()) {
        out.push_back(v.get<std::string>());
      }
    }
  }
  return out;
}

std::map<std::string, std::string> string_map(const json& obj,
                                              const char* key) {
  std::map<std::string, std::string> out;
  const json* m = object(obj, key);
  if (m) {
    for (const auto& [k, v] : m->items()) {
      out[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
  return out;
}

// Moves a string out of the JSON into a SecretString, leaving no copy.
SecretString take_secret(json& obj, const char* key) {
  if (!obj.is_object()) {
    return {};
  }
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) {
    return {};
  }
  auto& s = it->get_ref<std::string&>();
  SecretString out(std::move(s));
  wipe(s);
  return out;
}

} // namespace

Result<WrapInfo> parse_wrap_info(Response& response, std::string_view path) {
  json* w = nullptr;
  if (response.body.is_object()) {
    const auto it = response.body.find("wrap_info");
    if (it != response.body.end() && it->is_object()) {
      w = &*it;
    }
  }
  if (!w) {
    return invalid(path, "is not response-wrapped");
  }
  WrapInfo info;
  info.token = take_secret(*w, "token");
  if (info.token.empty()) {
    return invalid(path, "has a wrap_info without a token");
  }
  info.accessor = text(*w, "accessor");
  info.ttl = seconds(*w, "ttl");
  info.creation_time = text(*w, "creation_time");
  info.creation_path = text(*w, "creation_path");
  info.wrapped_accessor = text(*w, "wrapped_accessor");
  return info;
}

Result<TokenAuth> parse_token_auth(Response& response, std::string_view path) {
  json* a = nullptr;
  if (response.body.is_object()) {
    const auto it = response.body.find("auth");
    if (it != response.body.end() && it->is_object()) {
      a = &*it;
    }
  }
  if (!a) {
    return invalid(path, "has no auth block");
  }
  TokenAuth auth;
  auth.client_token = take_secret(*a, "client_token");
  auth.accessor = text(*a, "accessor");
  auth.policies = strings(*a, "policies");
  auth.metadata = string_map(*a, "metadata");
  auth.lease_duration = seconds(*a, "lease_duration");
  auth.renewable = flag(*a, "renewable");
  auth.orphan = flag(*a, "orphan");
  auth.token_type = text(*a, "token_type");
  return auth;
}

Result<TokenInfo> parse_token_info(const Response& response,
                                   std::string_view path) {
  const json* d = object(response.body, "data");
  if (!d) {
    return invalid(path, "has no data");
  }
  TokenInfo info;
  info.accessor = text(*d, "accessor");
  info.display_name = text(*d, "display_name");
  info.path = text(*d, "path");
  info.type = text(*d, "type");
  info.expire_time = text(*d, "expire_time");
  info.policies = strings(*d, "policies");
  info.meta = string_map(*d, "meta");
  info.ttl = seconds(*d, "ttl");
  info.creation_ttl = seconds(*d, "creation_ttl");
  info.explicit_max_ttl = seconds(*d, "explicit_max_ttl");
  info.period = seconds(*d, "period");
  info.orphan = flag(*d, "orphan");
  info.renewable = flag(*d, "renewable");
  info.num_uses = static_cast<int>(number(*d, "num_uses"));
  return info;
}

Result<WrapLookup> parse_wrap_lookup(const Response& response,
                                     std::string_view path) {
  const json* d = object(response.body, "data");
  if (!d || text(*d, "creation_path").empty()) {
    return invalid(path, "has no creation_path");
  }
  WrapLookup out;
  out.creation_path = text(*d, "creation_path");
  out.creation_time = text(*d, "creation_time");
  out.creation_ttl = seconds(*d, "creation_ttl");
  return out;
}

Result<LeaseInfo> parse_lease_info(const Response& response,
                                   std::string_view path) {
  const json* d = object(response.body, "data");
  if (!d || text(*d, "id").empty()) {
    return invalid(path, "has no lease id");
  }
  LeaseInfo out;
  out.id = text(*d, "id");
  out.issue_time = text(*d, "issue_time");
  out.expire_time = text(*d, "expire_time");
  out.last_renewal = text(*d, "last_renewal");
  out.ttl = seconds(*d, "ttl");
  out.renewable = flag(*d, "renewable");
  return out;
}

Result<LeaseRenewal> parse_lease_renewal(const Response& response,
                                         std::string_view path) {
  if (text(response.body, "lease_id").empty()) {
    return invalid(path, "has no lease_id");
  }
  LeaseRenewal out;
  out.lease_id = text(response.body, "lease_id");
  out.lease_duration = seconds(response.body, "lease_duration");
  out.renewable = flag(response.body, "renewable");
  return out;
}

Result<Secret> parse_secret(Response& response, std::string_view path) {
  Secret out;
  if (response.body.is_null()) {
    return out; // 204: nothing returned, nothing leased
  }
  if (!response.body.is_object()) {
    return invalid(path, "is not a json object");
  }
  if (auto it = response.body.find("data"); it != response.body.end()) {
    out.data = std::move(*it);
    *it = nullptr;
  }
  out.lease_id = text(response.body, "lease_id");
  out.lease_duration = seconds(response.body, "lease_duration");
  out.renewable = flag(response.body, "renewable");
  out.warnings = strings(response.body, "warnings");
  return out;
}

Result<Health> parse_health(const Response& response) {
  const json& b = response.body;
  if (!b.is_object() || !member(b, "initialized")) {
    return invalid("sys/health", "has no health fields");
  }
  Health h;
  h.status = response.status;
  h.initialized = flag(b, "initialized");
  h.sealed = flag(b, "sealed");
  h.standby = flag(b, "standby");
  h.performance_standby = flag(b, "performance_standby");
  h.version = text(b, "version");
  h.cluster_name = text(b, "cluster_name");
  h.cluster_id = text(b, "cluster_id");
  h.replication_dr_mode = text(b, "replication_dr_mode");
  h.replication_performance_mode = text(b, "replication_performance_mode");
  h.server_time_utc = number(b, "server_time_utc");
  return h;
}

Result<std::vector<std::string>> parse_keys(const Response& response,
                                            std::string_view path) {
  if (response.body.is_null()) {
    return std::vector<std::string>{};
  }
  const json* d = object(response.body, "data");
  if (!d) {
    return invalid(path, "has no data");
  }
  const json* keys = member(*d, "keys");
  if (!keys) {
    return std::vector<std::string>{}; // a list with warnings only
  }
  if (!keys->is_array()) {
    return invalid(path, "has keys that are not a list");
  }
  return strings(*d, "keys");
}

} // namespace vsp::vault
