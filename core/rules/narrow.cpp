#include "core/rules/narrow.hpp"

#include "core/rules/labels.hpp"
#include "core/util/glob.hpp"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace vsp::rules {
namespace {

using docker::Labels;
using docker::SecretRequest;

Error denied(std::string message) {
  return Error(ErrorKind::denied, "denied", std::move(message));
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
  return items.empty() ? std::string("none")
                       : fmt::format("{}", fmt::join(items, ", "));
}

bool is_choice_label(std::string_view key) {
  const auto& all = labels::k_choice_labels;
  return std::find(all.begin(), all.end(), key) != all.end();
}

bool is_known_label(std::string_view key) {
  const auto& all = labels::k_all;
  return std::find(all.begin(), all.end(), key) != all.end() ||
         key.substr(0, labels::k_param_prefix.size()) == labels::k_param_prefix;
}

// "vsp.param.common-name" -> "common_name".
std::string param_name(std::string_view key) {
  std::string name(key.substr(labels::k_param_prefix.size()));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// Empty when the rule lets `key` (a vsp.* label) speak, else why not.
std::string label_refusal(const Rule& rule, std::string_view key) {
  if (!is_known_label(key)) {
    return fmt::format("unknown label {} (known: {}, {}<name>)",
                       key,
                       fmt::join(labels::k_all, ", "),
                       labels::k_param_prefix);
  }
  if (key == labels::k_ttl && rule.kind == Kind::kv) {
    return fmt::format(
        "label {} does not apply to rule \"{}\" (kind kv)", key, rule.name);
  }
  if (key == labels::k_wrap_ttl && !rule.wrapped()) {
    return fmt::format("label {} does not apply: rule \"{}\" does not wrap "
                       "its value",
                       key,
                       rule.name);
  }
  if (is_choice_label(key) && rule.allow_labels.count(std::string(key)) == 0) {
    return fmt::format(
        "rule \"{}\" does not let label {} choose (its "
        "allow_labels: {})",
        rule.name,
        key,
        join({rule.allow_labels.begin(), rule.allow_labels.end()}));
  }
  const bool param =
      key.substr(0, labels::k_param_prefix.size()) == labels::k_param_prefix;
  if (param && rule.source.allowed_params.count(param_name(key)) == 0) {
    std::vector<std::string> names;
    for (const auto& [name, glob] : rule.source.allowed_params) {
      names.push_back(name);
    }
    return fmt::format("rule \"{}\" does not let label {} set parameter "
                       "\"{}\" (allowed_params: {})",
                       rule.name,
                       key,
                       param_name(key),
                       join(names));
  }
  return {};
}

Status check_labels(const Rule& rule, const SecretRequest& r, Decision&) {
  for (const Labels* labels : {&r.secret_labels, &r.service_labels}) {
    for (const auto& [key, value] : *labels) {
      if (key.rfind(labels::k_prefix, 0) != 0) {
        // "VSP.policies" is not read; saying so beats ignoring it.
        if (key.size() >= labels::k_prefix.size() &&
            strncasecmp(key.c_str(),
                        std::string(labels::k_prefix).c_str(),
                        labels::k_prefix.size()) == 0) {
          return denied(fmt::format(
              "label {} is not read: vsp labels are lower case, as in {}",
              key,
              labels::k_policies));
        }
        continue;
      }
      if (auto why = label_refusal(rule, key); !why.empty()) {
        return denied(std::move(why));
      }
    }
  }
  return ok_status();
}

Status choose_policies(const Rule& rule, const SecretRequest& r, Decision& d) {
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
    d.policies = t.policies;
    return ok_status();
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
  d.policies = std::move(asked);
  return ok_status();
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

Status choose_ttls(const Rule& rule, const SecretRequest& r, Decision& d) {
  if (rule.kind != Kind::kv) {
    auto ttl = choose_duration(
        rule, r, labels::k_ttl, rule.token.ttl, rule.token.max_ttl);
    if (!ttl) {
      return ttl.error();
    }
    d.ttl = *ttl;
  }
  if (rule.wrapped()) {
    auto wrap = choose_duration(
        rule, r, labels::k_wrap_ttl, rule.wrap_ttl, rule.max_wrap_ttl);
    if (!wrap) {
      return wrap.error();
    }
    d.wrap_ttl = *wrap;
  }
  return ok_status();
}

// vsp.reuse=false always narrows (each task its own value); true may only
// keep a value the rule already lets tasks share (sugar-org#130: true
// means reuse).
Status choose_reuse(const Rule& rule, const SecretRequest& r, Decision& d) {
  d.do_not_reuse = rule.default_do_not_reuse();
  const std::string* label = find_label(r, labels::k_reuse);
  if (label == nullptr) {
    return ok_status();
  }
  if (*label == "false") {
    d.do_not_reuse = true;
    return ok_status();
  }
  if (*label != "true") {
    return denied(fmt::format(
        "label {} must be true or false, not \"{}\"", labels::k_reuse, *label));
  }
  if (d.do_not_reuse) {
    return denied(fmt::format("rule \"{}\" gives each task its own value; "
                              "label {}=true would share it",
                              rule.name,
                              labels::k_reuse));
  }
  return ok_status();
}

Status choose_path(const Rule& rule, const SecretRequest& r, Decision& d) {
  auto prefix = rule.source.prefix.expand(r);
  if (!prefix) {
    return denied(fmt::format(
        "rule \"{}\": path_prefix {}", rule.name, prefix.error().message));
  }
  if (auto why = prefix_problem(*prefix); !why.empty()) {
    return denied(fmt::format(
        "rule \"{}\" refuses prefix \"{}\": {}", rule.name, *prefix, why));
  }
  const std::string* label = find_label(r, labels::k_path);
  auto rest = label != nullptr ? Result<std::string>(*label)
                               : rule.source.path.expand(r);
  if (!rest) {
    return denied(
        fmt::format("rule \"{}\": path {}", rule.name, rest.error().message));
  }
  if (auto why = path_problem(*rest); !why.empty()) {
    return denied(fmt::format("rule \"{}\" refuses path \"{}\" under {}: {}",
                              rule.name,
                              *rest,
                              *prefix,
                              why));
  }
  d.prefix = *prefix;
  d.path = *prefix + *rest;
  return ok_status();
}

Result<int> label_number(const std::string& text, std::string_view key) {
  int n = 0;
  std::size_t used = 0;
  try {
    n = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || n < 1 || !std::isdigit(text[0])) {
    return denied(fmt::format(
        "label {} must be a whole number >= 1, not \"{}\"", key, text));
  }
  return n;
}

Status choose_kv(const Rule& rule, const SecretRequest& r, Decision& d) {
  d.kv_version = rule.source.kv_version;
  d.version = rule.source.version;
  if (const auto* label = find_label(r, labels::k_kv_version)) {
    if (*label != "1" && *label != "2") {
      return denied(fmt::format(
          "label {} must be 1 or 2, not \"{}\"", labels::k_kv_version, *label));
    }
    d.kv_version = *label == "1" ? 1 : 2;
  }
  if (const auto* label = find_label(r, labels::k_version)) {
    auto n = label_number(*label, labels::k_version);
    if (!n) {
      return n.error();
    }
    d.version = *n;
  }
  if (d.kv_version == 1 && d.version) {
    return denied(fmt::format("rule \"{}\" reads KV v1, which has no versions",
                              rule.name));
  }
  if (d.kv_version) {
    d.kv_mount = rule.source.kv_mount.empty()
                     ? d.prefix.substr(0, d.prefix.find('/') + 1)
                     : rule.source.kv_mount;
  }
  return ok_status();
}

Status choose_params(const Rule& rule, const SecretRequest& r, Decision& d) {
  d.method = rule.source.method;
  for (const auto& [name, value] : rule.source.params) {
    auto text = value.expand(r);
    if (!text) {
      return denied(fmt::format("rule \"{}\": parameter {} {}",
                                rule.name,
                                name,
                                text.error().message));
    }
    d.params[name] = *text;
  }
  for (const Labels* labels : {&r.service_labels, &r.secret_labels}) {
    for (const auto& [key, value] : *labels) {
      if (key.rfind(labels::k_param_prefix, 0) != 0) {
        continue;
      }
      const std::string name = param_name(key);
      const std::string& glob = rule.source.allowed_params.at(name);
      if (value.empty() || !glob_match(glob, value)) {
        return denied(fmt::format("rule \"{}\" allows parameter {} matching "
                                  "\"{}\", not \"{}\"",
                                  rule.name,
                                  name,
                                  glob,
                                  value));
      }
      d.params[name] = value; // the secret's label, read last, wins
    }
  }
  return ok_status();
}

Status choose_value(const Rule& rule, const SecretRequest& r, Decision& d) {
  d.value = rule.value;
  if (const auto* label = find_label(r, labels::k_format)) {
    auto format = parse_format(*label);
    if (!format) {
      return denied(fmt::format("label {} must be raw, json or template, "
                                "not \"{}\"",
                                labels::k_format,
                                *label));
    }
    if (*format == Format::rendered && !rule.value.value_template) {
      return denied(fmt::format("rule \"{}\" has no template for {}=template",
                                rule.name,
                                labels::k_format));
    }
    d.value.format = *format;
  }
  if (const auto* label = find_label(r, labels::k_field)) {
    if (d.value.format != Format::raw) {
      return denied(fmt::format("label {} needs format raw, and this value "
                                "is {}",
                                labels::k_field,
                                to_string(d.value.format)));
    }
    if (label->empty()) {
      return denied(fmt::format("label {} is empty", labels::k_field));
    }
    d.value.field = *label;
  }
  return ok_status();
}

using Step = Status (*)(const Rule&, const SecretRequest&, Decision&);

} // namespace

Result<Decision> narrow(const Rule& rule, const SecretRequest& request) {
  Decision d;
  d.rule = rule.name;
  d.kind = rule.kind;
  d.token_role = rule.token.role;
  d.no_default_policy = rule.token.no_default_policy;
  d.explicit_max_ttl = rule.token.explicit_max_ttl;
  d.period = rule.token.period;
  d.num_uses = rule.token.num_uses;

  std::vector<Step> steps{
      check_labels, choose_policies, choose_ttls, choose_reuse};
  if (rule.kind == Kind::kv || rule.kind == Kind::dynamic) {
    steps.insert(steps.end(), {choose_path, choose_value});
  }
  if (rule.kind == Kind::kv) {
    steps.push_back(choose_kv);
  }
  if (rule.kind == Kind::dynamic) {
    steps.push_back(choose_params);
  }
  for (const Step step : steps) {
    if (auto status = step(rule, request, d); !status) {
      return status.error();
    }
  }
  return d;
}

} // namespace vsp::rules
