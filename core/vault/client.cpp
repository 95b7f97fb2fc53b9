#include "core/vault/client.hpp"

#include "core/util/log.hpp"
#include "core/util/redact.hpp"
#include "core/vault/client_internal.hpp"
#include "core/vault/retry.hpp"
#include "core/vault/transport.hpp"

#include <fmt/format.h>

#include <cctype>
#include <random>

namespace vsp::vault {
namespace {

using detail::Failure;
using detail::HttpResult;
using Millis = std::chrono::milliseconds;

// Below this much time left, another attempt cannot usefully run.
constexpr Millis k_min_attempt{100};

const char* method_name(Method m) {
  switch (m) {
  case Method::get:
    return "GET";
  case Method::post:
    return "POST";
  case Method::put:
    return "PUT";
  case Method::del:
    return "DELETE";
  case Method::list:
    return "LIST";
  case Method::head:
    return "HEAD";
  }
  return "GET";
}

Error bad_argument(std::string message) {
  return make_error(
      ErrorKind::invalid_input, errc::invalid_argument, std::move(message));
}

// Paths come from rules, labels and operators. Dot segments would let
// libcurl's URL normalisation move a request out of its prefix, so they
// are refused rather than resolved.
Status check_path(std::string_view path) {
  const auto bad = [&](const char* why) {
    return bad_argument(
        fmt::format("vault: invalid path \"{}\": {}", scrub_tokens(path), why));
  };
  if (path.empty()) {
    return bad("empty");
  }
  if (path.front() == '/') {
    return bad("must not start with '/'");
  }
  if (path.back() == '.') {
    return bad("must not end in a period");
  }
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '?' || c == '#' || c == '\\') {
      return bad("holds a control character, '?', '#' or '\\'");
    }
  }
  std::size_t start = 0;
  while (start < path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    const std::string_view segment = path.substr(start, end - start);
    if (segment.empty()) {
      return bad("has an empty segment");
    }
    if (segment == "." || segment == "..") {
      return bad("has a '.' or '..' segment");
    }
    start = end + 1;
  }
  return ok_status();
}

bool unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

void percent_encode(std::string& out, std::string_view text, bool keep_slash) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  for (const char c : text) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += k_hex[u >> 4];
      out += k_hex[u & 15];
    }
  }
}

std::string build_url(const std::string& base,
                      std::string_view path,
                      Method method,
                      const CallOptions& options) {
  std::string url = base + "/v1/";
  percent_encode(url, path, true);
  char sep = '?';
  const auto add = [&](std::string_view key, std::string_view value) {
    url += sep;
    sep = '&';
    percent_encode(url, key, false);
    url += '=';
    percent_encode(url, value, false);
  };
  // GET ?list=true rather than the LIST verb: it passes through proxies.
  if (method == Method::list) {
    add("list", "true");
  }
  for (const auto& [key, value] : options.query) {
    add(key, value);
  }
  return url;
}

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 307 || status == 308;
}

BodyFormat parse_body(const std::string& text, nlohmann::json& out) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    out = nullptr;
    return BodyFormat::empty;
  }
  out = nlohmann::json::parse(text, nullptr, false);
  if (out.is_discarded()) {
    out = nullptr;
    return BodyFormat::other;
  }
  return BodyFormat::json;
}

Error mint_lost(Error e, std::string_view path) {
  e.code = errc::outcome_unknown;
  e.message += fmt::format(
      "; the request to {} may have taken effect (a token, credentials or "
      "a spent wrapping token may exist unseen): reconcile before retrying",
      path);
  return e;
}

// True when the failure left the request certainly unsent, so even a
// minting request may go again.
bool never_sent(const HttpResult& r) {
  return !r.sent &&
         (r.failure == Failure::connect || r.failure == Failure::timeout ||
          r.failure == Failure::connection_lost);
}

} // namespace

namespace detail {

SecretString json_text(const nlohmann::json& body) {
  return SecretString(body.dump());
}

SecretString secret_fields(
    std::initializer_list<std::pair<std::string_view, std::string_view>>
        fields) {
  std::size_t size = 2;
  for (const auto& [k, v] : fields) {
    size += 6 * (k.size() + v.size()) + 6;
  }
  std::string out;
  out.reserve(size); // worst case: nothing reallocates and leaves a copy
  const auto put = [&](std::string_view text) {
    out += '"';
    for (const char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (u < 0x20) {
        out += fmt::format("\\u{:04x}", u);
      } else {
        out += c;
      }
    }
    out += '"';
  };
  out += '{';
  bool first = true;
  for (const auto& [k, v] : fields) {
    if (!first) {
      out += ',';
    }
    first = false;
    put(k);
    out += ':';
    put(v);
  }
  out += '}';
  return SecretString(std::move(out));
}

std::string seconds_text(Seconds s) {
  return fmt::format("{}s", s.count());
}

Status require(std::string_view what, std::string_view value) {
  if (value.empty()) {
    return bad_argument(fmt::format("vault: {} must not be empty", what));
  }
  return ok_status();
}

Error recode(const Error& e, const char* code) {
  return make_error(kind_of(code), code, e.message);
}

} // namespace detail

Client::Client(Config config)
    : m_config(std::move(config)), m_valid(m_config.validate()) {
  m_transport =
      std::make_unique<detail::Transport>(m_config.tls,
                                          m_config.proxy,
                                          m_config.max_response_bytes,
                                          m_config.max_idle_connections);
  if (m_config.tls.skip_verify == SkipVerify::yes) {
    log::warn("vault",
              "tls verification is off (VAULT_SKIP_VERIFY): anyone on the "
              "path to {} can read the tokens",
              redact_url(m_config.address));
  }
}

Client::~Client() = default;

void Client::cancel() {
  m_transport->cancel();
}

Result<Response> Client::execute(const Request& req, Deadline deadline) {
  const auto started = std::chrono::steady_clock::now();
  auto r = attempts(req, deadline);
  report(req, r, started);
  if (!r && req.token) {
    Error e = r.error();
    e.message = redact_secret(e.message, *req.token);
    return e;
  }
  return r;
}

void Client::report(const Request& req,
                    const Result<Response>& result,
                    std::chrono::steady_clock::time_point started) const {
  CallObserver* observer = m_observer.load(std::memory_order_acquire);
  if (observer == nullptr) {
    return;
  }
  CallRecord record;
  record.method = req.method;
  record.operation = operation_name(req.method, req.path);
  if (result) {
    record.http_status = result->status;
  } else {
    record.error = result.error().code;
  }
  record.elapsed = std::chrono::steady_clock::now() - started;
  observer->on_call(record);
}

Error Client::decode(const Request& req, const Response& response) const {
  Error e = error_for_status(response.status,
                             req.path,
                             response.body,
                             response.body.is_null() ? BodyFormat::empty
                                                     : BodyFormat::json);
  if (req.token) {
    e.message = redact_secret(e.message, *req.token);
  }
  return e;
}

Result<Response> Client::attempts(const Request& req, Deadline deadline) {
  if (!m_valid) {
    return m_valid.error();
  }
  if (auto s = check_path(req.path); !s) {
    return s.error();
  }
  if (req.options.wrap_ttl && req.options.wrap_ttl->count() <= 0) {
    return bad_argument("vault: wrap ttl must be positive");
  }
  const Endpoint endpoint = parse_address(m_config.address).value();
  const std::string address = redact_url(m_config.address);

  detail::HttpRequest http;
  http.method = req.method;
  http.token = req.token;
  http.body = req.body;
  http.minting = req.options.minting;
  http.headers.emplace_back("X-Vault-Request: true");
  if (!m_config.namespace_name.empty()) {
    http.headers.push_back("X-Vault-Namespace: " + m_config.namespace_name);
  }
  if (req.options.wrap_ttl) {
    http.headers.push_back(
        fmt::format("X-Vault-Wrap-TTL: {}", req.options.wrap_ttl->count()));
  }
  std::string base = endpoint.base_url;
  std::string connect_to;
  if (endpoint.scheme == Endpoint::Scheme::https &&
      !m_config.tls.server_name.empty()) {
    // Name the server in the URL, connect to the configured host: libcurl
    // then sends the name as SNI and verifies the certificate against it.
    base = fmt::format("https://{}:{}{}",
                       m_config.tls.server_name,
                       endpoint.port,
                       endpoint.prefix);
    connect_to = fmt::format("{}:{}:{}:{}",
                             m_config.tls.server_name,
                             endpoint.port,
                             endpoint.host,
                             endpoint.port);
  }
  const std::string url = build_url(base, req.path, req.method, req.options);
  const bool minting = req.options.minting == Minting::yes;
  const int attempts = 1 + m_config.max_retries;
  const char* verb = method_name(req.method);

  std::optional<Error> last;
  for (int attempt = 1;;) {
    http.url = url;
    http.unix_socket = endpoint.unix_path;
    http.connect_to = connect_to;
    bool redirected = false;
    HttpResult r;
    while (true) {
      const Millis remaining = deadline.remaining();
      if (remaining < Millis(1)) {
        if (last) {
          return *last;
        }
        return make_error(
            ErrorKind::timeout,
            errc::timeout,
            fmt::format("vault: deadline passed before {} was sent", req.path));
      }
      http.timeout = remaining;
      http.connect_timeout = std::min(remaining, m_config.connect_timeout);
      r = m_transport->perform(http);
      log::debug("vault",
                 "{} {} status={} ms={} attempt={}/{} conn={}{}{}",
                 verb,
                 req.path,
                 r.status,
                 r.elapsed.count(),
                 attempt,
                 attempts,
                 r.new_connection ? "new" : "reused",
                 r.failure == Failure::none ? "" : " error=",
                 scrub_tokens(r.detail));
      if (r.failure != Failure::none || !is_redirect(r.status) || redirected) {
        break;
      }
      // A standby without request forwarding points at the active node.
      // Follow once, and never from https down to http.
      const bool from_https = http.url.rfind("https://", 0) == 0;
      const std::string& to = r.redirect_url;
      const bool to_https = to.rfind("https://", 0) == 0;
      if (!(to_https || (!from_https && to.rfind("http://", 0) == 0))) {
        return make_error(
            ErrorKind::unavailable,
            errc::standby,
            fmt::format("vault: refusing redirect of {} from {} to {}",
                        req.path,
                        address,
                        to.empty() ? "nowhere" : redact_url(to)));
      }
      log::info(
          "vault", "following redirect of {} to {}", req.path, redact_url(to));
      redirected = true;
      http.url = to;
      http.unix_socket.clear();
      http.connect_to.clear();
    }

    if (r.failure != Failure::none) {
      Error e = [&] {
        const std::string detail = scrub_tokens(r.detail);
        switch (r.failure) {
        case Failure::connect:
          if (redirected) {
            return make_error(
                ErrorKind::unavailable,
                errc::standby,
                fmt::format("vault: {} is a standby and its active node, "
                            "{}, cannot be reached: {}",
                            address,
                            redact_url(http.url),
                            detail));
          }
          return make_error(
              ErrorKind::unavailable,
              errc::unreachable,
              fmt::format("vault: cannot connect to {}: {}", address, detail));
        case Failure::timeout:
          if (!r.sent && !deadline.expired()) {
            return make_error(
                ErrorKind::unavailable,
                errc::unreachable,
                fmt::format("vault: connecting to {} timed out", address));
          }
          return make_error(
              ErrorKind::timeout,
              errc::timeout,
              fmt::format("vault: no answer to {} within the deadline",
                          req.path));
        case Failure::tls:
          return make_error(
              ErrorKind::unavailable,
              errc::tls,
              fmt::format("vault: tls failure with {}: {}", address, detail));
        case Failure::connection_lost:
          return make_error(ErrorKind::unavailable,
                            errc::unreachable,
                            fmt::format("vault: connection lost during {}: {}",
                                        req.path,
                                        detail));
        case Failure::truncated:
          return make_error(ErrorKind::internal,
                            errc::invalid_response,
                            fmt::format("vault: reply to {} was cut short: {}",
                                        req.path,
                                        detail));
        case Failure::too_large:
          return make_error(
              ErrorKind::internal,
              errc::invalid_response,
              fmt::format("vault: reply to {} exceeds {} bytes; refused",
                          req.path,
                          m_config.max_response_bytes));
        case Failure::replay_blocked:
          return make_error(
              ErrorKind::unavailable,
              errc::outcome_unknown,
              fmt::format("vault: connection to {} died before an answer to "
                          "{}",
                          address,
                          req.path));
        case Failure::bad_reply:
          return make_error(ErrorKind::internal,
                            errc::invalid_response,
                            fmt::format("vault: reply to {} is not http: {}",
                                        req.path,
                                        detail));
        case Failure::cancelled:
          return make_error(ErrorKind::unavailable,
                            errc::cancelled,
                            fmt::format("vault: {} cancelled: the process is "
                                        "stopping",
                                        req.path));
        case Failure::local:
        case Failure::none:
          break;
        }
        return make_error(
            ErrorKind::internal,
            errc::invalid_argument,
            fmt::format("vault: cannot send {}: {}", req.path, detail));
      }();
      const bool retryable = r.failure == Failure::connect ||
                             r.failure == Failure::connection_lost ||
                             r.failure == Failure::truncated ||
                             (r.failure == Failure::timeout && !r.sent);
      const bool may_replay = !minting || never_sent(r);
      if (minting && r.sent && e.code != errc::tls &&
          e.code != errc::invalid_argument) {
        e = mint_lost(std::move(e), req.path);
      }
      if (!retryable || !may_replay || attempt >= attempts) {
        return e;
      }
      const Millis wait = backoff(attempt,
                                  m_config.retry_wait_min,
                                  m_config.retry_wait_max,
                                  unit_random());
      if (!fits_deadline(wait, deadline.remaining(), k_min_attempt)) {
        return e;
      }
      log::warn("vault",
                "retrying {} {} in {}ms: {} (attempt {}/{})",
                verb,
                req.path,
                wait.count(),
                e.message,
                attempt + 1,
                attempts);
      if (!m_transport->wait_unless_cancelled(wait)) {
        return e;
      }
      last = std::move(e);
      ++attempt;
      continue;
    }

    Response response;
    response.status = r.status;
    const BodyFormat format = parse_body(r.body, response.body);
    if (r.status >= 200 && r.status < 300) {
      if (format == BodyFormat::other) {
        Error e = make_error(ErrorKind::internal,
                             errc::invalid_response,
                             fmt::format("vault: reply to {} (status {}) is "
                                         "not json (truncated, or a proxy?)",
                                         req.path,
                                         r.status));
        return minting ? mint_lost(std::move(e), req.path) : e;
      }
      return response;
    }
    if (is_redirect(r.status)) {
      return error_for_status(r.status, req.path, response.body, format);
    }
    if (format == BodyFormat::other && !retryable_status(r.status)) {
      return error_for_status(r.status, req.path, response.body, format);
    }
    if (!retryable_status(r.status)) {
      return response; // the caller decodes it: a 404 may carry data
    }
    Error e = error_for_status(r.status, req.path, response.body, format);
    const std::string text = vault_error_text(response.body);
    if (minting && !mint_replay_safe(r.status, text)) {
      // Vault's own JSON error means Vault refused the request and rolled
      // back (a failed token create revokes what it made). Anything else
      // may come from a proxy that gave up after Vault acted.
      if (format != BodyFormat::json || text.empty()) {
        return mint_lost(std::move(e), req.path);
      }
      e.message += " (not retried: the request issues credentials)";
      return e;
    }
    if (attempt >= attempts) {
      return e;
    }
    Millis wait = backoff(attempt,
                          m_config.retry_wait_min,
                          m_config.retry_wait_max,
                          unit_random());
    if (r.status == 429 || r.status == 503) {
      if (auto after = parse_retry_after(r.retry_after,
                                         std::chrono::system_clock::now())) {
        wait = *after;
      }
    }
    if (!fits_deadline(wait, deadline.remaining(), k_min_attempt)) {
      return e;
    }
    log::warn("vault",
              "retrying {} {} in {}ms: {} (attempt {}/{})",
              verb,
              req.path,
              wait.count(),
              e.message,
              attempt + 1,
              attempts);
    if (!m_transport->wait_unless_cancelled(wait)) {
      return e;
    }
    last = std::move(e);
    ++attempt;
  }
}

Result<Response> Client::request(const Request& req, Deadline deadline) {
  auto r = execute(req, deadline);
  if (r && r->status >= 300) {
    return decode(req, *r);
  }
  return r;
}

Result<Response> Client::call(Method method,
                              std::string_view path,
                              const nlohmann::json* body,
                              const SecretString* token,
                              const CallOptions& options,
                              Deadline deadline) {
  SecretString text;
  if (body) {
    text = detail::json_text(*body);
  }
  Request req;
  req.method = method;
  req.path = std::string(path);
  req.body = body ? &text : nullptr;
  req.token = token;
  req.options = options;
  return request(req, deadline);
}

Result<WrapInfo> Client::call_wrapped(Method method,
                                      std::string_view path,
                                      const nlohmann::json* body,
                                      const SecretString& token,
                                      Seconds wrap_ttl,
                                      Minting minting,
                                      Deadline deadline) {
  CallOptions options;
  options.wrap_ttl = wrap_ttl;
  options.minting = minting;
  auto r = call(method, path, body, &token, options, deadline);
  if (!r) {
    return r.error();
  }
  return parse_wrap_info(*r, path);
}

std::string_view operation_name(Method method, std::string_view path) {
  const auto starts = [&](std::string_view prefix) {
    return path.substr(0, prefix.size()) == prefix;
  };
  struct Known {
    std::string_view prefix;
    std::string_view name;
  };
  // First match wins, so longer prefixes come before their stems.
  static constexpr Known k_known[] = {
      {"auth/token/create", "token_create"},
      {"auth/token/lookup-self", "token_lookup_self"},
      {"auth/token/lookup", "token_lookup"},
      {"auth/token/renew-self", "token_renew_self"},
      {"auth/token/renew", "token_renew"},
      {"auth/token/revoke", "token_revoke"},
      {"auth/token/accessors", "token_list_accessors"},
      {"sys/wrapping/unwrap", "unwrap"},
      {"sys/wrapping/lookup", "wrap_lookup"},
      {"sys/wrapping/rewrap", "rewrap"},
      {"sys/wrapping/wrap", "wrap"},
      {"sys/leases/lookup", "lease_lookup"},
      {"sys/leases/renew", "lease_renew"},
      {"sys/renew", "lease_renew"},
      {"sys/leases/revoke", "lease_revoke"},
      {"sys/revoke", "lease_revoke"},
      {"sys/internal/ui/mounts", "mount_info"},
      {"sys/health", "health"},
  };
  for (const Known& k : k_known) {
    if (starts(k.prefix)) {
      return k.name;
    }
  }
  if (starts("auth/") && path.size() > 6 &&
      path.substr(path.size() - 6) == "/login") {
    return "login";
  }
  switch (method) {
  case Method::get:
  case Method::head:
    return "read";
  case Method::post:
  case Method::put:
    return "write";
  case Method::list:
    return "list";
  case Method::del:
    return "delete";
  }
  return "other";
}

} // namespace vsp::vault
