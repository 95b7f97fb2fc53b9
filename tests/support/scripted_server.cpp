#include "tests/support/scripted_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace vsp::test {
namespace {

const char* reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 204:
    return "No Content";
  case 307:
    return "Temporary Redirect";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 412:
    return "Precondition Failed";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  default:
    return "Status";
  }
}

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

} // namespace

Reply Reply::json(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

Reply Reply::empty(int status) {
  Reply r;
  r.status = status;
  return r;
}

Reply Reply::act(Action action) {
  Reply r;
  r.action = action;
  return r;
}

ScriptedServer::ScriptedServer(Handler handler)
    : m_handler(std::move(handler)) {
  m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (m_listen < 0 ||
      ::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(m_listen, 64) != 0) {
    throw std::runtime_error("scripted server: cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len);
  m_port = ntohs(addr.sin_port);
  if (::pipe2(m_stop_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("scripted server: pipe");
  }
  m_acceptor = std::thread([this] { accept_loop(); });
}

ScriptedServer::ScriptedServer(Handler handler, const std::string& unix_path)
    : m_handler(std::move(handler)), m_unix_path(unix_path) {
  m_listen = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (unix_path.size() >= sizeof addr.sun_path) {
    throw std::runtime_error("scripted server: socket path too long");
  }
  std::memcpy(addr.sun_path, unix_path.c_str(), unix_path.size() + 1);
  ::unlink(unix_path.c_str());
  if (m_listen < 0 ||
      ::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(m_listen, 64) != 0) {
    throw std::runtime_error("scripted server: cannot listen on socket");
  }
  if (::pipe2(m_stop_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("scripted server: pipe");
  }
  m_acceptor = std::thread([this] { accept_loop(); });
}

ScriptedServer::~ScriptedServer() {
  m_stop = true;
  (void)!::write(m_stop_pipe[1], "x", 1);
  m_acceptor.join();
  {
    const std::lock_guard<std::mutex> guard(m_mutex);
    for (const int fd : m_fds) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  for (auto& t : m_threads) {
    t.join();
  }
  for (const int fd : m_fds) {
    ::close(fd);
  }
  ::close(m_listen);
  ::close(m_stop_pipe[0]);
  ::close(m_stop_pipe[1]);
  if (!m_unix_path.empty()) {
    ::unlink(m_unix_path.c_str());
  }
}

std::string ScriptedServer::address() const {
  if (!m_unix_path.empty()) {
    return "unix://" + m_unix_path;
  }
  return "http://127.0.0.1:" + std::to_string(m_port);
}

std::vector<SeenRequest> ScriptedServer::seen() const {
  const std::lock_guard<std::mutex> guard(m_mutex);
  return m_seen;
}

void ScriptedServer::accept_loop() {
  while (!m_stop) {
    pollfd fds[2] = {{m_listen, POLLIN, 0}, {m_stop_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN)) {
      continue;
    }
    const int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    const int index = ++m_connections;
    const std::lock_guard<std::mutex> guard(m_mutex);
    m_fds.push_back(fd);
    m_threads.emplace_back([this, fd, index] { serve(fd, index); });
  }
}

// Waits for input or stop; false on stop.
bool ScriptedServer::wait_readable(int fd) const {
  while (!m_stop) {
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, 50);
    if (n > 0) {
      return true;
    }
  }
  return false;
}

void ScriptedServer::serve(int fd, int index) {
  std::string in;
  char buf[65536];
  while (!m_stop) {
    // Headers.
    std::size_t end = std::string::npos;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      if (!wait_readable(fd)) {
        return;
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        return; // the fd stays open until the destructor closes it
      }
      in.append(buf, static_cast<std::size_t>(n));
    }
    SeenRequest req;
    req.connection = index;
    const std::string head = in.substr(0, end);
    in.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const auto sp1 = first.find(' ');
    const auto sp2 = first.rfind(' ');
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    while (line_end != std::string::npos && line_end < head.size()) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(
          start,
          line_end == std::string::npos ? std::string::npos : line_end - start);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        req.headers[lower(line.substr(0, colon))] = value;
      }
    }
    std::size_t length = 0;
    if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
      length = std::stoul(it->second);
    }
    while (in.size() < length) {
      if (!wait_readable(fd)) {
        return;
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        return;
      }
      in.append(buf, static_cast<std::size_t>(n));
    }
    req.body = in.substr(0, length);
    in.erase(0, length);
    ++m_requests;
    {
      const std::lock_guard<std::mutex> guard(m_mutex);
      m_seen.push_back(req);
    }

    const Reply reply = m_handler(req);
    const auto until = std::chrono::steady_clock::now() + reply.delay;
    while (!m_stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    switch (reply.action) {
    case Reply::Action::reset: {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      ::shutdown(fd, SHUT_RDWR);
      return;
    }
    case Reply::Action::close:
      ::shutdown(fd, SHUT_RDWR);
      return;
    case Reply::Action::hang:
      while (!m_stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return;
    default:
      break;
    }
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                      reason(reply.status) + "\r\n";
    for (const auto& [name, value] : reply.headers) {
      out.append(name).append(": ").append(value).append("\r\n");
    }
    if (reply.action == Reply::Action::stream) {
      if (reply.stream_bytes > 0) {
        out += "Content-Length: " + std::to_string(reply.stream_bytes) + "\r\n";
      } else {
        out += "Transfer-Encoding: chunked\r\n";
      }
      out += "\r\n";
      if (!send_all(fd, out.data(), out.size())) {
        return;
      }
      const std::string zeros(65536, '0');
      std::string chunk = "10000\r\n";
      chunk += zeros;
      chunk += "\r\n";
      std::uint64_t sent = 0;
      while (!m_stop &&
             (reply.stream_bytes == 0 || sent < reply.stream_bytes)) {
        const bool ok = reply.stream_bytes > 0
                            ? send_all(fd, zeros.data(), zeros.size())
                            : send_all(fd, chunk.data(), chunk.size());
        if (!ok) {
          break;
        }
        sent += zeros.size();
        m_streamed += zeros.size();
      }
      ::shutdown(fd, SHUT_RDWR);
      return;
    }
    const std::size_t declared = reply.action == Reply::Action::truncate
                                     ? reply.body.size() + 100
                                     : reply.body.size();
    if (reply.status != 204 && reply.status != 304) {
      out += "Content-Length: " + std::to_string(declared) + "\r\n";
    }
    if (!reply.keep_alive) {
      out += "Connection: close\r\n";
    }
    out += "\r\n";
    out += reply.body;
    if (!send_all(fd, out.data(), out.size())) {
      return;
    }
    if (reply.action == Reply::Action::truncate || !reply.keep_alive) {
      ::shutdown(fd, SHUT_RDWR);
      return;
    }
  }
}

} // namespace vsp::test
