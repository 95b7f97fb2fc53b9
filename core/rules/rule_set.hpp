#pragma once

#include "core/docker/secret_request.hpp"
#include "core/rules/decision.hpp"
#include "core/rules/rule.hpp"
#include "core/util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace vsp::rules {

// A problem in a rules file: "rules.yaml:12:5: unknown key ...".
struct Problem {
  std::string file;
  Mark mark;
  std::string message;

  std::string to_string() const;
};

// Every rule's verdict on a request plus the outcome.
struct Explanation {
  std::vector<RuleVerdict> verdicts; // in file order, up to the decider
  Result<Decision> outcome = Error(ErrorKind::denied, "no rules");
};

// The operator's rules, in file order. Immutable once loaded, so a reload
// builds a new RuleSet and swaps it in whole.
// Rules files are small; a larger one is refused before it is parsed, so
// a mistaken path (a log, /dev/zero) cannot take the plugin's memory.
inline constexpr std::size_t k_max_rules_file_bytes = std::size_t{4} << 20;

// The text of a rules file: a regular file, at most k_max_rules_file_bytes;
// the error says why not ("cannot read rules file PATH: REASON").
Result<std::string> read_rules_file(const std::string& path);

class RuleSet {
public:
  // Loads and validates; on failure the error message lists every
  // problem, one per line.
  static Result<RuleSet> load_file(const std::string& path);
  static Result<RuleSet> load_text(std::string_view text,
                                   const std::string& file_name);

  // Every problem in the text; empty when it is valid.
  static std::vector<Problem> check_text(std::string_view text,
                                         const std::string& file_name);

  // The first rule whose conditions hold decides. No match, or a label
  // asking for more than the matched rule allows, is a denied Error whose
  // message says why.
  Result<Decision> decide(const docker::SecretRequest& request) const;

  // Like decide(), with every rule's verdict up to the deciding one.
  Explanation explain(const docker::SecretRequest& request) const;

  const std::vector<Rule>& rules() const { return m_rules; }
  // The rule named `name`, or null.
  const Rule* find(std::string_view name) const;
  const std::string& source() const { return m_source; }

private:
  RuleSet(std::vector<Rule> rules, std::string source)
      : m_rules(std::move(rules)), m_source(std::move(source)) {}

  std::vector<Rule> m_rules;
  std::string m_source;
};

} // namespace vsp::rules
