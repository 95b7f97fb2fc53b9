#include "cli/secret_input.hpp"

#include "cli/command.hpp"

#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>

namespace vsp::cli {
namespace {

constexpr std::size_t k_max_secret_bytes = std::size_t{64} * 1024;

std::string trimmed(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    wipe(text);
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  std::string out = text.substr(first, last - first + 1);
  wipe(text);
  return out;
}

std::string read_stream(std::istream& in, const std::string& from) {
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > k_max_secret_bytes) {
      wipe(text);
      throw CommandError(
          k_exit_usage,
          fmt::format("{} is larger than {} bytes", from, k_max_secret_bytes));
    }
  }
  std::fill(std::begin(buf), std::end(buf), '\0');
  return text;
}

// One line from a terminal without echo.
std::string prompt(const char* what) {
  std::cerr << fmt::format("{}: ", what) << std::flush;
  termios saved{};
  const bool tty = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << '\n';
  }
  return line;
}

} // namespace

SecretString read_secret_input(const SecretInput& input, const char* what) {
  std::string text;
  if (!input.file.empty() && input.file != "-") {
    std::ifstream in(input.file, std::ios::binary);
    if (!in) {
      throw CommandError(k_exit_usage,
                         fmt::format("cannot read {}", input.file));
    }
    text = read_stream(in, input.file);
  } else if (!input.argument.empty()) {
    std::cerr << fmt::format("vsp: warning: a {} on the command line shows "
                             "in ps and shell history; prefer stdin or "
                             "--token-file\n",
                             what);
    text = input.argument;
  } else if (isatty(STDIN_FILENO) != 0) {
    text = prompt(what);
  } else {
    text = read_stream(std::cin, "stdin");
  }
  SecretString secret(trimmed(std::move(text)));
  if (secret.empty()) {
    throw CommandError(k_exit_usage, fmt::format("no {} given", what));
  }
  return secret;
}

} // namespace vsp::cli
