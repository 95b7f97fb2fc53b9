#include "core/rules/rules_loader.hpp"

#include "core/util/glob.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>
#include <set>

namespace vsp::rules {
namespace {

using namespace std::chrono_literals;

constexpr Seconds k_default_ttl = 1h;
// Long enough to outlast a slow image pull between Swarm fetching the
// secret and the task's container starting.
constexpr Seconds k_default_wrap_ttl = 10min;

// Shared settings a rule inherits unless it sets its own.
struct Defaults {
  std::string token_role;
  std::optional<Seconds> ttl;
  std::optional<Seconds> max_ttl;
  std::optional<Seconds> wrap_ttl;
  std::optional<Seconds> max_wrap_ttl;
  std::optional<bool> no_default_policy;
};

class Parser {
public:
  Parser(std::string file, std::vector<Problem>& problems)
      : m_file(std::move(file)), m_problems(problems) {}

  std::vector<Rule> parse(std::string_view text);

private:
  void problem(const YAML::Node& at, std::string message) {
    const auto m = at.Mark();
    m_problems.push_back(
        {m_file, Mark{m.line + 1, m.column + 1}, std::move(message)});
  }

  void check_keys(const YAML::Node& map,
                  const std::set<std::string>& allowed,
                  const std::string& where);
  std::optional<std::string> string_of(const YAML::Node& node,
                                       const std::string& what);
  std::optional<Seconds> duration_of(const YAML::Node& node,
                                     const std::string& what);
  std::optional<bool> bool_of(const YAML::Node& node, const std::string& what);
  std::vector<std::string> strings_of(const YAML::Node& node,
                                      const std::string& what);
  std::vector<LabelCondition> labels_of(const YAML::Node& node,
                                        const std::string& what);

  Defaults parse_defaults(const YAML::Node& node);
  std::optional<Rule> parse_rule(const YAML::Node& node,
                                 std::size_t index,
                                 const Defaults& defaults);
  void parse_match(const YAML::Node& node, Rule& rule);
  void
  parse_token(const YAML::Node& node, const Defaults& defaults, Rule& rule);
  void check_rule(const YAML::Node& node, Rule& rule);

  std::string m_file;
  std::vector<Problem>& m_problems;
};

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += out.empty() ? "" : ", ";
    out += item;
  }
  return out;
}

void Parser::check_keys(const YAML::Node& map,
                        const std::set<std::string>& allowed,
                        const std::string& where) {
  for (const auto& entry : map) {
    const auto key = entry.first.as<std::string>();
    if (allowed.count(key) == 0) {
      problem(entry.first,
              fmt::format("unknown key \"{}\" in {} (expected one of: {})",
                          key,
                          where,
                          join(allowed)));
    }
  }
}

std::optional<std::string> Parser::string_of(const YAML::Node& node,
                                             const std::string& what) {
  if (!node.IsScalar()) {
    problem(node, fmt::format("{} must be a string", what));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<Seconds> Parser::duration_of(const YAML::Node& node,
                                           const std::string& what) {
  auto text = string_of(node, what);
  if (!text) {
    return std::nullopt;
  }
  auto d = parse_duration(*text);
  if (!d) {
    problem(node, fmt::format("{}: {}", what, d.error().message));
    return std::nullopt;
  }
  return *d;
}

std::optional<bool> Parser::bool_of(const YAML::Node& node,
                                    const std::string& what) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    problem(node, fmt::format("{} must be true or false", what));
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> Parser::strings_of(const YAML::Node& node,
                                            const std::string& what) {
  std::vector<std::string> out;
  if (!node.IsSequence()) {
    problem(node, fmt::format("{} must be a list of strings", what));
    return out;
  }
  for (const auto& item : node) {
    auto text = string_of(item, fmt::format("each entry of {}", what));
    if (text && text->empty()) {
      problem(item, fmt::format("{} has an empty entry", what));
    } else if (text) {
      out.push_back(*text);
    }
  }
  return out;
}

std::vector<LabelCondition> Parser::labels_of(const YAML::Node& node,
                                              const std::string& what) {
  std::vector<LabelCondition> out;
  if (!node.IsMap()) {
    problem(node, fmt::format("{} must be a map of label to value", what));
    return out;
  }
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    auto pattern = string_of(entry.second, fmt::format("{} \"{}\"", what, key));
    if (pattern) {
      out.push_back({key, *pattern});
    }
  }
  return out;
}

Defaults Parser::parse_defaults(const YAML::Node& node) {
  Defaults d;
  if (!node) {
    return d;
  }
  if (!node.IsMap()) {
    problem(node, "defaults must be a map");
    return d;
  }
  check_keys(node,
             {"token_role",
              "ttl",
              "max_ttl",
              "wrap_ttl",
              "max_wrap_ttl",
              "no_default_policy"},
             "defaults");
  if (node["token_role"]) {
    d.token_role =
        string_of(node["token_role"], "defaults.token_role").value_or("");
  }
  if (node["ttl"]) {
    d.ttl = duration_of(node["ttl"], "defaults.ttl");
  }
  if (node["max_ttl"]) {
    d.max_ttl = duration_of(node["max_ttl"], "defaults.max_ttl");
  }
  if (node["wrap_ttl"]) {
    d.wrap_ttl = duration_of(node["wrap_ttl"], "defaults.wrap_ttl");
  }
  if (node["max_wrap_ttl"]) {
    d.max_wrap_ttl = duration_of(node["max_wrap_ttl"], "defaults.max_wrap_ttl");
  }
  if (node["no_default_policy"]) {
    d.no_default_policy =
        bool_of(node["no_default_policy"], "defaults.no_default_policy");
  }
  return d;
}

void Parser::parse_match(const YAML::Node& node, Rule& rule) {
  const std::string where = fmt::format("match of rule \"{}\"", rule.name);
  if (!node.IsMap()) {
    problem(node, where + " must be a map");
    return;
  }
  check_keys(node,
             {"secret",
              "service",
              "image",
              "stack",
              "secret_labels",
              "service_labels"},
             where);
  Match& m = rule.match;
  const std::pair<const char*, std::optional<std::string>*> globs[] = {
      {"secret", &m.secret},
      {"service", &m.service},
      {"image", &m.image},
      {"stack", &m.stack},
  };
  for (const auto& [key, target] : globs) {
    if (node[key]) {
      *target = string_of(node[key], fmt::format("match.{}", key));
    }
  }
  if (node["secret_labels"]) {
    m.secret_labels = labels_of(node["secret_labels"], "match.secret_labels");
  }
  if (node["service_labels"]) {
    m.service_labels =
        labels_of(node["service_labels"], "match.service_labels");
  }
}

void Parser::parse_token(const YAML::Node& node,
                         const Defaults& defaults,
                         Rule& rule) {
  TokenGrant& t = rule.token;
  t.role = defaults.token_role;
  if (node["token_role"]) {
    t.role = string_of(node["token_role"], "token_role").value_or("");
  }
  if (node["allowed_policies"]) {
    t.allowed_policies =
        strings_of(node["allowed_policies"], "allowed_policies");
  }
  if (node["policies"]) {
    t.policies = strings_of(node["policies"], "policies");
  }
  auto no_default = defaults.no_default_policy;
  if (node["no_default_policy"]) {
    no_default = bool_of(node["no_default_policy"], "no_default_policy");
  }
  t.no_default_policy =
      no_default.value_or(false) ? NoDefaultPolicy::yes : NoDefaultPolicy::no;
  t.ttl = defaults.ttl.value_or(k_default_ttl);
  if (node["ttl"]) {
    t.ttl = duration_of(node["ttl"], "ttl").value_or(t.ttl);
  }
  t.max_ttl = defaults.max_ttl.value_or(t.ttl);
  if (node["max_ttl"]) {
    t.max_ttl = duration_of(node["max_ttl"], "max_ttl").value_or(t.max_ttl);
  }
  if (node["explicit_max_ttl"]) {
    t.explicit_max_ttl =
        duration_of(node["explicit_max_ttl"], "explicit_max_ttl");
  }
  if (node["period"]) {
    t.period = duration_of(node["period"], "period");
  }
  if (node["num_uses"]) {
    int uses = 0;
    if (!node["num_uses"].IsScalar() ||
        !YAML::convert<int>::decode(node["num_uses"], uses) || uses < 0) {
      problem(node["num_uses"], "num_uses must be a whole number >= 0");
    } else {
      t.num_uses = uses;
    }
  }
}

void Parser::check_rule(const YAML::Node& node, Rule& rule) {
  TokenGrant& t = rule.token;
  const YAML::Node at =
      node["allowed_policies"] ? node["allowed_policies"] : node;
  if (t.allowed_policies.empty()) {
    problem(at,
            fmt::format("rule \"{}\" needs allowed_policies (the policies "
                        "its tokens may carry)",
                        rule.name));
  }
  for (const auto& p : t.allowed_policies) {
    if (p == "root") {
      problem(
          at,
          fmt::format("rule \"{}\" may not grant the root policy", rule.name));
    }
  }
  const auto allowed = [&](const std::string& p) {
    return std::any_of(t.allowed_policies.begin(),
                       t.allowed_policies.end(),
                       [&](const std::string& a) { return glob_match(a, p); });
  };
  for (const auto& p : t.policies) {
    if (has_glob(p)) {
      problem(node["policies"],
              fmt::format("policies of rule \"{}\" must be names, not "
                          "patterns (\"{}\")",
                          rule.name,
                          p));
    } else if (!allowed(p)) {
      problem(node["policies"],
              fmt::format("policy \"{}\" of rule \"{}\" is not in its "
                          "allowed_policies",
                          p,
                          rule.name));
    }
  }
  // Without explicit defaults a rule grants everything it allows, which
  // is only possible when the allowed set is a plain list.
  if (t.policies.empty()) {
    const bool any_glob =
        std::any_of(t.allowed_policies.begin(),
                    t.allowed_policies.end(),
                    [](const auto& p) { return has_glob(p); });
    if (!any_glob) {
      t.policies = t.allowed_policies;
    }
  }
  if (t.max_ttl < t.ttl) {
    problem(node["max_ttl"] ? node["max_ttl"] : node,
            fmt::format("max_ttl of rule \"{}\" is shorter than its ttl",
                        rule.name));
  }
  if (rule.kind == Kind::wrapped_token && rule.wrap_ttl.count() == 0) {
    problem(node["wrap_ttl"] ? node["wrap_ttl"] : node,
            fmt::format("wrap_ttl of rule \"{}\" must be longer than 0s",
                        rule.name));
  }
  if (rule.max_wrap_ttl < rule.wrap_ttl) {
    problem(node["max_wrap_ttl"] ? node["max_wrap_ttl"] : node,
            fmt::format("max_wrap_ttl of rule \"{}\" is shorter than its "
                        "wrap_ttl",
                        rule.name));
  }
}

std::optional<Rule> Parser::parse_rule(const YAML::Node& node,
                                       std::size_t index,
                                       const Defaults& defaults) {
  if (!node.IsMap()) {
    problem(node, fmt::format("rule #{} must be a map", index + 1));
    return std::nullopt;
  }
  Rule rule;
  rule.mark = Mark{node.Mark().line + 1, node.Mark().column + 1};
  static const std::regex k_name_pattern("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
  if (!node["name"]) {
    problem(node, fmt::format("rule #{} needs a name", index + 1));
    rule.name = fmt::format("#{}", index + 1);
  } else {
    rule.name = string_of(node["name"], "name").value_or("");
    if (!std::regex_match(rule.name, k_name_pattern)) {
      problem(node["name"],
              fmt::format("rule name \"{}\" must be 1-63 letters, digits, "
                          "'.', '_' or '-'",
                          rule.name));
    }
  }
  check_keys(node,
             {"name",
              "description",
              "match",
              "kind",
              "token_role",
              "allowed_policies",
              "policies",
              "no_default_policy",
              "ttl",
              "max_ttl",
              "explicit_max_ttl",
              "period",
              "num_uses",
              "wrap_ttl",
              "max_wrap_ttl",
              "do_not_reuse"},
             fmt::format("rule \"{}\"", rule.name));

  if (node["match"]) {
    parse_match(node["match"], rule);
  }
  if (node["kind"]) {
    const auto kind = string_of(node["kind"], "kind").value_or("");
    if (kind == "wrapped-token") {
      rule.kind = Kind::wrapped_token;
    } else if (kind == "token") {
      rule.kind = Kind::token;
    } else {
      problem(node["kind"],
              fmt::format("unknown kind \"{}\" (expected wrapped-token or "
                          "token)",
                          kind));
    }
  }
  parse_token(node, defaults, rule);
  rule.wrap_ttl = defaults.wrap_ttl.value_or(k_default_wrap_ttl);
  if (node["wrap_ttl"]) {
    rule.wrap_ttl =
        duration_of(node["wrap_ttl"], "wrap_ttl").value_or(rule.wrap_ttl);
  }
  rule.max_wrap_ttl = defaults.max_wrap_ttl.value_or(rule.wrap_ttl);
  if (node["max_wrap_ttl"]) {
    rule.max_wrap_ttl = duration_of(node["max_wrap_ttl"], "max_wrap_ttl")
                            .value_or(rule.max_wrap_ttl);
  }
  if (node["do_not_reuse"]) {
    rule.do_not_reuse = bool_of(node["do_not_reuse"], "do_not_reuse");
  }
  check_rule(node, rule);
  return rule;
}

std::vector<Rule> Parser::parse(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    m_problems.push_back(
        {m_file, Mark{e.mark.line + 1, e.mark.column + 1}, e.msg});
    return {};
  }
  if (!root.IsMap()) {
    m_problems.push_back(
        {m_file, Mark{1, 1}, "a rules file must be a map with a rules list"});
    return {};
  }
  check_keys(root, {"version", "defaults", "rules"}, "the rules file");
  if (root["version"] && root["version"].as<std::string>("") != "1") {
    problem(root["version"], "unsupported version (this vsp reads version 1)");
  }
  const Defaults defaults = parse_defaults(root["defaults"]);
  const YAML::Node list = root["rules"];
  if (!list || !list.IsSequence()) {
    problem(list ? list : root, "rules must be a list");
    return {};
  }

  std::vector<Rule> rules;
  std::set<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto rule = parse_rule(list[i], i, defaults);
    if (!rule) {
      continue;
    }
    if (!names.insert(rule->name).second) {
      problem(list[i]["name"],
              fmt::format("rule name \"{}\" is used twice", rule->name));
    }
    rules.push_back(std::move(*rule));
  }
  return rules;
}

} // namespace

std::vector<Rule> parse_rules(std::string_view text,
                              const std::string& file_name,
                              std::vector<Problem>& problems) {
  const std::size_t before = problems.size();
  try {
    auto rules = Parser(file_name, problems).parse(text);
    if (problems.size() == before) {
      return rules;
    }
  } catch (const YAML::Exception& e) {
    problems.push_back(
        {file_name, Mark{e.mark.line + 1, e.mark.column + 1}, e.msg});
  }
  return {};
}

} // namespace vsp::rules
