#include "core/rules/source_loader.hpp"

#include "core/rules/labels.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

namespace vsp::rules {
namespace {

const std::set<std::string> k_common_keys{
    "name",
    "description",
    "match",
    "kind",
    "token_role",
    "allowed_policies",
    "policies",
    "no_default_policy",
    "do_not_reuse",
};
const std::set<std::string> k_token_keys{
    "ttl", "max_ttl", "explicit_max_ttl", "period", "num_uses"};
const std::set<std::string> k_wrap_keys{"wrap_ttl", "max_wrap_ttl"};
const std::set<std::string> k_value_keys{"path_prefix",
                                         "path",
                                         "format",
                                         "field",
                                         "template",
                                         "include_metadata",
                                         "wrap",
                                         "allow_labels"};
const std::set<std::string> k_kv_keys{"kv_version", "kv_mount", "version"};
const std::set<std::string> k_dynamic_keys{
    "method", "params", "allowed_params", "renew"};

// The keys each kind accepts.
std::set<std::string> keys_of(Kind kind) {
  std::set<std::string> out = k_common_keys;
  const auto add = [&](const std::set<std::string>& more) {
    out.insert(more.begin(), more.end());
  };
  switch (kind) {
  case Kind::wrapped_token:
    add(k_token_keys);
    add(k_wrap_keys);
    break;
  case Kind::token:
    add(k_token_keys);
    break;
  case Kind::kv:
    add(k_wrap_keys);
    add(k_value_keys);
    add(k_kv_keys);
    break;
  case Kind::dynamic:
    add(k_token_keys);
    add(k_wrap_keys);
    add(k_value_keys);
    add(k_dynamic_keys);
    break;
  }
  // Lease holders must be able to fetch: a token with num_uses would
  // lose the lease with its last use (vault-api.md 4).
  if (kind == Kind::dynamic) {
    out.erase("num_uses");
  }
  return out;
}

std::set<std::string> every_key() {
  std::set<std::string> out;
  for (const Kind k :
       {Kind::wrapped_token, Kind::token, Kind::kv, Kind::dynamic}) {
    const auto keys = keys_of(k);
    out.insert(keys.begin(), keys.end());
  }
  out.insert("num_uses");
  return out;
}

// A placeholder-free stand-in for a template, for load-time checks of
// its shape: "secret/{stack}/" -> "secret/x/".
std::string sample(const PathTemplate& t) {
  std::string out;
  for (const auto& p : t.pieces()) {
    out += p.part == PathTemplate::Part::literal ? p.text : std::string("x");
  }
  return out;
}

// A path template read from `node`, or nullopt after a problem.
std::optional<PathTemplate> path_template_of(YamlReader& in,
                                             const YAML::Node& node,
                                             const std::string& what) {
  auto text = in.string_of(node, what);
  if (!text) {
    return std::nullopt;
  }
  auto parsed = PathTemplate::parse(*text);
  if (!parsed) {
    in.problem(node, fmt::format("{}: {}", what, parsed.error().message));
    return std::nullopt;
  }
  return std::move(*parsed);
}

void parse_prefix(YamlReader& in, const YAML::Node& node, Rule& rule) {
  if (!node["path_prefix"]) {
    in.problem(node,
               fmt::format("rule \"{}\" (kind {}) needs path_prefix, the "
                           "part of Vault its paths stay under",
                           rule.name,
                           to_string(rule.kind)));
    return;
  }
  const YAML::Node at = node["path_prefix"];
  auto prefix = path_template_of(in, at, "path_prefix");
  if (!prefix) {
    return;
  }
  if (prefix->uses_labels()) {
    in.problem(at,
               "path_prefix may not use {label:...}: a label could move the "
               "prefix itself");
  } else if (auto why = prefix_problem(sample(*prefix)); !why.empty()) {
    in.problem(at,
               fmt::format("path_prefix \"{}\" is not a safe prefix: {}",
                           prefix->text(),
                           why));
  }
  rule.source.prefix = std::move(*prefix);
}

void parse_path(YamlReader& in, const YAML::Node& node, Rule& rule) {
  rule.source.path = PathTemplate::parse("{secret}").value();
  if (!node["path"]) {
    return;
  }
  auto path = path_template_of(in, node["path"], "path");
  if (!path) {
    return;
  }
  if (auto why = path_problem(sample(*path)); !why.empty()) {
    in.problem(node["path"],
               fmt::format("path \"{}\" is not a safe relative path: {}",
                           path->text(),
                           why));
  }
  rule.source.path = std::move(*path);
}

void parse_kv_keys(YamlReader& in, const YAML::Node& node, Rule& rule) {
  Source& s = rule.source;
  if (node["kv_version"]) {
    s.kv_version = in.int_of(node["kv_version"], "kv_version", 1, 2);
  }
  if (node["version"]) {
    s.version = in.int_of(node["version"], "version", 1, 1 << 30);
  }
  if (s.kv_version == 1 && s.version) {
    in.problem(node["version"], "version needs KV v2; this rule pins v1");
  }
  if (node["kv_mount"]) {
    const YAML::Node at = node["kv_mount"];
    s.kv_mount = in.string_of(at, "kv_mount").value_or("");
    if (!s.kv_version) {
      in.problem(at,
                 "kv_mount needs kv_version (a detected version finds "
                 "its own mount)");
    } else if (auto why = prefix_problem(s.kv_mount); !why.empty()) {
      in.problem(at, fmt::format("kv_mount \"{}\": {}", s.kv_mount, why));
    } else if (sample(s.prefix).rfind(s.kv_mount, 0) != 0) {
      in.problem(at,
                 fmt::format("path_prefix \"{}\" is not under kv_mount "
                             "\"{}\"",
                             s.prefix.text(),
                             s.kv_mount));
    }
  }
}

void parse_params(YamlReader& in, const YAML::Node& node, Rule& rule) {
  static const std::regex k_param_name("[a-z0-9_]{1,64}");
  Source& s = rule.source;
  if (node["method"]) {
    const auto method = in.string_of(node["method"], "method").value_or("");
    if (method == "get" || method == "post") {
      s.method = method == "post" ? Method::post : Method::get;
    } else {
      in.problem(node["method"],
                 fmt::format("method must be get or post, not \"{}\"", method));
    }
  }
  const bool any = node["params"] || node["allowed_params"];
  if (any && s.method != Method::post) {
    in.problem(node["params"] ? node["params"] : node["allowed_params"],
               "params and allowed_params need method: post");
  }
  std::map<std::string, YAML::Node> at;
  if (node["params"]) {
    for (const auto& [name, text] :
         in.string_map_of(node["params"], "params", &at)) {
      auto value = PathTemplate::parse(text);
      if (!value) {
        in.problem(
            at[name],
            fmt::format("params \"{}\": {}", name, value.error().message));
      } else {
        s.params[name] = std::move(*value);
      }
    }
  }
  if (node["allowed_params"]) {
    s.allowed_params =
        in.string_map_of(node["allowed_params"], "allowed_params", &at);
  }
  for (const auto& [name, node_at] : at) {
    if (!std::regex_match(name, k_param_name)) {
      in.problem(node_at,
                 fmt::format("parameter name \"{}\" must be lowercase "
                             "letters, digits and '_'",
                             name));
    }
  }
}

// `renew: true` keeps a dynamic lease alive while its task runs. The
// poller renews it by its ID, which a wrapped value hides from vsp.
void parse_renew(YamlReader& in, const YAML::Node& node, Rule& rule) {
  if (!node["renew"]) {
    return;
  }
  rule.source.renew = in.bool_of(node["renew"], "renew").value_or(false);
  if (rule.source.renew && rule.wrapped()) {
    in.problem(node["renew"],
               fmt::format("rule \"{}\" cannot renew a wrapped value: the "
                           "wrapping hides its lease ID from vsp",
                           rule.name));
  }
}

void parse_template(YamlReader& in, const YAML::Node& node, Rule& rule) {
  const YAML::Node at = node["template"];
  auto text = in.string_of(at, "template");
  if (!text) {
    return;
  }
  Mark inner;
  auto parsed = ValueTemplate::parse(*text, inner);
  if (!parsed) {
    in.problem_at(in.mark_inside(at, inner),
                  fmt::format("template: {}", parsed.error().message));
    return;
  }
  rule.value.value_template =
      std::make_shared<const ValueTemplate>(std::move(*parsed));
}

bool allows(const Rule& rule, std::string_view label) {
  return rule.allow_labels.count(std::string(label)) > 0;
}

// The value keys that contradict each other or wrapping.
void check_value(YamlReader& in, const YAML::Node& node, const Rule& rule) {
  const ValueSpec& v = rule.value;
  const bool format_label = allows(rule, labels::k_format);
  if (rule.wrap) {
    for (const char* key :
         {"format", "field", "template", "include_metadata"}) {
      if (node[key]) {
        in.problem(node[key],
                   fmt::format("{} does not apply with wrap: true (the value "
                               "is the wrapping token)",
                               key));
      }
    }
  }
  if (node["field"] && v.format != Format::raw) {
    in.problem(node["field"],
               fmt::format("field applies to format raw, not {}",
                           to_string(v.format)));
  }
  if (v.format == Format::rendered && !v.value_template && !node["template"]) {
    in.problem(node["format"], "format template needs a template");
  }
  if (node["template"] && v.format != Format::rendered && !format_label) {
    in.problem(node["template"],
               fmt::format("template is unused with format {} (allow the "
                           "label {} to let secrets choose it)",
                           to_string(v.format),
                           labels::k_format));
  }
  if (v.include_metadata && v.format != Format::json && !format_label) {
    in.problem(node["include_metadata"], "include_metadata needs format json");
  }
}

} // namespace

void check_rule_keys(YamlReader& in, const YAML::Node& node, const Rule& rule) {
  const auto all = every_key();
  const auto mine = keys_of(rule.kind);
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    if (all.count(key) == 0) {
      in.problem(entry.first,
                 fmt::format("unknown key \"{}\" in rule \"{}\" (expected "
                             "one of: {})",
                             key,
                             rule.name,
                             join(mine)));
    } else if (mine.count(key) == 0) {
      in.problem(entry.first,
                 fmt::format("{} does not apply to kind {}",
                             key,
                             to_string(rule.kind)));
    }
  }
}

void parse_source(YamlReader& in, const YAML::Node& node, Rule& rule) {
  if (is_token_kind(rule.kind)) {
    return;
  }
  parse_prefix(in, node, rule);
  parse_path(in, node, rule);
  if (rule.kind == Kind::kv) {
    parse_kv_keys(in, node, rule);
  } else {
    parse_params(in, node, rule);
    parse_renew(in, node, rule);
  }
}

void parse_value(YamlReader& in, const YAML::Node& node, Rule& rule) {
  if (is_token_kind(rule.kind)) {
    return;
  }
  ValueSpec& v = rule.value;
  if (node["template"]) {
    parse_template(in, node, rule);
    v.format = Format::rendered;
  }
  if (node["format"]) {
    const auto text = in.string_of(node["format"], "format").value_or("");
    if (auto format = parse_format(text)) {
      v.format = *format;
    } else {
      in.problem(node["format"],
                 fmt::format("format must be raw, json or template, not "
                             "\"{}\"",
                             text));
    }
  }
  if (node["field"]) {
    v.field = in.string_of(node["field"], "field").value_or("");
  }
  if (node["include_metadata"]) {
    v.include_metadata =
        in.bool_of(node["include_metadata"], "include_metadata")
            .value_or(false);
  }
}

void parse_allow_labels(YamlReader& in, const YAML::Node& node, Rule& rule) {
  if (node["allow_labels"]) {
    const YAML::Node at = node["allow_labels"];
    for (const auto& label : in.strings_of(at, "allow_labels")) {
      const auto& choice = labels::k_choice_labels;
      const bool known =
          std::find(choice.begin(), choice.end(), label) != choice.end();
      const bool kv_only =
          label == labels::k_version || label == labels::k_kv_version;
      const bool shapes_value =
          label == labels::k_format || label == labels::k_field;
      if (!known) {
        in.problem(at,
                   fmt::format("allow_labels: \"{}\" is not a choice label "
                               "(expected any of: {})",
                               label,
                               fmt::join(choice, ", ")));
      } else if (kv_only && rule.kind != Kind::kv) {
        in.problem(
            at, fmt::format("allow_labels: {} applies to kind kv only", label));
      } else if (shapes_value && rule.wrap) {
        in.problem(at,
                   fmt::format("allow_labels: {} does not apply with wrap: "
                               "true",
                               label));
      }
      rule.allow_labels.insert(label);
    }
  }
  if (!is_token_kind(rule.kind)) {
    check_value(in, node, rule);
  }
}

} // namespace vsp::rules
