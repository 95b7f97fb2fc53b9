#include "cli/option_checks.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace vsp::cli {
namespace {

// Room for any ledger's row count, far from size_t's end.
constexpr std::size_t k_max_limit_digits = 15;

std::string refused(const std::string& expected, const std::string& value) {
  return fmt::format("expected {}, not \"{}\"", expected, value);
}

std::string lowercase(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

// strerror's text as a message part: "no such file or directory".
std::string reason(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) {
    text[0] =
        static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

} // namespace

std::string either(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += i + 1 == names.size() ? " or " : ", ";
    }
    out += names[i];
  }
  return out;
}

CLI::Validator one_of(const std::vector<std::string>& names,
                      LetterCase letter_case) {
  std::string description = "{";
  for (const auto& name : names) {
    description += (description.size() > 1 ? "," : "") + name;
  }
  description += "}";
  return {[names, letter_case](std::string& value) -> std::string {
            const std::string wanted =
                letter_case == LetterCase::ignored ? lowercase(value) : value;
            for (const auto& name : names) {
              const std::string candidate =
                  letter_case == LetterCase::ignored ? lowercase(name) : name;
              if (candidate == wanted) {
                value = name;
                return {};
              }
            }
            return refused(either(names), value);
          },
          description};
}

CLI::Validator timeout_seconds() {
  return {[](std::string& value) -> std::string {
            const std::string expected = "a number of seconds greater than 0";
            if (value.empty() ||
                std::isspace(static_cast<unsigned char>(value[0]))) {
              return refused(expected, value);
            }
            char* end = nullptr;
            errno = 0;
            const double seconds = std::strtod(value.c_str(), &end);
            if (end != value.c_str() + value.size() ||
                !std::isfinite(seconds) || !(seconds > 0)) {
              return refused(expected, value);
            }
            if (seconds > k_max_timeout_seconds) {
              return refused(fmt::format("at most {} seconds (a day)",
                                         k_max_timeout_seconds),
                             value);
            }
            return {};
          },
          "SECONDS"};
}

CLI::Validator row_limit() {
  return {[](std::string& value) -> std::string {
            const std::string expected = "a whole number of rows (0: no limit)";
            std::size_t first = 0;
            while (first + 1 < value.size() && value[first] == '0') {
              ++first;
            }
            const std::string digits = value.substr(first);
            if (digits.empty() || digits.size() > k_max_limit_digits) {
              return refused(expected, value);
            }
            for (const char c : digits) {
              if (!std::isdigit(static_cast<unsigned char>(c))) {
                return refused(expected, value);
              }
            }
            value = digits;
            return {};
          },
          "ROWS"};
}

CLI::Validator key_value() {
  return {[](std::string& value) -> std::string {
            const auto eq = value.find('=');
            if (eq == std::string::npos || eq == 0) {
              return refused("KEY=VALUE", value);
            }
            return {};
          },
          "KEY=VALUE"};
}

CLI::Validator not_empty(const std::string& what) {
  return {[what](std::string& value) -> std::string {
            return value.empty() ? refused(what, value) : std::string();
          },
          ""};
}

CLI::Validator input_file(DashIsStdin dash) {
  return {[dash](std::string& value) -> std::string {
            if (dash == DashIsStdin::yes && value == "-") {
              return {};
            }
            const std::string expected = "a readable file";
            if (value.empty()) {
              return refused(expected, value);
            }
            struct stat st {};
            if (::stat(value.c_str(), &st) != 0) {
              return fmt::format(
                  "{} ({})", refused(expected, value), reason(errno));
            }
            if (S_ISDIR(st.st_mode)) {
              return fmt::format("{} (a directory)", refused(expected, value));
            }
            return {};
          },
          "FILE"};
}

} // namespace vsp::cli
