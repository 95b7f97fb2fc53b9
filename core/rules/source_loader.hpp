#pragma once

// The rules loader's part for the keys that depend on a rule's kind:
// where a kv or dynamic value comes from and how it is rendered. Not part
// of the interface; every function records problems in `in`.

#include "core/rules/rule.hpp"
#include "core/rules/yaml_reader.hpp"

namespace vsp::rules {

// Unknown keys, and keys that do not apply to `rule.kind` (whose kind is
// already parsed).
void check_rule_keys(YamlReader& in, const YAML::Node& node, const Rule& rule);

// path_prefix, path, kv_version, kv_mount, version, method, params,
// allowed_params.
void parse_source(YamlReader& in, const YAML::Node& node, Rule& rule);

// format, field, template (checked now, with its file position),
// include_metadata.
void parse_value(YamlReader& in, const YAML::Node& node, Rule& rule);

// allow_labels, checked against the kind and the rest of the rule, which
// must be parsed already.
void parse_allow_labels(YamlReader& in, const YAML::Node& node, Rule& rule);

} // namespace vsp::rules
