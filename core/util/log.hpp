#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace vsp::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

// Parses "error", "warn", "info" or "debug"; returns false on anything else.
bool parse_level(std::string_view text, Level& out);

// The current threshold; messages above it are neither formatted nor written.
Level level();
void set_level(Level level);

inline bool enabled(Level l) {
  return static_cast<int>(l) <= static_cast<int>(level());
}

// Writes one finished line: "<utc time> <level> <component>: <message>".
// Errors and warnings go to stderr, the rest to stdout, each in one write(2)
// so lines from different threads never interleave.
void write(Level level, std::string_view component, std::string_view message);

// A value for a key=value field: bare when it is a plain word, otherwise
// in double quotes with '"' and '\\' escaped, so a value taken from a
// request (a secret name with a space and "reason=", say) cannot pose as
// another field. Control characters are escaped when the line is written.
std::string value(std::string_view text);

// `text` with every control character (newline and tab included) shown
// as \xHH, as log lines show them.
std::string escape_controls(std::string_view text);

// Where lines go; tests point these at pipes or files. -1 restores stdio.
void set_fds(int out_fd, int err_fd);

template <typename... Args>
void emit(Level l,
          std::string_view component,
          fmt::format_string<Args...> format,
          Args&&... args) {
  if (!enabled(l)) {
    return;
  }
  write(l, component, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void error(std::string_view c, fmt::format_string<Args...> f, Args&&... a) {
  emit(Level::error, c, f, std::forward<Args>(a)...);
}
template <typename... Args>
void warn(std::string_view c, fmt::format_string<Args...> f, Args&&... a) {
  emit(Level::warn, c, f, std::forward<Args>(a)...);
}
template <typename... Args>
void info(std::string_view c, fmt::format_string<Args...> f, Args&&... a) {
  emit(Level::info, c, f, std::forward<Args>(a)...);
}
template <typename... Args>
void debug(std::string_view c, fmt::format_string<Args...> f, Args&&... a) {
  emit(Level::debug, c, f, std::forward<Args>(a)...);
}

} // namespace vsp::log
