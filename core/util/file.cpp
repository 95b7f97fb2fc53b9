#include "core/util/file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace vsp {
namespace {

Error os_error(const std::string& path, int err) {
  const ErrorKind kind = err == ENOENT || err == ENOTDIR ? ErrorKind::not_found
                         : err == EACCES || err == EPERM ? ErrorKind::denied
                                                         : ErrorKind::internal;
  return Error(
      kind, "file_unreadable", fmt::format("{}: {}", path, std::strerror(err)));
}

const char* type_name(mode_t mode) {
  if (S_ISDIR(mode)) {
    return "a directory";
  }
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISCHR(mode) || S_ISBLK(mode)) {
    return "a device";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  return "not a regular file";
}

// Closes the descriptor however the read ends.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

} // namespace

Result<std::string> read_regular_file(const std::string& path,
                                      std::size_t limit) {
  const Fd file{
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
  if (file.fd < 0) {
    return os_error(path, errno);
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) {
    return os_error(path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(
        ErrorKind::invalid_input,
        "file_not_regular",
        fmt::format("{}: is {}, not a file", path, type_name(st.st_mode)));
  }
  const auto too_large = [&] {
    return Error(ErrorKind::invalid_input,
                 "file_too_large",
                 fmt::format("{}: larger than {} bytes", path, limit));
  };
  if (static_cast<std::size_t>(st.st_size) > limit) {
    return too_large();
  }
  std::string text;
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::read(file.fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return os_error(path, errno);
    }
    if (n == 0) {
      return text;
    }
    text.append(buffer.data(), static_cast<std::size_t>(n));
    if (text.size() > limit) {
      return too_large(); // it grew while being read
    }
  }
}

} // namespace vsp
