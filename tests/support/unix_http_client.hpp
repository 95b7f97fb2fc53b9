#pragma once

#include "core/util/result.hpp"

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace vsp::test {

// One HTTP response as read off the wire.
struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers; // names lowercased
  std::string body;

  // The header's value, or "" when absent; `name` in lowercase.
  std::string header(const std::string& name) const;
};

// A deliberately simple blocking HTTP/1.1 client over a Unix socket, for
// tests: it sends bytes exactly as given and reads one response at a time,
// so one connection can carry many requests (keep-alive).
class UnixHttpClient {
public:
  // Connects to the socket at `path`; the error names the errno.
  static Result<UnixHttpClient> connect(const std::string& path);
  // The errno of connecting to `path`, or 0 if it worked (then closed).
  static int connect_errno(const std::string& path);

  UnixHttpClient(UnixHttpClient&& other) noexcept;
  UnixHttpClient& operator=(UnixHttpClient&& other) noexcept;
  UnixHttpClient(const UnixHttpClient&) = delete;
  UnixHttpClient& operator=(const UnixHttpClient&) = delete;
  ~UnixHttpClient();

  // Sends `bytes` as they are (no SIGPIPE if the server has gone).
  Status send(std::string_view bytes);
  // Reads one response, framed by Content-Length (else by EOF). Fails on
  // timeout, or if the connection ends before a whole response.
  Result<RawResponse>
  read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // send() then read_response().
  Result<RawResponse>
  round_trip(std::string_view request,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Whether the server closes the connection (EOF or reset) within
  // `timeout`; bytes arriving meanwhile are kept for read_response().
  bool wait_closed(std::chrono::milliseconds timeout);
  void close();

private:
  explicit UnixHttpClient(int fd) : m_fd(fd) {}

  enum class Fill { data, eof, timeout, error };
  Fill fill(std::chrono::steady_clock::time_point deadline);

  int m_fd = -1;
  std::string m_buffer; // received, not yet consumed
};

// The bytes of a request as Docker's daemon sends it to a plugin: POST, an
// empty Host, Go's User-Agent, a Content-Length, Docker's Accept value,
// gzip accepted, no Content-Type.
std::string docker_request(std::string_view path, std::string_view body);

} // namespace vsp::test
