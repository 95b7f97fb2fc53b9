#include "core/vault/config.hpp"

#include "core/util/duration.hpp"
#include "core/util/redact.hpp"
#include "core/vault/errors.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <memory>

namespace vsp::vault {
namespace {

Error bad_config(std::string message) {
  return make_error(
      ErrorKind::invalid_input, errc::invalid_argument, std::move(message));
}

// Unset and empty are the same, as in the vault CLI.
std::optional<std::string> read(const Getenv& getenv, const char* name) {
  auto v = getenv(name);
  if (!v || v->empty()) {
    return std::nullopt;
  }
  return v;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

std::string url_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || !value) {
    return {};
  }
  std::string out(value);
  curl_free(value);
  return out;
}

Result<Endpoint> parse_http(std::string_view address, Endpoint::Scheme scheme) {
  const std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  const std::string text(address);
  if (!url ||
      curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return bad_config(
        fmt::format("vault address \"{}\" is not a url", redact_url(address)));
  }
  Endpoint e;
  e.scheme = scheme;
  e.host = url_part(url.get(), CURLUPART_HOST);
  e.port = url_part(url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (e.host.empty()) {
    return bad_config(
        fmt::format("vault address \"{}\" has no host", redact_url(address)));
  }
  if (!url_part(url.get(), CURLUPART_USER).empty() ||
      !url_part(url.get(), CURLUPART_QUERY).empty()) {
    return bad_config(
        fmt::format("vault address \"{}\" may not hold credentials or a query",
                    redact_url(address)));
  }
  std::string prefix = url_part(url.get(), CURLUPART_PATH);
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.pop_back();
  }
  e.prefix = prefix;
  e.base_url = fmt::format("{}://{}:{}{}",
                           scheme == Endpoint::Scheme::https ? "https" : "http",
                           e.host,
                           e.port,
                           prefix);
  return e;
}

} // namespace

std::optional<std::string> system_getenv(const char* name) {
  const char* v = std::getenv(name); // NOLINT(concurrency-mt-unsafe)
  if (!v) {
    return std::nullopt;
  }
  return std::string(v);
}

std::optional<bool> parse_go_bool(std::string_view text) {
  if (text == "1" || text == "t" || text == "T" || text == "TRUE" ||
      text == "true" || text == "True") {
    return true;
  }
  if (text == "0" || text == "f" || text == "F" || text == "FALSE" ||
      text == "false" || text == "False") {
    return false;
  }
  return std::nullopt;
}

Result<Endpoint> parse_address(std::string_view address) {
  if (address.rfind("unix://", 0) == 0) {
    Endpoint e;
    e.scheme = Endpoint::Scheme::unix_socket;
    e.unix_path = std::string(address.substr(7));
    if (e.unix_path.empty() || e.unix_path.front() != '/') {
      return bad_config(
          fmt::format("vault address \"{}\" must name an absolute socket path "
                      "(unix:///path)",
                      address));
    }
    // The host is never resolved: libcurl only needs a well-formed URL.
    e.base_url = "http://localhost";
    e.host = "localhost";
    return e;
  }
  if (address.rfind("https://", 0) == 0) {
    return parse_http(address, Endpoint::Scheme::https);
  }
  if (address.rfind("http://", 0) == 0) {
    return parse_http(address, Endpoint::Scheme::http);
  }
  return bad_config(fmt::format(
      "vault address \"{}\" must start with http://, https:// or unix://",
      redact_url(address)));
}

Status Config::validate() const {
  if (auto e = parse_address(address); !e) {
    return e.error();
  }
  if (tls.client_cert.empty() != tls.client_key.empty()) {
    return bad_config("both client cert and client key must be provided");
  }
  if (max_retries < 0) {
    return bad_config("max retries must not be negative");
  }
  if (retry_wait_min > retry_wait_max) {
    return bad_config("retry wait min exceeds max");
  }
  return ok_status();
}

Result<Config> Config::from_env(const Getenv& getenv) {
  Config c;
  if (auto v = read(getenv, "VAULT_ADDR")) {
    c.address = *v;
  }
  if (auto v = read(getenv, "VAULT_AGENT_ADDR")) {
    c.address = *v;
  }
  c.namespace_name = read(getenv, "VAULT_NAMESPACE").value_or("");
  c.tls.ca_cert = read(getenv, "VAULT_CACERT").value_or("");
  c.tls.ca_pem = read(getenv, "VAULT_CACERT_BYTES").value_or("");
  c.tls.ca_path = read(getenv, "VAULT_CAPATH").value_or("");
  c.tls.client_cert = read(getenv, "VAULT_CLIENT_CERT").value_or("");
  c.tls.client_key = read(getenv, "VAULT_CLIENT_KEY").value_or("");
  c.tls.server_name = read(getenv, "VAULT_TLS_SERVER_NAME").value_or("");
  if (auto v = read(getenv, "VAULT_SKIP_VERIFY")) {
    const auto b = parse_go_bool(*v);
    if (!b) {
      return bad_config("could not parse VAULT_SKIP_VERIFY");
    }
    c.tls.skip_verify = *b ? SkipVerify::yes : SkipVerify::no;
  }
  if (auto v = read(getenv, "VAULT_MAX_RETRIES")) {
    const std::string_view text = *v;
    int n = -1;
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < 0) {
      return bad_config(
          fmt::format("VAULT_MAX_RETRIES \"{}\" is not a count", text));
    }
    c.max_retries = n;
  }
  if (auto v = read(getenv, "VAULT_CLIENT_TIMEOUT")) {
    auto d = parse_duration(*v);
    if (!d || d->count() == 0) {
      return bad_config(
          fmt::format("VAULT_CLIENT_TIMEOUT \"{}\" is not a duration", *v));
    }
    c.client_timeout = *d;
  }
  if (auto v = read(getenv, "VAULT_HTTP_PROXY")) {
    c.proxy = *v;
  }
  if (auto v = read(getenv, "VAULT_PROXY_ADDR")) {
    c.proxy = *v;
  }
  if (auto s = c.validate(); !s) {
    return s.error();
  }
  return c;
}

} // namespace vsp::vault
