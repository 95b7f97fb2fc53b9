#include "core/rules/rule_set.hpp"

#include "core/rules/narrow.hpp"
#include "core/rules/rules_loader.hpp"
#include "core/util/file.hpp"
#include "core/util/glob.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace vsp::rules {
namespace {

using docker::Labels;
using docker::SecretRequest;

// How many rules' reasons a "no rule matches" message lists.
constexpr std::size_t k_reasons_in_denial = 3;

Error denied(std::string message) {
  return Error(ErrorKind::denied, "denied", std::move(message));
}

// Empty when `value` matches `pattern`, else why not.
std::string check_glob(const std::optional<std::string>& pattern,
                       const std::string& value,
                       const char* what) {
  if (!pattern || glob_match(*pattern, value)) {
    return {};
  }
  if (value.empty()) {
    return fmt::format(
        "the request has no {} (rule wants \"{}\")", what, *pattern);
  }
  return fmt::format("{} \"{}\" does not match \"{}\"", what, value, *pattern);
}

std::string check_labels(const std::vector<LabelCondition>& conditions,
                         const Labels& labels,
                         const char* whose) {
  for (const auto& c : conditions) {
    auto it = labels.find(c.key);
    if (it == labels.end()) {
      return fmt::format("{} label \"{}\" is missing", whose, c.key);
    }
    if (!glob_match(c.pattern, it->second)) {
      return fmt::format("{} label \"{}\" is \"{}\", not \"{}\"",
                         whose,
                         c.key,
                         it->second,
                         c.pattern);
    }
  }
  return {};
}

// Empty when every condition of `m` holds, else the first that does not.
std::string why_not(const Match& m, const SecretRequest& r) {
  for (auto reason :
       {check_glob(m.secret, r.secret_name, "secret name"),
        check_glob(m.service, r.service_name, "service name"),
        check_glob(m.image, r.task_image, "task image"),
        check_glob(m.stack, stack_of(r), "stack"),
        check_labels(m.secret_labels, r.secret_labels, "secret"),
        check_labels(m.service_labels, r.service_labels, "service")}) {
    if (!reason.empty()) {
      return reason;
    }
  }
  return {};
}

std::string subject(const SecretRequest& r) {
  if (r.service_name.empty()) {
    return fmt::format("secret \"{}\"", r.secret_name);
  }
  return fmt::format(
      "secret \"{}\" of service \"{}\"", r.secret_name, r.service_name);
}

} // namespace

std::string Problem::to_string() const {
  if (mark.line <= 0) {
    return fmt::format("{}: {}", file, message);
  }
  return fmt::format("{}:{}:{}: {}", file, mark.line, mark.column, message);
}

std::vector<Problem> RuleSet::check_text(std::string_view text,
                                         const std::string& file_name) {
  std::vector<Problem> problems;
  (void)parse_rules(text, file_name, problems);
  return problems;
}

Result<RuleSet> RuleSet::load_text(std::string_view text,
                                   const std::string& file_name) {
  std::vector<Problem> problems;
  auto rules = parse_rules(text, file_name, problems);
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) {
      message += message.empty() ? "" : "\n";
      message += p.to_string();
    }
    return Error(ErrorKind::invalid_input, "invalid_rules", message);
  }
  return RuleSet(std::move(rules), file_name);
}

Result<std::string> read_rules_file(const std::string& path) {
  auto text = read_regular_file(path, k_max_rules_file_bytes);
  if (!text) {
    Error e = text.error();
    e.message = "cannot read rules file " + e.message;
    return e;
  }
  return text;
}

Result<RuleSet> RuleSet::load_file(const std::string& path) {
  auto text = read_rules_file(path);
  if (!text) {
    return text.error();
  }
  return load_text(*text, path);
}

Explanation RuleSet::explain(const SecretRequest& request) const {
  Explanation out;
  for (const Rule& rule : m_rules) {
    RuleVerdict verdict{
        rule.name, rule.mark, false, why_not(rule.match, request)};
    if (!verdict.reason.empty()) {
      out.verdicts.push_back(std::move(verdict));
      continue;
    }
    verdict.matched = true;
    out.outcome = narrow(rule, request);
    if (!out.outcome) {
      verdict.reason = out.outcome.error().message;
      out.outcome = denied(
          fmt::format("{} refused: {}", subject(request), verdict.reason));
    }
    out.verdicts.push_back(std::move(verdict));
    return out;
  }

  std::string reasons;
  std::size_t listed = 0;
  for (const auto& v : out.verdicts) {
    if (listed == k_reasons_in_denial) {
      reasons += fmt::format("; and {} more",
                             out.verdicts.size() - k_reasons_in_denial);
      break;
    }
    reasons += fmt::format(
        "{}rule \"{}\": {}", listed == 0 ? "" : "; ", v.rule, v.reason);
    ++listed;
  }
  out.outcome = denied(fmt::format("no rule matches {}{}{}",
                                   subject(request),
                                   reasons.empty() ? "" : " (",
                                   reasons.empty() ? "" : reasons + ")"));
  return out;
}

Result<Decision> RuleSet::decide(const SecretRequest& request) const {
  return explain(request).outcome;
}

const Rule* RuleSet::find(std::string_view name) const {
  const auto it = std::find_if(m_rules.begin(),
                               m_rules.end(),
                               [&](const Rule& r) { return r.name == name; });
  return it == m_rules.end() ? nullptr : &*it;
}

} // namespace vsp::rules
