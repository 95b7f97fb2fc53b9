#pragma once

#include "core/util/deadline.hpp"
#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"
#include "core/vault/config.hpp"
#include "core/vault/errors.hpp"
#include "core/vault/types.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsp::vault {

namespace detail {
class Transport;
}

// What one call did, reported once per call (its retries included) for
// metrics. Holds no path: paths can name secrets, and the operation is
// what a dashboard groups by.
struct CallRecord {
  Method method = Method::get;
  std::string_view operation; // operation_name() of the call's path
  long http_status = 0;       // the final answer's; 0 when none came
  std::string_view error;     // the errc code when it failed, else ""
  std::chrono::nanoseconds elapsed{0};
};

// Told about every call a Client makes; set with Client::set_observer().
class CallObserver {
public:
  virtual ~CallObserver() = default;
  // Runs on the calling thread right after the call; must be cheap and
  // must not throw.
  virtual void on_call(const CallRecord& record) noexcept = 0;
};

// A short fixed name for what a call to `path` does, for metrics:
// "token_create", "token_renew_self", "unwrap", "login", "mount_info",
// ..., or the method ("read", "write", "list", "delete") for secret
// paths, so secret names never become label values.
std::string_view operation_name(Method method, std::string_view path);

// Talks to Vault (or OpenBao) over HTTP(S) or a Unix socket. Thread-safe:
// one Client serves every thread, reusing keep-alive connections. Every
// call is bounded by its Deadline, retries per spec 8.2 inside it, and
// fails with an Error whose code is one of errc. Tokens travel only in
// the X-Vault-Token header and never appear in logs or errors.
//
// Retries: 412, 429 (waiting exactly Retry-After), 5xx but 501, and
// connection failures, up to Config::max_retries more attempts, with a
// jittered linear backoff; no wait is started that would end past the
// deadline. One 301/302/307/308 is followed per attempt, never from https
// to http. TLS failures, other 4xx and bad replies are not retried.
//
// Minting::yes calls (token create, logins, dynamic credentials, wrap,
// unwrap, rewrap) are replayed only when the request certainly did not
// reach Vault (refused, unresolvable, connect timeout) or Vault refused
// it before acting (412, 429, 503 sealed or standby, a redirect). A 5xx
// carrying Vault's own {"errors"} is final: Vault rolls back a failed
// mint, so there is nothing to revoke. A lost answer (reset or timeout
// after sending, a truncated or non-JSON 2xx, a 5xx page from a proxy)
// fails with errc::outcome_unknown: something may have been minted.
class Client {
public:
  // Cheap: connections open lazily. An invalid config makes every call
  // fail with errc::invalid_argument.
  explicit Client(Config config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Config& config() const { return m_config; }

  // Ends every call in progress (within about a second: libcurl checks
  // once a second) and every later one with errc::cancelled, and waits
  // for no retry. For a process that is stopping: work still running on
  // other threads must not hold it up. A mint cut off after it was sent
  // is errc::outcome_unknown, as with a lost connection.
  void cancel();

  // Reports every later call to `observer` (null: none); it must outlive
  // the Client or be replaced first.
  void set_observer(CallObserver* observer) {
    m_observer.store(observer, std::memory_order_release);
  }

  // One call to /v1/<path> with an optional JSON body and token (nullptr:
  // none). Retries 412, 429, 5xx but 501, and connection errors within
  // the deadline; a Minting::yes call is replayed only when Vault refused
  // it unprocessed or it never left. Answers >= 300 become typed errors;
  // 200, 202 and 204 (body null) are returned.
  Result<Response> call(Method method,
                        std::string_view path,
                        const nlohmann::json* body,
                        const SecretString* token,
                        const CallOptions& options,
                        Deadline deadline);

  // Same, wrapped: one round trip with X-Vault-Wrap-TTL; the wrap_info.
  Result<WrapInfo> call_wrapped(Method method,
                                std::string_view path,
                                const nlohmann::json* body,
                                const SecretString& token,
                                Seconds wrap_ttl,
                                Minting minting,
                                Deadline deadline);

  // --- Tokens (auth/token/*) -------------------------------------------

  // Creates a token (create, create-orphan or create/<role>).
  Result<TokenAuth> create_token(const SecretString& token,
                                 const TokenCreateRequest& req,
                                 Deadline d);
  // Creates a token response-wrapped, in one round trip; the reply's
  // wrapped_accessor is the new token's accessor.
  Result<WrapInfo> create_token_wrapped(const SecretString& token,
                                        const TokenCreateRequest& req,
                                        Seconds wrap_ttl,
                                        Deadline d);
  Result<TokenInfo> lookup_self(const SecretString& token, Deadline d);
  // An unknown `target` fails with errc::invalid_token ("bad token"):
  // here the code is about `target`, not `token`.
  Result<TokenInfo> lookup_token(const SecretString& token,
                                 const SecretString& target,
                                 Deadline d);
  // An unknown accessor fails with errc::not_found.
  Result<TokenInfo> lookup_accessor(const SecretString& token,
                                    std::string_view accessor,
                                    Deadline d);
  // Renewals return the new auth block; read its lease_duration, Vault may
  // grant less than `increment`. Not renewable: errc::not_renewable.
  Result<TokenAuth> renew_self(const SecretString& token,
                               std::optional<Seconds> increment,
                               Deadline d);
  Result<TokenAuth> renew_token(const SecretString& token,
                                const SecretString& target,
                                std::optional<Seconds> increment,
                                Deadline d);
  Result<TokenAuth> renew_accessor(const SecretString& token,
                                   std::string_view accessor,
                                   std::optional<Seconds> increment,
                                   Deadline d);
  Status revoke_self(const SecretString& token, Deadline d);
  // Revoking an unknown token succeeds (Vault answers 204).
  Status revoke_token(const SecretString& token,
                      const SecretString& target,
                      Deadline d);
  // An unknown accessor counts as already revoked and succeeds: accessors
  // vanish when their token is revoked or expires, and the callers
  // (revoke on task end, reconcile loops) want idempotence.
  Status revoke_accessor(const SecretString& token,
                         std::string_view accessor,
                         Deadline d);
  // LIST auth/token/accessors (needs sudo); empty when there are none.
  Result<std::vector<std::string>> list_accessors(const SecretString& token,
                                                  Deadline d);

  // --- Response wrapping (sys/wrapping/*) -------------------------------

  // Wraps `data` (a JSON object) in a new wrapping token.
  Result<WrapInfo> wrap(const SecretString& token,
                        const nlohmann::json& data,
                        Seconds wrap_ttl,
                        Deadline d);
  // Unwraps with the wrapping token in the X-Vault-Token header only, and
  // returns the original response (a 204 stays a 204 with a null body).
  // Used, expired or unknown: errc::wrapping_token_invalid. Never
  // replayed once sent: the token is single-use.
  Result<Response> unwrap(const SecretString& wrapping_token, Deadline d);
  // Reads creation_path/time/ttl without consuming the token.
  Result<WrapLookup> lookup_wrapping(const SecretString& wrapping_token,
                                     Deadline d);
  // Replaces the wrapping token with a new one (same creation_path).
  Result<WrapInfo> rewrap(const SecretString& wrapping_token, Deadline d);

  // --- Leases (sys/leases/*) -------------------------------------------

  // Unknown lease: errc::not_found.
  Result<LeaseInfo> lookup_lease(const SecretString& token,
                                 std::string_view lease_id,
                                 Deadline d);
  // The next path segments under `prefix` (needs sudo); empty if none.
  Result<std::vector<std::string>>
  list_leases(const SecretString& token, std::string_view prefix, Deadline d);
  Result<LeaseRenewal> renew_lease(const SecretString& token,
                                   std::string_view lease_id,
                                   std::optional<Seconds> increment,
                                   Deadline d);
  // Synchronous revoke; an unknown lease succeeds, as in Vault.
  Status revoke_lease(const SecretString& token,
                      std::string_view lease_id,
                      Deadline d);
  // Revokes every lease under `prefix` (needs sudo).
  Status revoke_lease_prefix(const SecretString& token,
                             std::string_view prefix,
                             Deadline d);

  // --- Secrets ---------------------------------------------------------

  // The mount owning `path` and its KV version, cached per mount for
  // Config::mount_cache_ttl. A server without the endpoint (404) means
  // KV v1; 403 fails.
  Result<MountInfo>
  mount_info(const SecretString& token, std::string_view path, Deadline d);
  // Reads a KV secret by its logical path ("secret/app", never with
  // "data/"), v1 or v2 as detected. `version` is for v2 only. A
  // soft-deleted or destroyed v2 version fails with errc::deleted or
  // errc::destroyed, anything else absent with errc::not_found.
  Result<KvSecret> read_kv(const SecretString& token,
                           std::string_view path,
                           std::optional<int> version,
                           Deadline d);
  // Same, in a mount whose type and version the caller knows (a pinned
  // KV version): no sys/internal/ui/mounts call.
  Result<KvSecret> read_kv_in(const SecretString& token,
                              const MountInfo& mount,
                              std::string_view path,
                              std::optional<int> version,
                              Deadline d);
  // Generic read (GET) and write (POST) returning data and lease, for
  // dynamic secrets ("database/creds/ro", "pki/issue/web"). Set
  // options.minting for paths that issue credentials; for a wrapped reply
  // use call_wrapped (a wrap_ttl here is refused).
  Result<Secret> read_secret(const SecretString& token,
                             std::string_view path,
                             const CallOptions& options,
                             Deadline d);
  Result<Secret> write_secret(const SecretString& token,
                              std::string_view path,
                              const nlohmann::json& body,
                              const CallOptions& options,
                              Deadline d);
  // LIST <path>: data.keys, empty when there are none.
  Result<std::vector<std::string>>
  list_keys(const SecretString& token, std::string_view path, Deadline d);

  // --- Auth methods and health -----------------------------------------

  // POST auth/<mount>/login. A wrong pair fails with errc::bad_request
  // (400 "invalid role or secret ID") or errc::permission_denied.
  Result<TokenAuth> login_approle(const SecretString& role_id,
                                  const SecretString& secret_id,
                                  std::string_view mount,
                                  Deadline d);
  // sys/health with every non-active code set to 299, as the official
  // client does: standby, sealed, DR and uninitialised nodes are parsed
  // states (status 299), not errors and not retries.
  Result<Health> health(Deadline d);

private:
  struct Request;
  struct CachedMount;

  // Runs `req` with retries; returns any final HTTP answer, whatever its
  // status, or the error that ended the attempts.
  Result<Response> execute(const Request& req, Deadline deadline);
  Result<Response> attempts(const Request& req, Deadline deadline);
  // The typed error for an answer >= 300, with `req`'s token redacted.
  Error decode(const Request& req, const Response& response) const;
  // execute, then turns an answer >= 300 into a typed error.
  Result<Response> request(const Request& req, Deadline deadline);
  void report(const Request& req,
              const Result<Response>& result,
              std::chrono::steady_clock::time_point started) const;

  Config m_config;
  Status m_valid;
  std::unique_ptr<detail::Transport> m_transport;
  std::atomic<CallObserver*> m_observer{nullptr};
  std::mutex m_mounts_mutex;
  std::vector<CachedMount> m_mounts;
};

// The API path that reads the KV secret at logical `path` in `mount`:
// `path` itself on v1, "<mount>data/<rest>" on v2. Fails with
// errc::invalid_argument when `mount` is not kv or does not hold `path`.
Result<std::string> kv_api_path(const MountInfo& mount, std::string_view path);

} // namespace vsp::vault
