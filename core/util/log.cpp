#include "core/util/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <string>

namespace vsp::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<int> g_out_fd{STDOUT_FILENO};
std::atomic<int> g_err_fd{STDERR_FILENO};

const char* level_name(Level l) {
  switch (l) {
  case Level::error:
    return "error";
  case Level::warn:
    return "warn";
  case Level::info:
    return "info";
  case Level::debug:
    return "debug";
  }
  return "info";
}

std::string utc_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = time_point_cast<seconds>(now);
  const auto ms = duration_cast<milliseconds>(now - secs).count();
  const std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  char buf[32];
  if (gmtime_r(&t, &tm) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    return fmt::format("@{}", t); // a clock beyond std::tm's years
  }
  return fmt::format("{}.{:03}Z", buf, ms);
}

// Control characters in a message (a hostile label, say) would let one
// line pose as several; they are shown escaped instead.
void append_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
}

void write_all(int fd, const std::string& line) {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return; // nowhere left to report a failing log
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

} // namespace

std::string value(std::string_view text) {
  const bool plain =
      !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7f && c != '"' && c != '\\' && c != '=';
      });
  if (plain) {
    return std::string(text);
  }
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
  return out;
}

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped(out, text);
  return out;
}

bool parse_level(std::string_view text, Level& out) {
  for (const Level l : {Level::error, Level::warn, Level::info, Level::debug}) {
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  }
  if (text == "warning") {
    out = Level::warn;
    return true;
  }
  return false;
}

Level level() {
  return g_level.load(std::memory_order_relaxed);
}

void set_level(Level l) {
  g_level.store(l, std::memory_order_relaxed);
}

void set_fds(int out_fd, int err_fd) {
  g_out_fd = out_fd < 0 ? STDOUT_FILENO : out_fd;
  g_err_fd = err_fd < 0 ? STDERR_FILENO : err_fd;
}

void write(Level l, std::string_view component, std::string_view message) {
  std::string line = utc_now();
  line += ' ';
  line += level_name(l);
  line += ' ';
  line += component;
  line += ": ";
  append_escaped(line, message);
  line += '\n';
  const bool to_err = l == Level::error || l == Level::warn;
  write_all(to_err ? g_err_fd.load() : g_out_fd.load(), line);
}

} // namespace vsp::log
