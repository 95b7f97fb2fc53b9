#include "cli/decision_view.hpp"

#include "cli/table.hpp"
#include "core/util/duration.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vsp::cli {
namespace {

using json = nlohmann::json;
using rules::Decision;
using rules::Kind;

bool has_value(const Decision& d) {
  return d.kind == Kind::kv || d.kind == Kind::dynamic;
}

std::string policies_text(const Decision& d) {
  std::string out = fmt::format("{}", fmt::join(d.policies, ", "));
  if (d.no_default_policy == rules::NoDefaultPolicy::no &&
      std::find(d.policies.begin(), d.policies.end(), "default") ==
          d.policies.end()) {
    out += " (+ default)";
  }
  return out;
}

std::string value_text(const Decision& d) {
  if (d.wrap_ttl.count() > 0 && d.kind != Kind::wrapped_token) {
    return "the wrapping token of the response";
  }
  const rules::ValueSpec& v = d.value;
  switch (v.format) {
  case rules::Format::raw:
    return v.field.empty() ? std::string("raw, the only field")
                           : fmt::format("raw, field {}", v.field);
  case rules::Format::json:
    return v.include_metadata ? "json, with metadata" : "json";
  case rules::Format::rendered:
    return "template";
  }
  return "";
}

std::string rule_mark(const rules::RuleSet& rules,
                      const std::string& name,
                      const std::string& file) {
  for (const auto& r : rules.rules()) {
    if (r.name == name) {
      return fmt::format("{}:{}:{}", file, r.mark.line, r.mark.column);
    }
  }
  return file;
}

// The lines print_decision shows, in order.
std::vector<std::pair<std::string, std::string>>
decision_lines(const Decision& d) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("kind", rules::to_string(d.kind));
  const char* token_is = d.kind == Kind::kv        ? "reader token"
                         : d.kind == Kind::dynamic ? "lease holder"
                                                   : "token";
  out.emplace_back("policies", policies_text(d));
  out.emplace_back("token role",
                   d.token_role.empty()
                       ? std::string("(none: auth/token/create)")
                       : d.token_role);
  if (d.kind != Kind::kv) {
    out.emplace_back(fmt::format("{} ttl", token_is),
                     d.ttl.count() > 0 ? format_duration(d.ttl)
                                       : std::string("vault's default"));
  }
  if (d.explicit_max_ttl) {
    out.emplace_back("explicit max", format_duration(*d.explicit_max_ttl));
  }
  if (d.period) {
    out.emplace_back("period", format_duration(*d.period));
  }
  if (d.num_uses) {
    out.emplace_back("num uses", std::to_string(*d.num_uses));
  }
  out.emplace_back("wrap ttl",
                   d.wrap_ttl.count() > 0 ? format_duration(d.wrap_ttl)
                                          : std::string("not wrapped"));
  if (has_value(d)) {
    out.emplace_back("path", d.path);
    if (d.kind == Kind::kv) {
      out.emplace_back(
          "kv version",
          d.kv_version
              ? fmt::format("{} (pinned, mount {})", *d.kv_version, d.kv_mount)
              : std::string("detected"));
      out.emplace_back("version",
                       d.version ? std::to_string(*d.version) : "latest");
    } else {
      out.emplace_back("method", rules::to_string(d.method));
      for (const auto& [name, value] : d.params) {
        out.emplace_back("param " + name, value);
      }
    }
    out.emplace_back("value", value_text(d));
  }
  out.emplace_back("DoNotReuse", d.do_not_reuse ? "true" : "false");
  return out;
}

} // namespace

json decision_json(const Decision& d) {
  json out{
      {"rule", d.rule},
      {"kind", rules::to_string(d.kind)},
      {"token_role", d.token_role},
      {"policies", d.policies},
      {"no_default_policy", d.no_default_policy == rules::NoDefaultPolicy::yes},
      {"wrapped", d.wrap_ttl.count() > 0},
      {"wrap_ttl", d.wrap_ttl.count()},
      {"do_not_reuse", d.do_not_reuse}};
  if (d.kind != Kind::kv) {
    out["ttl"] = d.ttl.count();
  }
  if (d.explicit_max_ttl) {
    out["explicit_max_ttl"] = d.explicit_max_ttl->count();
  }
  if (d.period) {
    out["period"] = d.period->count();
  }
  if (d.num_uses) {
    out["num_uses"] = *d.num_uses;
  }
  if (!has_value(d)) {
    return out;
  }
  out["path"] = d.path;
  out["prefix"] = d.prefix;
  if (d.kind == Kind::kv) {
    out["kv_version"] = d.kv_version ? json(*d.kv_version) : json();
    if (d.kv_version) {
      out["kv_mount"] = d.kv_mount;
    }
    out["version"] = d.version ? json(*d.version) : json();
  } else {
    out["method"] = rules::to_string(d.method);
    out["params"] = d.params;
  }
  if (d.wrap_ttl.count() == 0) {
    out["format"] = rules::to_string(d.value.format);
    if (d.value.format == rules::Format::raw) {
      out["field"] = d.value.field;
    }
    if (d.value.format == rules::Format::json) {
      out["include_metadata"] = d.value.include_metadata;
    }
    if (d.value.format == rules::Format::rendered && d.value.value_template) {
      out["template"] = d.value.value_template->text();
    }
  }
  return out;
}

void print_decision(std::ostream& out,
                    const Decision& d,
                    const std::string& rules_file,
                    const rules::RuleSet& rules) {
  auto lines = decision_lines(d);
  lines.insert(
      lines.begin(),
      {"rule",
       fmt::format("{} ({})", d.rule, rule_mark(rules, d.rule, rules_file))});
  std::size_t width = 0;
  for (const auto& [name, value] : lines) {
    width = std::max(width, name.size());
  }
  for (const auto& [name, value] : lines) {
    out << fmt::format("  {:<{}}  {}\n", name, width, value);
  }
}

std::vector<Verdict> verdicts_of(const rules::RuleSet& rules,
                                 const rules::Explanation& e) {
  std::vector<Verdict> out;
  for (const auto& rule : rules.rules()) {
    Verdict v{rule.name, rule.mark, "not reached", {}};
    const auto it =
        std::find_if(e.verdicts.begin(),
                     e.verdicts.end(),
                     [&](const auto& seen) { return seen.rule == rule.name; });
    if (it != e.verdicts.end()) {
      v.verdict = !it->matched         ? "no match"
                  : it->reason.empty() ? "matched"
                                       : "refused";
      v.reason = it->reason;
    }
    out.push_back(std::move(v));
  }
  return out;
}

json verdicts_json(const std::vector<Verdict>& verdicts) {
  json out = json::array();
  for (const auto& v : verdicts) {
    out.push_back({{"rule", v.rule},
                   {"line", v.mark.line},
                   {"column", v.mark.column},
                   {"verdict", v.verdict},
                   {"reason", v.reason}});
  }
  return out;
}

void print_verdicts(std::ostream& out,
                    const std::vector<Verdict>& verdicts,
                    Colouring mode) {
  Table table({"#", "RULE", "LINE", "VERDICT", "WHY"});
  int n = 0;
  for (const auto& v : verdicts) {
    const Colour c = v.verdict == "matched"    ? Colour::green
                     : v.verdict == "refused"  ? Colour::red
                     : v.verdict == "no match" ? Colour::yellow
                                               : Colour::dim;
    table.add({{std::to_string(++n)},
               {v.rule},
               {std::to_string(v.mark.line)},
               {v.verdict, c},
               {v.reason}});
  }
  table.print(out, mode);
}

std::string request_summary(const docker::SecretRequest& r) {
  std::string out = fmt::format("secret \"{}\"", r.secret_name);
  if (!r.service_name.empty()) {
    out += fmt::format(" of service \"{}\"", r.service_name);
  }
  if (!r.task_id.empty()) {
    out += fmt::format(" (task {})", r.task_id);
  }
  return out;
}

} // namespace vsp::cli
