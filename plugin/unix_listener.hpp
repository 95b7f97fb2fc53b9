#pragma once

#include "core/util/result.hpp"

#include <sys/types.h>

#include <optional>
#include <string>

namespace vsp::plugin {

// Where and how the plugin's socket is created.
struct ListenOptions {
  std::string path;
  // Permission bits of the socket file; nobody else can reach the socket
  // before they are set.
  mode_t mode = 0660;
  // Group given the socket file; unset keeps the process's group.
  std::optional<std::string> group = std::nullopt;
};

// A listening Unix stream socket that owns its fd and its path.
class UnixListener {
public:
  // Creates the socket at `options.path` (making missing parent directories
  // 0755) with its final mode and group already set, and listens on it. A
  // socket left over by a crashed process (connect is refused) is replaced.
  // Fails with `unavailable` ("another process is listening on <path>") if
  // something answers there, `invalid_input` if the path is not a socket
  // (it is left alone), the group does not exist or the path is too long,
  // `internal` when a system call fails.
  static Result<UnixListener> bind(const ListenOptions& options);

  UnixListener(UnixListener&& other) noexcept;
  UnixListener& operator=(UnixListener&& other) noexcept;
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;
  ~UnixListener(); // close()

  // The listening fd (non-blocking, close-on-exec); -1 once closed.
  int fd() const { return m_fd; }
  const std::string& path() const { return m_path; }

  // Closes the fd and removes the socket file, but only if the path still
  // names the socket this listener created. Idempotent.
  void close();

private:
  UnixListener(int fd, std::string path, dev_t dev, ino_t ino);

  int m_fd = -1;
  std::string m_path;
  // Identity of the socket file, so close() never removes a successor's.
  dev_t m_dev = 0;
  ino_t m_ino = 0;
};

} // namespace vsp::plugin
