#pragma once

#include "core/util/result.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vsp::vault {

enum class SkipVerify { no, yes };

struct TlsOptions {
  std::string ca_cert;     // PEM file (VAULT_CACERT); wins over ca_path
  std::string ca_pem;      // PEM text (VAULT_CACERT_BYTES); wins over both
  std::string ca_path;     // directory of hashed CA files (VAULT_CAPATH)
  std::string client_cert; // PEM files for mTLS: both or neither
  std::string client_key;
  std::string server_name; // name to send as SNI and verify
  SkipVerify skip_verify = SkipVerify::no;
};

// Looks a variable up; nullopt when unset. Injected so tests never read
// the real environment.
using Getenv = std::function<std::optional<std::string>(const char*)>;

// Reads the process environment.
std::optional<std::string> system_getenv(const char* name);

struct Config {
  std::string address = "https://127.0.0.1:8200"; // http(s)://, unix:///
  std::string namespace_name; // X-Vault-Namespace, empty for none
  TlsOptions tls;
  int max_retries = 2; // extra attempts after the first
  // Linear jittered backoff: a uniform pick in [min, max] times the retry
  // number, as the official client does (spec 8.2).
  std::chrono::milliseconds retry_wait_min{1000};
  std::chrono::milliseconds retry_wait_max{1500};
  // Per attempt; the deadline caps it further.
  std::chrono::milliseconds connect_timeout{10'000};
  // A longer reply is refused with errc::invalid_response.
  std::size_t max_response_bytes = std::size_t{32} << 20;
  // VAULT_CLIENT_TIMEOUT: the budget the CLI gives a whole command.
  std::chrono::seconds client_timeout{60};
  // VAULT_PROXY_ADDR / VAULT_HTTP_PROXY. Empty: libcurl's usual
  // http_proxy/https_proxy/no_proxy variables apply, like Go's client.
  std::string proxy;
  // How long KV mount information is trusted.
  std::chrono::seconds mount_cache_ttl{300};
  // Idle keep-alive connections kept for reuse. Concurrent calls beyond
  // it open connections that are closed afterwards, so a server calling
  // Vault from N threads at once wants at least N.
  std::size_t max_idle_connections = 8;

  // Reads VAULT_ADDR (VAULT_AGENT_ADDR wins), VAULT_NAMESPACE,
  // VAULT_CACERT, VAULT_CACERT_BYTES, VAULT_CAPATH, VAULT_CLIENT_CERT,
  // VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME, VAULT_SKIP_VERIFY,
  // VAULT_MAX_RETRIES, VAULT_CLIENT_TIMEOUT, VAULT_PROXY_ADDR and
  // VAULT_HTTP_PROXY. Empty values count as unset. Fails with
  // errc::invalid_argument on a malformed value or half a cert/key pair.
  static Result<Config> from_env(const Getenv& getenv);

  // Checks the address and the TLS options.
  Status validate() const;
};

// An address taken apart.
struct Endpoint {
  enum class Scheme { http, https, unix_socket };
  Scheme scheme = Scheme::https;
  std::string base_url;  // scheme://host:port[/prefix], no trailing slash
  std::string host;      // as in the URL, IPv6 in brackets
  std::string port;      // always set for http(s)
  std::string prefix;    // a path before /v1, no trailing slash: "/vault"
  std::string unix_path; // for unix:///path
};

// Parses "http://host[:port][/prefix]", "https://..." or "unix:///path".
Result<Endpoint> parse_address(std::string_view address);

// Go's strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
std::optional<bool> parse_go_bool(std::string_view text);

} // namespace vsp::vault
