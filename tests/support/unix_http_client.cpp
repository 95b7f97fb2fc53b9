#include "tests/support/unix_http_client.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace vsp::test {
namespace {

using Clock = std::chrono::steady_clock;

int open_connection(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) !=
      0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return text;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Parses the status line and headers of `head` (without the blank line).
Result<RawResponse> parse_head(std::string_view head) {
  RawResponse response;
  auto line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  const auto space = status_line.find(' ');
  if (status_line.substr(0, 5) != "HTTP/" || space == std::string_view::npos) {
    return Error(ErrorKind::invalid_input,
                 fmt::format("bad status line: {}", status_line));
  }
  const std::string_view code = status_line.substr(space + 1, 3);
  if (std::from_chars(code.data(), code.data() + code.size(), response.status)
          .ec != std::errc()) {
    return Error(ErrorKind::invalid_input,
                 fmt::format("bad status line: {}", status_line));
  }
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Error(ErrorKind::invalid_input,
                   fmt::format("bad header line: {}", line));
    }
    response.headers[lowercase(std::string(line.substr(0, colon)))] =
        std::string(trim(line.substr(colon + 1)));
  }
  return response;
}

} // namespace

std::string RawResponse::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

Result<UnixHttpClient> UnixHttpClient::connect(const std::string& path) {
  const int fd = open_connection(path);
  if (fd < 0) {
    return Error(ErrorKind::unavailable,
                 fmt::format("connect {}: {}", path, std::strerror(errno)));
  }
  return UnixHttpClient(fd);
}

int UnixHttpClient::connect_errno(const std::string& path) {
  const int fd = open_connection(path);
  if (fd < 0) {
    return errno;
  }
  ::close(fd);
  return 0;
}

UnixHttpClient::UnixHttpClient(UnixHttpClient&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_buffer(std::move(other.m_buffer)) {
}

UnixHttpClient& UnixHttpClient::operator=(UnixHttpClient&& other) noexcept {
  if (this != &other) {
    close();
    m_fd = std::exchange(other.m_fd, -1);
    m_buffer = std::move(other.m_buffer);
  }
  return *this;
}

UnixHttpClient::~UnixHttpClient() {
  close();
}

void UnixHttpClient::close() {
  if (m_fd >= 0) {
    ::close(std::exchange(m_fd, -1));
  }
  m_buffer.clear();
}

Status UnixHttpClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return Error(ErrorKind::unavailable,
                   fmt::format("send: {}", std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

UnixHttpClient::Fill UnixHttpClient::fill(Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) {
      return Fill::timeout;
    }
    pollfd pfd{m_fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready < 0) {
      return Fill::error;
    }
    if (ready == 0) {
      return Fill::timeout;
    }
    char chunk[65536];
    const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return errno == ECONNRESET ? Fill::eof : Fill::error;
    }
    if (n == 0) {
      return Fill::eof;
    }
    m_buffer.append(chunk, static_cast<std::size_t>(n));
    return Fill::data;
  }
}

Result<RawResponse>
UnixHttpClient::read_response(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto failure = [](Fill why) {
    return Error(why == Fill::timeout ? ErrorKind::timeout
                                      : ErrorKind::unavailable,
                 why == Fill::timeout ? "no response in time"
                                      : "connection ended before a response");
  };

  std::size_t head_end;
  while ((head_end = m_buffer.find("\r\n\r\n")) == std::string::npos) {
    if (const Fill got = fill(deadline); got != Fill::data) {
      return failure(got);
    }
  }
  auto response = parse_head(std::string_view(m_buffer).substr(0, head_end));
  if (!response) {
    return response.error();
  }
  m_buffer.erase(0, head_end + 4);

  const std::string length_text = response->header("content-length");
  if (length_text.empty()) {
    // No length: the body runs to the end of the connection.
    Fill got;
    while ((got = fill(deadline)) == Fill::data) {
    }
    if (got != Fill::eof) {
      return failure(got);
    }
    response->body = std::exchange(m_buffer, {});
    return response;
  }
  std::size_t length = 0;
  std::from_chars(
      length_text.data(), length_text.data() + length_text.size(), length);
  while (m_buffer.size() < length) {
    if (const Fill got = fill(deadline); got != Fill::data) {
      return failure(got);
    }
  }
  response->body = m_buffer.substr(0, length);
  m_buffer.erase(0, length);
  return response;
}

Result<RawResponse>
UnixHttpClient::round_trip(std::string_view request,
                           std::chrono::milliseconds timeout) {
  if (auto sent = send(request); !sent) {
    return sent.error();
  }
  return read_response(timeout);
}

bool UnixHttpClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    switch (fill(deadline)) {
    case Fill::data:
      continue;
    case Fill::eof:
    case Fill::error:
      return true;
    case Fill::timeout:
      return false;
    }
  }
}

std::string docker_request(std::string_view path, std::string_view body) {
  return fmt::format("POST {} HTTP/1.1\r\n"
                     "Host: \r\n"
                     "User-Agent: Go-http-client/1.1\r\n"
                     "Content-Length: {}\r\n"
                     "Accept: application/vnd.docker.plugins.v1.2+json\r\n"
                     "Accept-Encoding: gzip\r\n"
                     "\r\n"
                     "{}",
                     path,
                     body.size(),
                     body);
}

} // namespace vsp::test
