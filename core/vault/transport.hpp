#pragma once

#include "core/util/secret_string.hpp"
#include "core/vault/config.hpp"
#include "core/vault/types.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

// Internal to core/vault: one HTTP exchange over a pooled libcurl handle.
// Client builds the requests and owns the retry policy.
namespace vsp::vault::detail {

struct HttpRequest {
  Method method = Method::get;
  std::string url;         // absolute
  std::string unix_socket; // non-empty: connect to this socket instead
  std::string connect_to;  // a CURLOPT_CONNECT_TO entry (TLS server name)
  std::vector<std::string> headers;    // lines without credentials
  const SecretString* token = nullptr; // sent as X-Vault-Token only
  const SecretString* body = nullptr;  // JSON text
  Minting minting = Minting::no;
  std::chrono::milliseconds timeout{0}; // the whole attempt
  std::chrono::milliseconds connect_timeout{0};
};

// Why an exchange produced no usable HTTP answer.
enum class Failure {
  none,
  connect,         // refused, unresolvable, connect timed out
  timeout,         // the attempt's time ran out after connecting
  tls,             // handshake, verification, a TLS alert
  connection_lost, // reset, closed before an answer
  truncated,       // closed in the middle of the body
  too_large,       // over the body cap; the transfer was cut off
  replay_blocked,  // libcurl wanted to resend a minting request
  bad_reply,       // not HTTP
  cancelled,       // Transport::cancel() cut it off, or came before
  local,           // a setup problem on our side
};

struct HttpResult {
  Failure failure = Failure::none;
  // The request may have reached the server: libcurl had a connection and
  // was about to write (or had written) it.
  bool sent = false;
  bool new_connection = false; // false: an idle keep-alive one was reused
  std::string detail;          // libcurl's explanation
  long status = 0;
  std::string body; // wiped when the result goes away
  std::string redirect_url;
  std::string retry_after;
  std::chrono::milliseconds elapsed{0};

  HttpResult() = default;
  HttpResult(HttpResult&& other) noexcept = default;
  HttpResult& operator=(HttpResult&& other) noexcept;
  HttpResult(const HttpResult&) = delete;
  HttpResult& operator=(const HttpResult&) = delete;
  ~HttpResult();
};

// Owns the libcurl state: a LIFO pool of easy handles, each keeping its
// own keep-alive connection, so sequential calls reuse one connection and
// concurrent calls use several without waiting for each other; plus a
// share handle for DNS and TLS sessions. libcurl documents its shared
// connection cache as unsupported across concurrent threads, hence the
// per-handle connections.
class Transport {
public:
  Transport(TlsOptions tls,
            std::string proxy,
            std::size_t max_body,
            std::size_t max_idle);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Performs one exchange. Never throws; never follows redirects.
  HttpResult perform(const HttpRequest& request);

  // Cuts off every exchange in progress and fails every later one with
  // Failure::cancelled, at once; wakes every wait_unless_cancelled().
  void cancel();
  // Sleeps `wait`; false, at once, if the transport is or gets cancelled.
  bool wait_unless_cancelled(std::chrono::milliseconds wait);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace vsp::vault::detail
