#include "core/rules/rule_set.hpp"

#include "core/rules/labels.hpp"
#include "core/rules/rules_loader.hpp"
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

std::string stack_of(const SecretRequest& r) {
  for (const Labels* labels : {&r.secret_labels, &r.service_labels}) {
    if (auto it = labels->find(std::string(labels::k_stack_namespace));
        it != labels->end()) {
      return it->second;
    }
  }
  return {};
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

// A vsp.* label from the secret, else from the service.
const std::string* find_label(const SecretRequest& r, std::string_view key) {
  for (const Labels* labels : {&r.secret_labels, &r.service_labels}) {
    if (auto it = labels->find(std::string(key)); it != labels->end()) {
      return &it->second;
    }
  }
  return nullptr;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) {
      out.push_back(item.substr(first, last - first + 1));
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += out.empty() ? "" : ", ";
    out += item;
  }
  return out;
}

Result<std::vector<std::string>> choose_policies(const Rule& rule,
                                                 const SecretRequest& r) {
  const TokenGrant& t = rule.token;
  const std::string* label = find_label(r, labels::k_policies);
  if (label == nullptr) {
    if (t.policies.empty()) {
      return denied(fmt::format("rule \"{}\" needs the label {} to choose "
                                "policies among: {}",
                                rule.name,
                                labels::k_policies,
                                join(t.allowed_policies)));
    }
    return t.policies;
  }
  auto asked = split_list(*label);
  if (asked.empty()) {
    return denied(fmt::format("label {} is empty", labels::k_policies));
  }
  for (const auto& p : asked) {
    const bool allowed = !has_glob(p) && std::any_of(t.allowed_policies.begin(),
                                                     t.allowed_policies.end(),
                                                     [&](const auto& a) {
                                                       return glob_match(a, p);
                                                     });
    if (!allowed) {
      return denied(fmt::format("rule \"{}\" does not allow policy \"{}\" "
                                "(allowed: {})",
                                rule.name,
                                p,
                                join(t.allowed_policies)));
    }
  }
  std::sort(asked.begin(), asked.end());
  asked.erase(std::unique(asked.begin(), asked.end()), asked.end());
  return asked;
}

// The rule's value, or a label's if it asks for no more than `max`.
Result<Seconds> choose_duration(const Rule& rule,
                                const SecretRequest& r,
                                std::string_view label_key,
                                Seconds value,
                                Seconds max) {
  const std::string* label = find_label(r, label_key);
  if (label == nullptr) {
    return value;
  }
  auto asked = parse_duration(*label);
  if (!asked) {
    return denied(
        fmt::format("label {}: {}", label_key, asked.error().message));
  }
  if (*asked > max || asked->count() == 0) {
    return denied(fmt::format("rule \"{}\" allows {} between 1s and {}, not "
                              "{}",
                              rule.name,
                              label_key,
                              format_duration(max),
                              *label));
  }
  return *asked;
}

Result<Decision> narrow(const Rule& rule, const SecretRequest& r) {
  Decision d;
  d.rule = rule.name;
  d.kind = rule.kind;
  d.token_role = rule.token.role;
  d.no_default_policy = rule.token.no_default_policy;
  d.explicit_max_ttl = rule.token.explicit_max_ttl;
  d.period = rule.token.period;
  d.num_uses = rule.token.num_uses;
  d.do_not_reuse = rule.do_not_reuse.value_or(true);

  auto policies = choose_policies(rule, r);
  if (!policies) {
    return policies.error();
  }
  d.policies = std::move(*policies);

  auto ttl = choose_duration(
      rule, r, labels::k_ttl, rule.token.ttl, rule.token.max_ttl);
  if (!ttl) {
    return ttl.error();
  }
  d.ttl = *ttl;

  if (rule.kind == Kind::wrapped_token) {
    auto wrap = choose_duration(
        rule, r, labels::k_wrap_ttl, rule.wrap_ttl, rule.max_wrap_ttl);
    if (!wrap) {
      return wrap.error();
    }
    d.wrap_ttl = *wrap;
  }
  return d;
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

Result<RuleSet> RuleSet::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(ErrorKind::not_found,
                 "rules_unreadable",
                 fmt::format("cannot read rules file {}", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_text(text.str(), path);
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

const char* to_string(Kind kind) {
  switch (kind) {
  case Kind::wrapped_token:
    return "wrapped-token";
  case Kind::token:
    return "token";
  }
  return "wrapped-token";
}

} // namespace vsp::rules
