#include "cli/command.hpp"

#include <map>

namespace vsp::cli {

void add_format_option(CLI::App& command, OutputFormat& format) {
  const std::map<std::string, OutputFormat> names{
      {"human", OutputFormat::human},
      {"json", OutputFormat::json},
  };
  command.add_option("--format", format, "Output format: human or json")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case))
      ->option_text("human|json (default: human)");
}

void print_json(std::ostream& out, const nlohmann::json& value) {
  out << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
      << '\n';
}

} // namespace vsp::cli
