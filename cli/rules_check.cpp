// vsp rules check: validates a rules file as the plugin would load it and
// lists every problem with its file:line:column.
#include "cli/command.hpp"
#include "cli/rules_input.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace vsp::cli {
namespace {

struct CheckOptions {
  std::string file;
  OutputFormat format = OutputFormat::human;
};

std::string read_rules_text(const std::string& path) {
  auto text = rules::read_rules_file(path);
  if (!text) {
    throw CommandError(k_exit_usage, text.error().message);
  }
  return std::move(*text);
}

void print_problems_json(const std::string& path,
                         const std::vector<rules::Problem>& problems,
                         std::size_t rule_count) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : problems) {
    list.push_back({{"file", p.file},
                    {"line", p.mark.line},
                    {"column", p.mark.column},
                    {"message", p.message}});
  }
  nlohmann::json out{{"file", path},
                     {"ok", problems.empty()},
                     {"rules", rule_count},
                     {"problems", list}};
  print_json(std::cout, out);
}

void print_human(const std::string& path,
                 const std::vector<rules::Problem>& problems,
                 std::size_t rule_count) {
  for (const auto& p : problems) {
    std::cout << p.to_string() << '\n';
  }
  if (!problems.empty()) {
    return;
  }
  std::cout << fmt::format("{}: ok, {}{}\n",
                           path,
                           counted(rule_count, "rule"),
                           rule_count == 0 ? " (every request is refused)"
                                           : "");
}

void run(const CheckOptions& o) {
  const std::string path = rules_path(o.file);
  const std::string text = read_rules_text(path);

  const auto problems = rules::RuleSet::check_text(text, path);
  std::size_t rule_count = 0;
  if (problems.empty()) {
    rule_count = rules::RuleSet::load_text(text, path)->rules().size();
  }

  if (o.format == OutputFormat::json) {
    print_problems_json(path, problems, rule_count);
  } else {
    print_human(path, problems, rule_count);
  }
  if (!problems.empty()) {
    throw CommandError(
        k_exit_usage,
        fmt::format("{}: {}", path, counted(problems.size(), "problem")));
  }
}

} // namespace

void add_rules_check(CLI::App& rules) {
  auto o = std::make_shared<CheckOptions>();
  auto* cmd = rules.add_subcommand(
      "check",
      "Validate a rules file; exit 1 listing every problem with its "
      "position");
  cmd->add_option("file",
                  o->file,
                  "The rules file (default: $VSP_RULES, else "
                  "/etc/vsp/rules.yaml)");
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
