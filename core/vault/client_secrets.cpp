// Client: KV, generic secrets and the AppRole login.

#include "core/vault/client.hpp"

#include "core/util/log.hpp"
#include "core/util/redact.hpp"
#include "core/vault/client_internal.hpp"

#include <fmt/format.h>

namespace vsp::vault {
namespace {

using json = nlohmann::json;

Error bad_argument(std::string message) {
  return make_error(
      ErrorKind::invalid_input, errc::invalid_argument, std::move(message));
}

bool owns(const std::string& mount, std::string_view path) {
  std::string p(path);
  if (p.empty() || p.back() != '/') {
    p += '/';
  }
  return p.rfind(mount, 0) == 0;
}

std::string kv_text(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

KvMetadata kv_metadata(const json& m) {
  KvMetadata out;
  if (!m.is_object()) {
    return out;
  }
  if (const auto v = m.find("version");
      v != m.end() && v->is_number_integer()) {
    out.version = v->get<int>();
  }
  out.created_time = kv_text(m, "created_time");
  out.deletion_time = kv_text(m, "deletion_time");
  if (const auto d = m.find("destroyed"); d != m.end() && d->is_boolean()) {
    out.destroyed = d->get<bool>();
  }
  if (const auto c = m.find("custom_metadata"); c != m.end()) {
    out.custom_metadata = *c;
  }
  return out;
}

// A KV v2 version without data: destroyed, soft-deleted, or an error.
Error kv_gone(const KvMetadata& meta, std::string_view path) {
  if (meta.destroyed) {
    return make_error(ErrorKind::not_found,
                      errc::destroyed,
                      fmt::format("vault: version {} of {} is destroyed",
                                  meta.version,
                                  path));
  }
  if (!meta.deletion_time.empty()) {
    return make_error(ErrorKind::not_found,
                      errc::deleted,
                      fmt::format("vault: version {} of {} was deleted at {}",
                                  meta.version,
                                  path,
                                  meta.deletion_time));
  }
  return make_error(ErrorKind::not_found,
                    errc::not_found,
                    fmt::format("vault: not found: {}", path));
}

} // namespace

Result<MountInfo> Client::mount_info(const SecretString& token,
                                     std::string_view path,
                                     Deadline d) {
  const auto now = std::chrono::steady_clock::now();
  {
    const std::lock_guard<std::mutex> guard(m_mounts_mutex);
    for (const auto& m : m_mounts) {
      if (now < m.expires && owns(m.info.path, path)) {
        return m.info;
      }
    }
  }
  Request r;
  r.method = Method::get;
  r.path = fmt::format("sys/internal/ui/mounts/{}", path);
  r.token = &token;
  auto response = execute(r, d);
  if (!response) {
    return response.error();
  }
  MountInfo info;
  if (response->status == 404) {
    // Servers before 0.10 have no such endpoint and only KV v1.
    const auto slash = path.find('/');
    info.path = std::string(path.substr(0, slash)) + "/";
    info.type = "kv";
  } else if (response->status >= 300) {
    return decode(r, *response);
  } else {
    const json& data =
        response->body.is_object() && response->body.contains("data")
            ? response->body["data"]
            : json();
    info.path = data.is_object() ? kv_text(data, "path") : "";
    info.type = data.is_object() ? kv_text(data, "type") : "";
    if (info.path.empty()) {
      return make_error(
          ErrorKind::internal,
          errc::invalid_response,
          fmt::format("vault: reply to {} names no mount", r.path));
    }
    const auto options = data.find("options");
    if (options != data.end() && options->is_object() &&
        kv_text(*options, "version") == "2") {
      info.kv_version = 2;
    }
  }
  // The mount may come back with the namespace in front of it.
  std::string ns = m_config.namespace_name;
  if (!ns.empty() && ns.back() != '/') {
    ns += '/';
  }
  if (!ns.empty() && info.path.rfind(ns, 0) == 0 && !owns(info.path, path)) {
    info.path.erase(0, ns.size());
  }
  if (!owns(info.path, path)) {
    return make_error(
        ErrorKind::internal,
        errc::invalid_response,
        fmt::format("vault: mount {} does not hold {}", info.path, path));
  }
  const std::lock_guard<std::mutex> guard(m_mounts_mutex);
  std::erase_if(m_mounts,
                [&](const CachedMount& m) { return m.info.path == info.path; });
  m_mounts.push_back({info, now + m_config.mount_cache_ttl});
  return info;
}

Result<std::string> kv_api_path(const MountInfo& mount, std::string_view path) {
  if (mount.type != "kv" && mount.type != "generic") {
    return bad_argument(
        fmt::format("vault: {} is on a {} mount, not kv", path, mount.type));
  }
  if (!owns(mount.path, path)) {
    return bad_argument(
        fmt::format("vault: {} is not under the mount {}", path, mount.path));
  }
  const std::string_view rest =
      path.substr(std::min(mount.path.size(), path.size()));
  if (rest.empty()) {
    return bad_argument(
        fmt::format("vault: {} names a mount, not a secret", path));
  }
  if (mount.kv_version == 1) {
    return std::string(path);
  }
  return fmt::format("{}data/{}", mount.path, rest);
}

Result<KvSecret> Client::read_kv(const SecretString& token,
                                 std::string_view path,
                                 std::optional<int> version,
                                 Deadline d) {
  auto mount = mount_info(token, path, d);
  if (!mount) {
    return mount.error();
  }
  return read_kv_in(token, *mount, path, version, d);
}

Result<KvSecret> Client::read_kv_in(const SecretString& token,
                                    const MountInfo& mount,
                                    std::string_view path,
                                    std::optional<int> version,
                                    Deadline d) {
  auto api_path = kv_api_path(mount, path);
  if (!api_path) {
    return api_path.error();
  }
  KvSecret out;
  out.kv_version = mount.kv_version;
  out.mount = mount.path;
  Request r;
  r.method = Method::get;
  r.token = &token;
  r.path = std::move(*api_path);
  if (mount.kv_version == 1) {
    if (version) {
      return bad_argument(
          fmt::format("vault: {} is kv v1, which has no versions", path));
    }
    auto response = request(r, d);
    if (!response) {
      return response.error();
    }
    auto secret = parse_secret(*response, r.path);
    if (!secret) {
      return secret.error();
    }
    if (!secret->data.is_object()) {
      return make_error(ErrorKind::internal,
                        errc::invalid_response,
                        fmt::format("vault: reply to {} has no data", path));
    }
    out.data = std::move(secret->data);
    out.lease_duration = secret->lease_duration;
    return out;
  }

  if (version) {
    r.options.query.emplace_back("version", std::to_string(*version));
  }
  auto response = execute(r, d);
  if (!response) {
    return response.error();
  }
  const long status = response->status;
  if (status != 200 && status != 404) {
    return decode(r, *response);
  }
  // A 404 may hold a full envelope: a deleted or destroyed version.
  json& body = response->body;
  json* data =
      body.is_object() && body.contains("data") && body["data"].is_object()
          ? &body["data"]
          : nullptr;
  if (!data) {
    if (status == 404) {
      return decode(r, *response);
    }
    return make_error(ErrorKind::internal,
                      errc::invalid_response,
                      fmt::format("vault: reply to {} has no data", r.path));
  }
  out.metadata = kv_metadata(data->value("metadata", json()));
  auto inner = data->find("data");
  if (inner == data->end() || !inner->is_object()) {
    return kv_gone(out.metadata, path);
  }
  out.data = std::move(*inner);
  *inner = nullptr;
  return out;
}

Result<Secret> Client::read_secret(const SecretString& token,
                                   std::string_view path,
                                   const CallOptions& options,
                                   Deadline d) {
  if (options.wrap_ttl) {
    return bad_argument("vault: read_secret cannot wrap; use call_wrapped");
  }
  Request r;
  r.method = Method::get;
  r.path = std::string(path);
  r.token = &token;
  r.options = options;
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  return parse_secret(*response, r.path);
}

Result<Secret> Client::write_secret(const SecretString& token,
                                    std::string_view path,
                                    const json& body,
                                    const CallOptions& options,
                                    Deadline d) {
  if (options.wrap_ttl) {
    return bad_argument("vault: write_secret cannot wrap; use call_wrapped");
  }
  const SecretString text = detail::json_text(body);
  Request r;
  r.method = Method::post;
  r.path = std::string(path);
  r.body = &text;
  r.token = &token;
  r.options = options;
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  return parse_secret(*response, r.path);
}

Result<std::vector<std::string>> Client::list_keys(const SecretString& token,
                                                   std::string_view path,
                                                   Deadline d) {
  Request r;
  r.method = Method::list;
  r.path = std::string(path);
  r.token = &token;
  auto response = execute(r, d);
  if (!response) {
    return response.error();
  }
  // An empty list is a 404 with no message; a 404 with one ("unsupported
  // path") is a real miss.
  if (response->status == 404 && vault_error_text(response->body).empty()) {
    return std::vector<std::string>{};
  }
  if (response->status >= 300) {
    return decode(r, *response);
  }
  return parse_keys(*response, r.path);
}

Result<TokenAuth> Client::login_approle(const SecretString& role_id,
                                        const SecretString& secret_id,
                                        std::string_view mount,
                                        Deadline d) {
  if (mount.empty() || mount.find('/') != std::string_view::npos) {
    return bad_argument(
        fmt::format("vault: approle mount \"{}\" is not a mount name", mount));
  }
  if (role_id.empty() || secret_id.empty()) {
    return bad_argument("vault: approle login needs a role_id and secret_id");
  }
  const SecretString body = detail::secret_fields(
      {{"role_id", role_id.reveal()}, {"secret_id", secret_id.reveal()}});
  Request r;
  r.method = Method::post;
  r.path = fmt::format("auth/{}/login", mount);
  r.body = &body;
  r.options.minting = Minting::yes;
  auto response = request(r, d);
  if (!response) {
    Error e = response.error();
    e.message = redact_secret(redact_secret(e.message, secret_id), role_id);
    return e;
  }
  auto auth = parse_token_auth(*response, r.path);
  if (auth && auth->client_token.empty()) {
    return make_error(ErrorKind::internal,
                      errc::invalid_response,
                      fmt::format("vault: reply to {} has no token", r.path));
  }
  return auth;
}

} // namespace vsp::vault
