#pragma once

#include "core/rules/rule.hpp"
#include "core/rules/rule_set.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace vsp::rules {

// Parses the YAML text of a rules file into rules, collecting every
// problem instead of stopping at the first. Rules come back only when
// `problems` stays empty.
std::vector<Rule> parse_rules(std::string_view text,
                              const std::string& file_name,
                              std::vector<Problem>& problems);

} // namespace vsp::rules
