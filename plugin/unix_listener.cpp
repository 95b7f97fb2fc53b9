#include "plugin/unix_listener.hpp"

#include "core/util/log.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

namespace vsp::plugin {
namespace {

constexpr std::string_view k_component = "listener";
// The socket is born in a private directory next to its final path.
constexpr std::string_view k_private_dir_template = "/.vsp-XXXXXX";
constexpr std::string_view k_private_name = "/s";

Error sys_error(const std::string& what, int err) {
  return Error(ErrorKind::internal, what + ": " + std::strerror(err));
}

// Closes the fd it holds unless released.
class FdGuard {
public:
  explicit FdGuard(int fd) : m_fd(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }

private:
  int m_fd;
};

// A mode-0700 directory; removed, with the socket name inside, on exit.
class PrivateDir {
public:
  static Result<PrivateDir> create(const std::string& parent) {
    std::string name = parent + std::string(k_private_dir_template);
    if (::mkdtemp(name.data()) == nullptr) {
      return sys_error("cannot create a directory in " + parent, errno);
    }
    return PrivateDir(std::move(name));
  }
  PrivateDir(PrivateDir&& other) noexcept
      : m_path(std::exchange(other.m_path, {})) {}
  PrivateDir& operator=(PrivateDir&&) = delete;
  ~PrivateDir() {
    if (!m_path.empty()) {
      ::unlink(socket_path().c_str());
      ::rmdir(m_path.c_str());
    }
  }
  std::string socket_path() const {
    return m_path + std::string(k_private_name);
  }

private:
  explicit PrivateDir(std::string path) : m_path(std::move(path)) {}
  std::string m_path;
};

std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return Error(ErrorKind::invalid_input,
                 "path_too_long",
                 "socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

Status check_path(const std::string& path) {
  if (path.empty() || path.front() != '/' || path.back() == '/') {
    return Error(ErrorKind::invalid_input,
                 "socket path must be an absolute file path: \"" + path + "\"");
  }
  // The private name must fit as well as the final one.
  const std::string longest = parent_of(path) +
                              std::string(k_private_dir_template) +
                              std::string(k_private_name);
  for (const auto& candidate : {path, longest}) {
    if (auto addr = unix_address(candidate); !addr) {
      return Error(addr.error().kind,
                   addr.error().code,
                   "socket path too long: " + path);
    }
  }
  return ok_status();
}

Result<gid_t> lookup_group(const std::string& name) {
  std::vector<char> buffer(1024);
  for (;;) {
    group entry{};
    group* found = nullptr;
    const int err = ::getgrnam_r(
        name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (err == ERANGE) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (err != 0) {
      return sys_error("cannot look up group \"" + name + "\"", err);
    }
    if (found == nullptr) {
      return Error(ErrorKind::invalid_input,
                   "no_such_group",
                   "group \"" + name + "\" does not exist");
    }
    return found->gr_gid;
  }
}

// mkdir -p with mode 0755 whatever the umask, for directories it creates.
Status make_directories(const std::string& dir) {
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) == 0) {
      if (::chmod(prefix.c_str(), 0755) != 0) {
        return sys_error("cannot set the mode of " + prefix, errno);
      }
    } else if (errno != EEXIST) {
      return sys_error("cannot create directory " + prefix, errno);
    }
  }
  return ok_status();
}

// Whether a process accepts connections on the socket at `path`.
Result<bool> someone_listens(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) {
    return addr.error();
  }
  FdGuard probe(
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (probe.get() < 0) {
    return sys_error("cannot create a socket", errno);
  }
  if (::connect(probe.get(),
                reinterpret_cast<const sockaddr*>(&*addr),
                sizeof *addr) == 0) {
    return true;
  }
  switch (errno) {
  case EAGAIN: // its backlog is full: it is very much alive
    return true;
  case ECONNREFUSED:
  case ENOENT:
    return false;
  default:
    return sys_error("cannot probe existing socket " + path, errno);
  }
}

// Leaves the way free for a new socket at `path`, or says why not.
Status check_existing(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return ok_status();
    }
    return sys_error("cannot inspect " + path, errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Error(ErrorKind::invalid_input,
                 "not_socket",
                 path + " exists and is not a socket; refusing to replace it");
  }
  auto listening = someone_listens(path);
  if (!listening) {
    return listening.error();
  }
  if (*listening) {
    return Error(ErrorKind::unavailable,
                 "in_use",
                 "another process is listening on " + path);
  }
  log::info(k_component, "replacing stale socket path={}", path);
  return ok_status();
}

Status set_owner_and_mode(const std::string& path,
                          const std::optional<gid_t>& gid,
                          mode_t mode) {
  if (gid && ::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
    return sys_error("cannot give the socket to group " + std::to_string(*gid),
                     errno);
  }
  if (::chmod(path.c_str(), mode) != 0) {
    return sys_error("cannot set the socket's mode", errno);
  }
  return ok_status();
}

} // namespace

Result<UnixListener> UnixListener::bind(const ListenOptions& options) {
  const std::string& path = options.path;
  if (auto st = check_path(path); !st) {
    return st.error();
  }
  if ((options.mode & ~mode_t{0777}) != 0) {
    return Error(ErrorKind::invalid_input, "socket mode must be within 0777");
  }
  std::optional<gid_t> gid;
  if (options.group) {
    auto found = lookup_group(*options.group);
    if (!found) {
      return found.error();
    }
    gid = *found;
  }
  const std::string parent = parent_of(path);
  if (auto st = make_directories(parent); !st) {
    return st.error();
  }
  if (auto st = check_existing(path); !st) {
    return st.error();
  }

  // Bound inside a private directory, the socket is out of reach until its
  // mode and group are final; rename() then publishes it atomically.
  auto dir = PrivateDir::create(parent);
  if (!dir) {
    return dir.error();
  }
  const std::string private_path = dir->socket_path();
  auto addr = unix_address(private_path);
  if (!addr) {
    return addr.error();
  }
  FdGuard fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return sys_error("cannot create a socket", errno);
  }
  if (::bind(fd.get(),
             reinterpret_cast<const sockaddr*>(&*addr),
             sizeof *addr) != 0) {
    return sys_error("cannot bind a socket in " + parent, errno);
  }
  if (auto st = set_owner_and_mode(private_path, gid, options.mode); !st) {
    return st.error();
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) {
    return sys_error("cannot listen on " + path, errno);
  }
  struct stat st {};
  if (::lstat(private_path.c_str(), &st) != 0) {
    return sys_error("cannot inspect the new socket", errno);
  }
  if (::rename(private_path.c_str(), path.c_str()) != 0) {
    return sys_error("cannot move the socket to " + path, errno);
  }

  log::debug(k_component,
             "listening path={} mode={:o} gid={}",
             path,
             options.mode,
             gid ? std::to_string(*gid) : std::string("-"));
  return UnixListener(fd.release(), path, st.st_dev, st.st_ino);
}

UnixListener::UnixListener(int fd, std::string path, dev_t dev, ino_t ino)
    : m_fd(fd), m_path(std::move(path)), m_dev(dev), m_ino(ino) {}

UnixListener::UnixListener(UnixListener&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)),
      m_path(std::exchange(other.m_path, {})), m_dev(other.m_dev),
      m_ino(other.m_ino) {}

UnixListener& UnixListener::operator=(UnixListener&& other) noexcept {
  if (this != &other) {
    close();
    m_fd = std::exchange(other.m_fd, -1);
    m_path = std::exchange(other.m_path, {});
    m_dev = other.m_dev;
    m_ino = other.m_ino;
  }
  return *this;
}

UnixListener::~UnixListener() {
  close();
}

void UnixListener::close() {
  if (m_fd >= 0) {
    ::close(std::exchange(m_fd, -1));
  }
  if (m_path.empty()) {
    return;
  }
  const std::string path = std::exchange(m_path, {});
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return; // already gone
  }
  if (st.st_dev != m_dev || st.st_ino != m_ino) {
    log::info(k_component,
              "leaving socket path={} alone: it was replaced by another",
              path);
    return;
  }
  if (::unlink(path.c_str()) != 0) {
    log::warn(k_component,
              "cannot remove socket path={} error={}",
              path,
              std::strerror(errno));
  }
}

} // namespace vsp::plugin
