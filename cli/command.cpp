#include "cli/command.hpp"

#include "cli/option_checks.hpp"

#include <fmt/format.h>

namespace vsp::cli {

void add_format_option(CLI::App& command, OutputFormat& format) {
  command
      .add_option_function<std::string>(
          "--format",
          [&format](const std::string& name) {
            format = name == "json" ? OutputFormat::json : OutputFormat::human;
          },
          "Output format: human or json")
      ->transform(one_of({"human", "json"}, LetterCase::ignored))
      ->option_text("human|json (default: human)");
}

std::string
counted(std::size_t n, std::string_view singular, std::string_view plural) {
  if (n == 1) {
    return fmt::format("1 {}", singular);
  }
  if (plural.empty()) {
    return fmt::format("{} {}s", n, singular);
  }
  return fmt::format("{} {}", n, plural);
}

void print_json(std::ostream& out, const nlohmann::json& value) {
  out << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
      << '\n';
}

} // namespace vsp::cli
