#pragma once

#include "cli/table.hpp"
#include "core/docker/secret_request.hpp"
#include "core/rules/rule_set.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace vsp::cli {

// A decision for --format json: durations in whole seconds, keys only for
// what applies to its kind.
nlohmann::json decision_json(const rules::Decision& decision);

// The same as aligned "name  value" lines, indented by two spaces.
void print_decision(std::ostream& out,
                    const rules::Decision& decision,
                    const std::string& rules_file,
                    const rules::RuleSet& rules);

// One rule's part in a request's outcome.
struct Verdict {
  std::string rule;
  rules::Mark mark;
  std::string verdict; // "matched", "refused", "no match", "not reached"
  std::string reason;
};

// Every rule, in file order, with its verdict on the explained request.
std::vector<Verdict> verdicts_of(const rules::RuleSet& rules,
                                 const rules::Explanation& explanation);

nlohmann::json verdicts_json(const std::vector<Verdict>& verdicts);
void print_verdicts(std::ostream& out,
                    const std::vector<Verdict>& verdicts,
                    Colouring mode);

// "secret \"db\" of service \"web\" (task t1)": who is asking.
std::string request_summary(const docker::SecretRequest& request);

} // namespace vsp::cli
