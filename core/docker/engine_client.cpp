#include "core/docker/engine_client.hpp"

#include "core/docker/bounded_sink.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <memory>

namespace vsp::docker {
namespace {

constexpr std::string_view k_api = "/v1.41";
constexpr std::size_t k_max_reply_bytes = std::size_t{64} << 20;
constexpr const char* k_default_socket = "/var/run/docker.sock";

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string escape(std::string_view text) {
  std::unique_ptr<char, decltype(&curl_free)> out(
      curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size())),
      curl_free);
  return out ? std::string(out.get()) : std::string();
}

std::string filters_query(const TaskFilter& filter) {
  nlohmann::json filters = nlohmann::json::object();
  if (!filter.service.empty()) {
    filters["service"] = {filter.service};
  }
  if (!filter.node.empty()) {
    filters["node"] = {filter.node};
  }
  if (!filter.desired_state.empty()) {
    filters["desired-state"] = {filter.desired_state};
  }
  return filters.empty() ? std::string() : "?filters=" + escape(filters.dump());
}

std::string text_at(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>()
                                          : std::string();
}

Error bad_reply(const std::string& what) {
  return Error(ErrorKind::invalid_input,
               "engine_bad_reply",
               "unexpected reply from the docker engine: " + what);
}

// DOCKER_HOST as an endpoint; only local ones: a remote engine would need
// TLS options vsp does not take.
Error cancelled_call(const std::string& engine,
                     std::string_view method,
                     const std::string& path) {
  return Error(ErrorKind::unavailable,
               "engine_cancelled",
               fmt::format("docker engine at {}: {} {} cut off, the plugin "
                           "is stopping",
                           engine,
                           method,
                           path));
}

int stop_if_cancelled(
    void* cancelled, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancelled)->load() ? 1 : 0;
}

Result<EngineEndpoint> endpoint_from_host(const std::string& host) {
  constexpr std::string_view k_unix = "unix://";
  constexpr std::string_view k_tcp = "tcp://";
  if (host.rfind(k_unix, 0) == 0) {
    return EngineEndpoint{host.substr(k_unix.size()), "http://localhost"};
  }
  if (host.rfind(k_tcp, 0) == 0) {
    const std::string rest = host.substr(k_tcp.size());
    if (rest.rfind("127.0.0.1:", 0) == 0 || rest.rfind("localhost:", 0) == 0 ||
        rest.rfind("[::1]:", 0) == 0) {
      return EngineEndpoint{"", "http://" + rest};
    }
  }
  return Error(ErrorKind::invalid_input,
               "invalid_config",
               fmt::format("DOCKER_HOST=\"{}\": vsp reaches the docker "
                           "engine only through a unix:// socket or "
                           "tcp:// on loopback",
                           host));
}

} // namespace

bool is_terminal_task_state(std::string_view state) {
  constexpr std::array<std::string_view, 6> k_terminal = {
      "complete", "failed", "shutdown", "rejected", "orphaned", "remove"};
  return std::find(k_terminal.begin(), k_terminal.end(), state) !=
         k_terminal.end();
}

Result<std::optional<EngineEndpoint>> find_engine(
    const std::function<std::optional<std::string>(const char*)>& getenv) {
  if (auto host = getenv("DOCKER_HOST"); host && !host->empty()) {
    auto endpoint = endpoint_from_host(*host);
    if (!endpoint) {
      return endpoint.error();
    }
    return std::optional<EngineEndpoint>(std::move(*endpoint));
  }
  if (auto socket = getenv("VSP_DOCKER_SOCKET"); socket && !socket->empty()) {
    return std::optional<EngineEndpoint>(
        EngineEndpoint{*socket, "http://localhost"});
  }
  if (is_socket(k_default_socket)) {
    return std::optional<EngineEndpoint>(
        EngineEndpoint{k_default_socket, "http://localhost"});
  }
  return std::optional<EngineEndpoint>();
}

EngineClient::EngineClient(EngineEndpoint endpoint,
                           std::chrono::milliseconds call_timeout)
    : m_endpoint(std::move(endpoint)), m_call_timeout(call_timeout) {}

std::string EngineClient::describe() const {
  return m_endpoint.unix_socket.empty() ? m_endpoint.base_url
                                        : "unix://" + m_endpoint.unix_socket;
}

Result<EngineClient::Reply> EngineClient::call(std::string_view method,
                                               const std::string& path,
                                               const nlohmann::json* body,
                                               Deadline deadline) const {
  if (m_cancelled) {
    return cancelled_call(describe(), method, path);
  }
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                           curl_easy_cleanup);
  if (!curl) {
    return Error(ErrorKind::internal, "cannot initialise libcurl");
  }
  const std::string url = m_endpoint.base_url + std::string(k_api) + path;
  const std::string method_text(method);
  const std::string payload = body != nullptr ? body->dump() : std::string();
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(
      headers, curl_slist_free_all);

  BoundedSink sink(k_max_reply_bytes);
  CURL* c = curl.get();
  if (!m_endpoint.unix_socket.empty()) {
    curl_easy_setopt(
        c, CURLOPT_UNIX_SOCKET_PATH, m_endpoint.unix_socket.c_str());
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(
        c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, BoundedSink::write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  const auto budget = std::min(deadline.remaining(), m_call_timeout);
  curl_easy_setopt(c,
                   CURLOPT_TIMEOUT_MS,
                   std::max<long>(1, static_cast<long>(budget.count())));

  // libcurl calls this at least once a second, even while the engine is
  // silent: the place to notice cancel().
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stop_if_cancelled);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &m_cancelled);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    return cancelled_call(describe(), method, path);
  }
  if (sink.overflow) {
    return bad_reply(
        fmt::format("{} is larger than {} bytes", path, k_max_reply_bytes));
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Error(ErrorKind::timeout,
                 "engine_timeout",
                 fmt::format("docker engine at {}: no answer to {} {} in time",
                             describe(),
                             method,
                             path));
  }
  if (rc != CURLE_OK) {
    return Error(ErrorKind::unavailable,
                 "engine_unreachable",
                 fmt::format("docker engine at {}: {}",
                             describe(),
                             curl_easy_strerror(rc)));
  }
  Reply reply;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  if (!sink.data.empty()) {
    reply.body = nlohmann::json::parse(sink.data, nullptr, false);
    if (reply.body.is_discarded()) {
      reply.body = nullptr;
      if (reply.status < 300) {
        return bad_reply(fmt::format("{} did not return JSON", path));
      }
    }
  }
  return reply;
}

Error EngineClient::error_for(const std::string& what,
                              const Reply& reply) const {
  std::string message = text_at(reply.body, "message");
  if (message.empty()) {
    message = fmt::format("HTTP status {}", reply.status);
  }
  const std::string text =
      fmt::format("docker engine at {}: {}: {}", describe(), what, message);
  if (reply.status == 404) {
    return Error(ErrorKind::not_found, "engine_not_found", text);
  }
  if (reply.status == 409) {
    return Error(ErrorKind::invalid_input, "engine_conflict", text);
  }
  if (reply.status == 503) {
    return Error(ErrorKind::unavailable, "engine_not_manager", text);
  }
  if (reply.status == 401 || reply.status == 403) {
    return Error(ErrorKind::denied, "engine_denied", text);
  }
  if (reply.status >= 400 && reply.status < 500) {
    return Error(ErrorKind::invalid_input, "engine_refused", text);
  }
  return Error(ErrorKind::unavailable, "engine_error", text);
}

Result<EngineInfo> EngineClient::info(Deadline deadline) const {
  auto reply = call("GET", "/info", nullptr, deadline);
  if (!reply) {
    return reply.error();
  }
  if (reply->status != 200) {
    return error_for("info", *reply);
  }
  return parse_info(reply->body);
}

Result<std::vector<Task>> EngineClient::tasks(const TaskFilter& filter,
                                              Deadline deadline) const {
  auto reply = call("GET", "/tasks" + filters_query(filter), nullptr, deadline);
  if (!reply) {
    return reply.error();
  }
  if (reply->status != 200) {
    return error_for("listing tasks", *reply);
  }
  return parse_tasks(reply->body);
}

Result<Service> EngineClient::service(std::string_view id_or_name,
                                      Deadline deadline) const {
  auto reply =
      call("GET", "/services/" + escape(id_or_name), nullptr, deadline);
  if (!reply) {
    return reply.error();
  }
  if (reply->status != 200) {
    return error_for(fmt::format("service \"{}\"", id_or_name), *reply);
  }
  return parse_service(reply->body);
}

Status EngineClient::update_service(const Service& service,
                                    const nlohmann::json& spec,
                                    Deadline deadline) const {
  const std::string path = fmt::format(
      "/services/{}/update?version={}", escape(service.id), service.version);
  auto reply = call("POST", path, &spec, deadline);
  if (!reply) {
    return reply.error();
  }
  if (reply->status != 200) {
    return error_for(fmt::format("updating service \"{}\"", service.name),
                     *reply);
  }
  return ok_status();
}

Result<std::vector<Task>> parse_tasks(const nlohmann::json& body) {
  if (!body.is_array()) {
    return bad_reply("the task list is not an array");
  }
  std::vector<Task> out;
  out.reserve(body.size());
  for (const auto& item : body) {
    if (!item.is_object() || text_at(item, "ID").empty()) {
      return bad_reply("a task without an ID");
    }
    Task t;
    t.id = text_at(item, "ID");
    t.service_id = text_at(item, "ServiceID");
    t.node_id = text_at(item, "NodeID");
    t.desired_state = text_at(item, "DesiredState");
    if (auto slot = item.find("Slot");
        slot != item.end() && slot->is_number_integer()) {
      t.slot = slot->get<std::int64_t>();
    }
    if (auto status = item.find("Status");
        status != item.end() && status->is_object()) {
      t.state = text_at(*status, "State");
      t.error = text_at(*status, "Err");
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<Service> parse_service(const nlohmann::json& body) {
  if (!body.is_object() || text_at(body, "ID").empty()) {
    return bad_reply("a service without an ID");
  }
  auto spec = body.find("Spec");
  auto version = body.find("Version");
  if (spec == body.end() || !spec->is_object() || version == body.end() ||
      !version->is_object() || !version->contains("Index") ||
      !(*version)["Index"].is_number_unsigned()) {
    return bad_reply("a service without a Spec or Version.Index");
  }
  Service s;
  s.id = text_at(body, "ID");
  s.name = text_at(*spec, "Name");
  s.version = (*version)["Index"].get<std::uint64_t>();
  s.spec = *spec;
  return s;
}

Result<EngineInfo> parse_info(const nlohmann::json& body) {
  if (!body.is_object()) {
    return bad_reply("info is not an object");
  }
  EngineInfo info;
  info.server_version = text_at(body, "ServerVersion");
  if (auto swarm = body.find("Swarm");
      swarm != body.end() && swarm->is_object()) {
    info.node_id = text_at(*swarm, "NodeID");
    info.swarm_state = text_at(*swarm, "LocalNodeState");
    auto control = swarm->find("ControlAvailable");
    info.is_manager = control != swarm->end() && control->is_boolean() &&
                      control->get<bool>();
  }
  return info;
}

nlohmann::json with_forced_update(const nlohmann::json& spec) {
  nlohmann::json out = spec;
  auto& task_template = out["TaskTemplate"];
  std::uint64_t force = 0;
  if (auto it = task_template.find("ForceUpdate");
      it != task_template.end() && it->is_number_unsigned()) {
    force = it->get<std::uint64_t>();
  }
  task_template["ForceUpdate"] = force + 1;
  return out;
}

} // namespace vsp::docker
