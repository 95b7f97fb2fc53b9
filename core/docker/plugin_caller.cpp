#include "core/docker/plugin_caller.hpp"

#include "core/docker/bounded_sink.hpp"
#include "core/docker/protocol.hpp"
#include "core/util/base64.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>

namespace vsp::docker {
namespace {

constexpr std::size_t k_max_reply_bytes = 4 << 20;

enum class Verb { get, post };

Result<std::string> exchange(const std::string& socket_path,
                             Verb verb,
                             std::string_view path,
                             std::string_view body,
                             Deadline deadline,
                             long* http_status) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                           curl_easy_cleanup);
  if (!curl) {
    return Error(ErrorKind::internal, "cannot initialise libcurl");
  }
  std::string payload(body);
  payload += '\n'; // Go's json.Encoder ends every body with a newline
  const std::string url = fmt::format("http://localhost{}", path);
  const std::string accept = fmt::format("Accept: {}", k_accept_header);

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, accept.c_str());
  headers = curl_slist_append(headers, "Content-Type:");
  headers = curl_slist_append(headers, "Expect:");
  headers = curl_slist_append(headers, "User-Agent: Go-http-client/1.1");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(
      headers, curl_slist_free_all);

  BoundedSink sink(k_max_reply_bytes);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (verb == Verb::post) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(
        c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, BoundedSink::write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      c,
      CURLOPT_TIMEOUT_MS,
      std::max<long>(1, static_cast<long>(deadline.remaining().count())));

  const CURLcode rc = curl_easy_perform(c);
  if (sink.overflow) {
    return Error(ErrorKind::invalid_input,
                 fmt::format("the plugin's reply is larger than {} bytes",
                             k_max_reply_bytes));
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Error(
        ErrorKind::timeout,
        fmt::format("no answer from {} before the deadline", socket_path));
  }
  if (rc != CURLE_OK) {
    return Error(ErrorKind::unavailable,
                 fmt::format("cannot call the plugin on {}: {}",
                             socket_path,
                             curl_easy_strerror(rc)));
  }
  if (http_status != nullptr) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_status);
  }
  return std::move(sink.data);
}

} // namespace

Result<std::string> call_plugin(const std::string& socket_path,
                                std::string_view path,
                                std::string_view body,
                                Deadline deadline,
                                long* http_status) {
  return exchange(socket_path, Verb::post, path, body, deadline, http_status);
}

Result<std::string> get_from_plugin(const std::string& socket_path,
                                    std::string_view path,
                                    Deadline deadline,
                                    long* http_status) {
  return exchange(socket_path, Verb::get, path, {}, deadline, http_status);
}

Result<SecretAnswer> call_get_secret(const std::string& socket_path,
                                     std::string_view body,
                                     Deadline deadline) {
  SecretAnswer answer;
  auto reply = call_plugin(
      socket_path, k_get_secret_path, body, deadline, &answer.http_status);
  if (!reply) {
    return reply.error();
  }
  const SecretString raw(std::move(*reply));
  const auto doc =
      nlohmann::json::parse(raw.reveal(), nullptr, /*allow_exceptions=*/false);
  // Docker uses the raw body as the error when it is not JSON.
  if (doc.is_discarded() || !doc.is_object()) {
    answer.err = std::string(raw.reveal().substr(0, 1024));
    return answer;
  }
  if (auto err = doc.find("Err"); err != doc.end() && err->is_string() &&
                                  !err->get_ref<const std::string&>().empty()) {
    answer.err = err->get<std::string>();
    return answer;
  }
  if (answer.http_status != 200) {
    answer.err = fmt::format("HTTP status {}", answer.http_status);
    return answer;
  }
  const auto value = doc.find("Value");
  if (value == doc.end() || !value->is_string()) {
    answer.err = "the reply has no Value";
    return answer;
  }
  auto bytes = base64::decode(value->get_ref<const std::string&>());
  if (!bytes) {
    answer.err = "the reply's Value is not standard base64";
    return answer;
  }
  answer.value = SecretString(std::move(*bytes));
  if (auto reuse = doc.find("DoNotReuse"); reuse != doc.end()) {
    answer.do_not_reuse = reuse->is_boolean() && reuse->get<bool>();
  }
  answer.ok = true;
  return answer;
}

} // namespace vsp::docker
