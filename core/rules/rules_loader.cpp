#include "core/rules/rules_loader.hpp"

#include "core/rules/source_loader.hpp"
#include "core/rules/yaml_reader.hpp"
#include "core/util/glob.hpp"
#include "core/util/utf8.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>
#include <set>
#include <utility>

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
  explicit Parser(YamlReader& in) : m_in(in) {}

  std::vector<Rule> parse(const YAML::Node& root);

private:
  Defaults parse_defaults(const YAML::Node& node);
  std::optional<Rule> parse_rule(const YAML::Node& node,
                                 std::size_t index,
                                 const Defaults& defaults);
  std::string parse_name(const YAML::Node& node, std::size_t index);
  void parse_kind(const YAML::Node& node, Rule& rule);
  void parse_match(const YAML::Node& node, Rule& rule);
  void
  parse_token(const YAML::Node& node, const Defaults& defaults, Rule& rule);
  void
  parse_wrapping(const YAML::Node& node, const Defaults& defaults, Rule& rule);
  void check_role_name(const YAML::Node& at, const std::string& role);
  void check_token(const YAML::Node& node, Rule& rule);
  void check_wrapping(const YAML::Node& node, const Rule& rule);

  YamlReader& m_in;
};

Defaults Parser::parse_defaults(const YAML::Node& node) {
  Defaults d;
  if (!node) {
    return d;
  }
  if (!node.IsMap()) {
    m_in.problem(node, "defaults must be a map");
    return d;
  }
  m_in.check_keys(node,
                  {"token_role",
                   "ttl",
                   "max_ttl",
                   "wrap_ttl",
                   "max_wrap_ttl",
                   "no_default_policy"},
                  "defaults");
  if (node["token_role"]) {
    d.token_role =
        m_in.string_of(node["token_role"], "defaults.token_role").value_or("");
    check_role_name(node["token_role"], d.token_role);
  }
  if (node["ttl"]) {
    d.ttl = m_in.duration_of(node["ttl"], "defaults.ttl");
  }
  if (node["max_ttl"]) {
    d.max_ttl = m_in.duration_of(node["max_ttl"], "defaults.max_ttl");
  }
  if (node["wrap_ttl"]) {
    d.wrap_ttl = m_in.duration_of(node["wrap_ttl"], "defaults.wrap_ttl");
  }
  if (node["max_wrap_ttl"]) {
    d.max_wrap_ttl =
        m_in.duration_of(node["max_wrap_ttl"], "defaults.max_wrap_ttl");
  }
  if (node["no_default_policy"]) {
    d.no_default_policy =
        m_in.bool_of(node["no_default_policy"], "defaults.no_default_policy");
  }
  return d;
}

void Parser::parse_match(const YAML::Node& node, Rule& rule) {
  const std::string where = fmt::format("match of rule \"{}\"", rule.name);
  if (!node.IsMap()) {
    m_in.problem(node, where + " must be a map");
    return;
  }
  m_in.check_keys(node,
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
      *target = m_in.string_of(node[key], fmt::format("match.{}", key));
    }
  }
  if (node["secret_labels"]) {
    m.secret_labels =
        m_in.labels_of(node["secret_labels"], "match.secret_labels");
  }
  if (node["service_labels"]) {
    m.service_labels =
        m_in.labels_of(node["service_labels"], "match.service_labels");
  }
}

// A token role is one segment of auth/token/create/<role>: Vault role
// names are letters, digits, '-', '_' and '.', and never "." or "..".
void Parser::check_role_name(const YAML::Node& at, const std::string& role) {
  static const std::regex k_role_name("[A-Za-z0-9_.-]{1,128}");
  if (!role.empty() &&
      (!std::regex_match(role, k_role_name) || role == "." || role == "..")) {
    m_in.problem(at,
                 fmt::format("token_role \"{}\" must be a role name: letters, "
                             "digits, '-', '_' and '.'",
                             role));
  }
}

void Parser::parse_token(const YAML::Node& node,
                         const Defaults& defaults,
                         Rule& rule) {
  TokenGrant& t = rule.token;
  t.role = defaults.token_role;
  if (node["token_role"]) {
    t.role = m_in.string_of(node["token_role"], "token_role").value_or("");
    check_role_name(node["token_role"], t.role);
  }
  if (node["allowed_policies"]) {
    t.allowed_policies =
        m_in.strings_of(node["allowed_policies"], "allowed_policies");
  }
  if (node["policies"]) {
    t.policies = m_in.strings_of(node["policies"], "policies");
  }
  auto no_default = defaults.no_default_policy;
  if (node["no_default_policy"]) {
    no_default = m_in.bool_of(node["no_default_policy"], "no_default_policy");
  }
  t.no_default_policy =
      no_default.value_or(false) ? NoDefaultPolicy::yes : NoDefaultPolicy::no;
  t.ttl = defaults.ttl.value_or(k_default_ttl);
  if (node["ttl"]) {
    t.ttl = m_in.duration_of(node["ttl"], "ttl").value_or(t.ttl);
  }
  t.max_ttl = defaults.max_ttl.value_or(t.ttl);
  if (node["max_ttl"]) {
    t.max_ttl =
        m_in.duration_of(node["max_ttl"], "max_ttl").value_or(t.max_ttl);
  }
  if (node["explicit_max_ttl"]) {
    t.explicit_max_ttl =
        m_in.duration_of(node["explicit_max_ttl"], "explicit_max_ttl");
  }
  if (node["period"]) {
    t.period = m_in.duration_of(node["period"], "period");
  }
  if (node["num_uses"]) {
    t.num_uses = m_in.int_of(node["num_uses"], "num_uses", 0, 1 << 30);
  }
}

void Parser::parse_wrapping(const YAML::Node& node,
                            const Defaults& defaults,
                            Rule& rule) {
  if (node["wrap"]) {
    rule.wrap = m_in.bool_of(node["wrap"], "wrap").value_or(false);
  }
  rule.wrap_ttl = defaults.wrap_ttl.value_or(k_default_wrap_ttl);
  if (node["wrap_ttl"]) {
    rule.wrap_ttl =
        m_in.duration_of(node["wrap_ttl"], "wrap_ttl").value_or(rule.wrap_ttl);
  }
  rule.max_wrap_ttl = defaults.max_wrap_ttl.value_or(rule.wrap_ttl);
  if (node["max_wrap_ttl"]) {
    rule.max_wrap_ttl = m_in.duration_of(node["max_wrap_ttl"], "max_wrap_ttl")
                            .value_or(rule.max_wrap_ttl);
  }
}

void Parser::check_token(const YAML::Node& node, Rule& rule) {
  TokenGrant& t = rule.token;
  const YAML::Node at =
      node["allowed_policies"] ? node["allowed_policies"] : node;
  if (t.allowed_policies.empty()) {
    m_in.problem(at,
                 fmt::format("rule \"{}\" needs allowed_policies (the "
                             "policies its tokens may carry)",
                             rule.name));
  }
  for (const auto& p : t.allowed_policies) {
    if (p == "root") {
      m_in.problem(
          at,
          fmt::format("rule \"{}\" may not grant the root policy", rule.name));
    } else if (glob_match(p, "root")) {
      m_in.problem(at,
                   fmt::format("rule \"{}\": allowed_policies \"{}\" would "
                               "let a label ask for the root policy; name "
                               "the policies, or use a narrower pattern",
                               rule.name,
                               p));
    }
  }
  const auto allowed = [&](const std::string& p) {
    return std::any_of(t.allowed_policies.begin(),
                       t.allowed_policies.end(),
                       [&](const std::string& a) { return glob_match(a, p); });
  };
  for (const auto& p : t.policies) {
    if (has_glob(p)) {
      m_in.problem(node["policies"],
                   fmt::format("policies of rule \"{}\" must be names, not "
                               "patterns (\"{}\")",
                               rule.name,
                               p));
    } else if (!allowed(p)) {
      m_in.problem(node["policies"],
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
    m_in.problem(node["max_ttl"] ? node["max_ttl"] : node,
                 fmt::format("max_ttl of rule \"{}\" is shorter than its ttl",
                             rule.name));
  }
}

void Parser::check_wrapping(const YAML::Node& node, const Rule& rule) {
  if (!rule.wrapped() && !is_token_kind(rule.kind)) {
    for (const char* key : {"wrap_ttl", "max_wrap_ttl"}) {
      if (node[key]) {
        m_in.problem(node[key], fmt::format("{} needs wrap: true", key));
      }
    }
    return;
  }
  if (rule.wrapped() && rule.wrap_ttl.count() == 0) {
    m_in.problem(node["wrap_ttl"] ? node["wrap_ttl"] : node,
                 fmt::format("wrap_ttl of rule \"{}\" must be longer than 0s",
                             rule.name));
  }
  if (rule.wrapped() && rule.do_not_reuse == false) {
    m_in.problem(node["do_not_reuse"],
                 fmt::format("do_not_reuse of rule \"{}\" must stay true: "
                             "its value is a wrapping token, which opens "
                             "once, so tasks cannot share it",
                             rule.name));
  }
  if (rule.max_wrap_ttl < rule.wrap_ttl) {
    m_in.problem(node["max_wrap_ttl"] ? node["max_wrap_ttl"] : node,
                 fmt::format("max_wrap_ttl of rule \"{}\" is shorter than "
                             "its wrap_ttl",
                             rule.name));
  }
}

std::string Parser::parse_name(const YAML::Node& node, std::size_t index) {
  static const std::regex k_name_pattern("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
  if (!node["name"]) {
    m_in.problem(node, fmt::format("rule #{} needs a name", index + 1));
    return fmt::format("#{}", index + 1);
  }
  std::string name = m_in.string_of(node["name"], "name").value_or("");
  if (!std::regex_match(name, k_name_pattern)) {
    m_in.problem(node["name"],
                 fmt::format("rule name \"{}\" must be 1-63 letters, digits, "
                             "'.', '_' or '-'",
                             name));
  }
  return name;
}

void Parser::parse_kind(const YAML::Node& node, Rule& rule) {
  if (!node["kind"]) {
    return;
  }
  const auto text = m_in.string_of(node["kind"], "kind").value_or("");
  if (auto kind = rules::parse_kind(text)) {
    rule.kind = *kind;
    return;
  }
  m_in.problem(node["kind"],
               fmt::format("unknown kind \"{}\" (expected wrapped-token, "
                           "token, kv or dynamic)",
                           text));
}

std::optional<Rule> Parser::parse_rule(const YAML::Node& node,
                                       std::size_t index,
                                       const Defaults& defaults) {
  if (!node.IsMap()) {
    m_in.problem(node, fmt::format("rule #{} must be a map", index + 1));
    return std::nullopt;
  }
  Rule rule;
  rule.mark = YamlReader::mark_of(node);
  rule.name = parse_name(node, index);
  parse_kind(node, rule);
  check_rule_keys(m_in, node, rule);

  if (node["match"]) {
    parse_match(node["match"], rule);
  }
  parse_token(node, defaults, rule);
  parse_wrapping(node, defaults, rule);
  if (node["do_not_reuse"]) {
    rule.do_not_reuse = m_in.bool_of(node["do_not_reuse"], "do_not_reuse");
  }
  parse_source(m_in, node, rule);
  parse_value(m_in, node, rule);
  parse_allow_labels(m_in, node, rule);

  check_token(node, rule);
  check_wrapping(node, rule);
  return rule;
}

std::vector<Rule> Parser::parse(const YAML::Node& root) {
  if (!root.IsMap()) {
    m_in.problem_at(Mark{1, 1}, "a rules file must be a map with a rules list");
    return {};
  }
  m_in.check_keys(root, {"version", "defaults", "rules"}, "the rules file");
  if (root["version"] && root["version"].as<std::string>("") != "1") {
    m_in.problem(root["version"],
                 "unsupported version (this vsp reads version 1)");
  }
  const Defaults defaults = parse_defaults(root["defaults"]);
  const YAML::Node list = root["rules"];
  if (!list || !list.IsSequence()) {
    m_in.problem(list ? list : root, "rules must be a list");
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
      m_in.problem(list[i]["name"],
                   fmt::format("rule name \"{}\" is used twice", rule->name));
    }
    rules.push_back(std::move(*rule));
  }
  return rules;
}

// Rules are UTF-8 text. Another encoding, or a stray Latin-1 byte, is
// named with its position here rather than surfacing later, wherever a
// name or template first goes into JSON.
std::optional<Problem> check_utf8(std::string_view text,
                                  const std::string& file_name) {
  const std::size_t at = utf8::first_invalid(text);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  return Problem{file_name,
                 mark_at(text, at),
                 fmt::format("not UTF-8 text (byte 0x{:02X}); a rules file "
                             "must be UTF-8",
                             static_cast<unsigned char>(text[at]))};
}

} // namespace

std::vector<Rule> parse_rules(std::string_view text,
                              const std::string& file_name,
                              std::vector<Problem>& problems) {
  if (auto problem = check_utf8(text, file_name)) {
    problems.push_back(std::move(*problem));
    return {};
  }
  const std::size_t before = problems.size();
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    YamlReader in(file_name, text, problems);
    in.check_duplicate_keys(root);
    auto rules = Parser(in).parse(root);
    if (problems.size() == before) {
      return rules;
    }
    // In the order of the file, as an editor shows them.
    std::stable_sort(problems.begin() + static_cast<std::ptrdiff_t>(before),
                     problems.end(),
                     [](const Problem& a, const Problem& b) {
                       return std::pair(a.mark.line, a.mark.column) <
                              std::pair(b.mark.line, b.mark.column);
                     });
  } catch (const YAML::Exception& e) {
    problems.push_back(
        {file_name, Mark{e.mark.line + 1, e.mark.column + 1}, e.msg});
  } catch (const std::exception& e) {
    // A bug of ours, not the file's, but a reload on SIGHUP must never
    // take the plugin down with it: the current rules stay.
    problems.push_back(
        {file_name, Mark{}, fmt::format("cannot be loaded: {}", e.what())});
  }
  return {};
}

} // namespace vsp::rules
