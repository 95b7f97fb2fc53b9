// vsp rules: the operator's view of a rules file. Each subcommand lives in
// its own file (rules_check.cpp, rules_list.cpp, rules_explain.cpp).
#include "cli/command.hpp"

namespace vsp::cli {

void add_rules(CLI::App& app) {
  auto* rules = app.add_subcommand(
      "rules", "Check, list and explain the rules file the plugin reads");
  rules->require_subcommand(1);
  add_rules_check(*rules);
  add_rules_list(*rules);
  add_rules_explain(*rules);
}

} // namespace vsp::cli
