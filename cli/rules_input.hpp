#pragma once

#include "core/rules/rule_set.hpp"

#include <string>

namespace vsp::cli {

// The rules file a command reads: `given` (a flag or argument), else
// $VSP_RULES, else the plugin's default /etc/vsp/rules.yaml.
std::string rules_path(const std::string& given);

// Loads and validates it, as the plugin would. Throws CommandError
// (usage) listing every problem.
rules::RuleSet load_rules(const std::string& path);

} // namespace vsp::cli
