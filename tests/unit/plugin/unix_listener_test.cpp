#include "plugin/unix_listener.hpp"

#include "tests/support/temp_dir.hpp"
#include "tests/support/unix_http_client.hpp"

#include <catch2/catch.hpp>

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace vsp;
using namespace vsp::plugin;
using vsp::test::TempDir;
using vsp::test::UnixHttpClient;

namespace {

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A socket file that nobody listens on, as a crashed process leaves it.
void make_stale_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  ::close(fd);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Sets the umask for one scope, so a test shows the result does not
// depend on it.
class UmaskScope {
public:
  explicit UmaskScope(mode_t mask) : m_old(::umask(mask)) {}
  UmaskScope(const UmaskScope&) = delete;
  UmaskScope& operator=(const UmaskScope&) = delete;
  ~UmaskScope() { ::umask(m_old); }

private:
  mode_t m_old;
};

} // namespace

TEST_CASE("UnixListener::bind creates a listening socket with its mode",
          "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");

  SECTION("default mode 0660 whatever the umask") {
    UmaskScope umask(0);
    auto listener = UnixListener::bind({.path = path});
    REQUIRE(listener.ok());
    const auto st = stat_of(path);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0660);
    CHECK(listener->path() == path);
    CHECK(UnixHttpClient::connect_errno(path) == 0);
  }
  SECTION("a chosen mode") {
    auto listener = UnixListener::bind({.path = path, .mode = 0600});
    REQUIRE(listener.ok());
    CHECK((stat_of(path).st_mode & 07777) == 0600);
  }
  SECTION("no temporary names are left next to the socket") {
    auto listener = UnixListener::bind({.path = path});
    REQUIRE(listener.ok());
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                        std::filesystem::directory_iterator()) == 1);
  }
  SECTION("missing parent directories are made 0755") {
    UmaskScope umask(077);
    const std::string deep = dir.file("a/b/vsp.sock");
    auto listener = UnixListener::bind({.path = deep});
    REQUIRE(listener.ok());
    CHECK((stat_of(dir.file("a")).st_mode & 07777) == 0755);
    CHECK((stat_of(dir.file("a/b")).st_mode & 07777) == 0755);
    CHECK(S_ISSOCK(stat_of(deep).st_mode));
  }
  SECTION("a mode outside 0777 is refused") {
    auto listener = UnixListener::bind({.path = path, .mode = 04660});
    REQUIRE_FALSE(listener.ok());
    CHECK(listener.error().kind == ErrorKind::invalid_input);
    CHECK_FALSE(exists(path));
  }
}

TEST_CASE("UnixListener::bind gives the socket to a group", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");

  SECTION("an existing group") {
    const group* own = ::getgrgid(::getegid());
    REQUIRE(own != nullptr);
    auto listener = UnixListener::bind(
        {.path = path, .mode = 0660, .group = std::string(own->gr_name)});
    REQUIRE(listener.ok());
    CHECK(stat_of(path).st_gid == ::getegid());
  }
  SECTION("a missing group is a clear error and leaves nothing behind") {
    auto listener =
        UnixListener::bind({.path = path,
                            .mode = 0660,
                            .group = std::string("vsp-no-such-group")});
    REQUIRE_FALSE(listener.ok());
    CHECK(listener.error().kind == ErrorKind::invalid_input);
    CHECK(listener.error().message ==
          "group \"vsp-no-such-group\" does not exist");
    CHECK_FALSE(exists(path));
  }
}

TEST_CASE("UnixListener::bind handles what is already at the path",
          "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");

  SECTION("a leftover socket nobody listens on is replaced") {
    make_stale_socket(path);
    REQUIRE(UnixHttpClient::connect_errno(path) == ECONNREFUSED);
    const ino_t stale = stat_of(path).st_ino;

    auto listener = UnixListener::bind({.path = path});
    REQUIRE(listener.ok());
    CHECK(stat_of(path).st_ino != stale);
    CHECK(UnixHttpClient::connect_errno(path) == 0);
  }
  SECTION("a socket someone listens on is refused and left working") {
    auto first = UnixListener::bind({.path = path});
    REQUIRE(first.ok());
    const ino_t inode = stat_of(path).st_ino;

    auto second = UnixListener::bind({.path = path});
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().kind == ErrorKind::unavailable);
    CHECK(second.error().message == "another process is listening on " + path);
    CHECK(stat_of(path).st_ino == inode);
    CHECK(UnixHttpClient::connect_errno(path) == 0);
  }
  SECTION("a regular file is refused and left untouched") {
    std::ofstream(path) << "keep me";
    auto listener = UnixListener::bind({.path = path});
    REQUIRE_FALSE(listener.ok());
    CHECK(listener.error().kind == ErrorKind::invalid_input);
    CHECK(listener.error().message ==
          path + " exists and is not a socket; refusing to replace it");
    CHECK(read_file(path) == "keep me");
  }
  SECTION("a directory is refused") {
    REQUIRE(::mkdir(path.c_str(), 0700) == 0);
    auto listener = UnixListener::bind({.path = path});
    REQUIRE_FALSE(listener.ok());
    CHECK(listener.error().kind == ErrorKind::invalid_input);
  }
}

TEST_CASE("UnixListener::bind refuses unusable paths", "[plugin]") {
  SECTION("relative") {
    auto listener = UnixListener::bind({.path = "vsp.sock"});
    REQUIRE_FALSE(listener.ok());
    CHECK(listener.error().kind == ErrorKind::invalid_input);
  }
  SECTION("too long for a socket address") {
    TempDir dir;
    auto listener =
        UnixListener::bind({.path = dir.file(std::string(120, 'x'))});
    REQUIRE_FALSE(listener.ok());
    CHECK(listener.error().kind == ErrorKind::invalid_input);
    CHECK(listener.error().message.find("socket path too long") == 0);
  }
}

TEST_CASE("UnixListener::close removes only its own socket", "[plugin]") {
  TempDir dir;
  const std::string path = dir.file("vsp.sock");
  auto listener = UnixListener::bind({.path = path});
  REQUIRE(listener.ok());

  SECTION("close removes the file and the listening socket") {
    listener->close();
    CHECK(listener->fd() == -1);
    CHECK_FALSE(exists(path));
    listener->close(); // idempotent
  }
  SECTION("destruction removes the file") {
    { UnixListener moved = std::move(*listener); }
    CHECK_FALSE(exists(path));
  }
  SECTION("a moved-from listener leaves the file to its successor") {
    UnixListener moved = std::move(*listener);
    listener->close();
    CHECK(exists(path));
    CHECK(moved.fd() >= 0);
  }
  SECTION("a file put there by someone else is left alone") {
    const std::string other = dir.file("other");
    std::ofstream(other) << "successor";
    REQUIRE(::rename(other.c_str(), path.c_str()) == 0);
    listener->close();
    CHECK(read_file(path) == "successor");
  }
}
