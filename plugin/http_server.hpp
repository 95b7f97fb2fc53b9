#pragma once

#include "core/util/result.hpp"
#include "plugin/unix_listener.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace vsp::plugin {

// One request as the application sees it.
struct HttpRequest {
  std::string method;
  std::string path; // as sent, without the query string
  std::string body;
  // The body was longer than ServerOptions::max_body_bytes: it was read and
  // dropped, and `body` is empty.
  bool body_too_large = false;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  // May hold a secret: the server sends it without copying and wipes it
  // once the request is over.
  std::string body;
};

// Called on a worker thread, for every request whatever its method or path.
// Must not throw: an exception becomes a 500 with {"Err": "internal error"}
// and a log line. It may block (a worker is held meanwhile).
using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct ServerOptions {
  std::size_t max_body_bytes = 1 << 20;
  // At most this many handlers run at once, each on a thread of its own;
  // further requests wait in arrival order.
  unsigned workers = 8;
  // Threads started up front. Another is started when a request finds
  // every thread busy, until there are `workers`; they are kept, so a
  // steady load creates no threads.
  unsigned min_workers = 2;
  // How long stop() waits for requests already received; those still
  // running then are answered 503.
  std::chrono::milliseconds drain_timeout{10000};
  // Connections beyond this are closed at once (and logged).
  unsigned max_connections = 1024;
  // A connection with no traffic for this long is closed; 0 never. A
  // connection waiting for its handler is never idle.
  std::chrono::seconds idle_timeout{300};
};

// Counters for metrics; each is read atomically, not all at one instant.
struct ServerStats {
  std::uint64_t requests_served = 0; // responses sent in full
  std::size_t in_flight = 0; // requests begun (headers in), not yet answered
  std::size_t connections_open = 0;
  std::size_t workers = 0; // threads started so far
};

// An HTTP/1.1 server (libmicrohttpd) on a Unix socket. One internal thread
// accepts and reads; handlers run on a pool of workers (grown on demand up
// to a cap) while their connection is suspended, so a slow handler blocks
// no other connection.
class HttpServer {
public:
  // Starts serving on `listener`, which the server then owns. Fails with
  // `invalid_input` for a closed listener, an empty handler or zero
  // workers/connections, `internal` if libmicrohttpd cannot start.
  static Result<std::unique_ptr<HttpServer>>
  start(UnixListener listener, Handler handler, ServerOptions options);

  // Refuses new connections at once (ECONNREFUSED), lets requests already
  // received, or on connections already accepted, finish (up to
  // drain_timeout; those still unanswered then get a 503), stops the
  // daemon, removes the socket file, then waits for handlers still running
  // to return. Idempotent; must not be called from a handler.
  void stop();

  ServerStats stats() const;

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer(); // stop()

  class Impl;

private:
  explicit HttpServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> m_impl;
};

} // namespace vsp::plugin
