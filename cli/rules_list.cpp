// vsp rules list: the rules in file order, one line each.
#include "cli/command.hpp"
#include "cli/rules_input.hpp"
#include "cli/table.hpp"

#include "core/util/duration.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace vsp::cli {
namespace {

using json = nlohmann::json;
using rules::Kind;
using rules::Rule;

struct ListOptions {
  std::string file;
  OutputFormat format = OutputFormat::human;
};

std::string match_text(const rules::Match& m) {
  std::vector<std::string> parts;
  const std::pair<const char*, const std::optional<std::string>*> globs[] = {
      {"secret", &m.secret},
      {"service", &m.service},
      {"image", &m.image},
      {"stack", &m.stack}};
  for (const auto& [name, glob] : globs) {
    if (*glob) {
      parts.push_back(fmt::format("{}={}", name, **glob));
    }
  }
  for (const auto& c : m.secret_labels) {
    parts.push_back(fmt::format("secret.{}={}", c.key, c.pattern));
  }
  for (const auto& c : m.service_labels) {
    parts.push_back(fmt::format("service.{}={}", c.key, c.pattern));
  }
  return parts.empty() ? std::string("(everything)")
                       : fmt::format("{}", fmt::join(parts, " "));
}

std::string source_text(const Rule& r) {
  if (r.kind == Kind::kv || r.kind == Kind::dynamic) {
    return r.source.prefix.text() + r.source.path.text();
  }
  return "auth/token/create" + (r.token.role.empty() ? "" : "/" + r.token.role);
}

std::string value_text(const Rule& r) {
  if (r.wrapped()) {
    return fmt::format("wrapped {}", format_duration(r.wrap_ttl));
  }
  if (r.kind == Kind::token) {
    return fmt::format("token {}", format_duration(r.token.ttl));
  }
  std::string out = rules::to_string(r.value.format);
  if (r.value.format == rules::Format::raw && !r.value.field.empty()) {
    out += " " + r.value.field;
  }
  return out;
}

json match_json(const rules::Match& m) {
  json out = json::object();
  const std::pair<const char*, const std::optional<std::string>*> globs[] = {
      {"secret", &m.secret},
      {"service", &m.service},
      {"image", &m.image},
      {"stack", &m.stack}};
  for (const auto& [name, glob] : globs) {
    if (*glob) {
      out[name] = **glob;
    }
  }
  for (const auto& [key, list] :
       {std::pair{"secret_labels", &m.secret_labels},
        std::pair{"service_labels", &m.service_labels}}) {
    if (!list->empty()) {
      json labels = json::object();
      for (const auto& c : *list) {
        labels[c.key] = c.pattern;
      }
      out[key] = labels;
    }
  }
  return out;
}

json rule_json(const Rule& r) {
  json out{{"name", r.name},
           {"line", r.mark.line},
           {"kind", rules::to_string(r.kind)},
           {"match", match_json(r.match)},
           {"token_role", r.token.role},
           {"allowed_policies", r.token.allowed_policies},
           {"policies", r.token.policies},
           {"wrapped", r.wrapped()},
           {"do_not_reuse", r.default_do_not_reuse()},
           {"allow_labels", r.allow_labels}};
  if (r.wrapped()) {
    out["wrap_ttl"] = r.wrap_ttl.count();
    out["max_wrap_ttl"] = r.max_wrap_ttl.count();
  }
  if (r.kind != Kind::kv) {
    out["ttl"] = r.token.ttl.count();
    out["max_ttl"] = r.token.max_ttl.count();
  }
  if (r.kind == Kind::kv || r.kind == Kind::dynamic) {
    out["path_prefix"] = r.source.prefix.text();
    out["path"] = r.source.path.text();
    out["format"] = rules::to_string(r.value.format);
  }
  return out;
}

void run(const ListOptions& o) {
  const std::string path = rules_path(o.file);
  const rules::RuleSet rules = load_rules(path);

  if (o.format == OutputFormat::json) {
    json out = json::array();
    for (const auto& r : rules.rules()) {
      out.push_back(rule_json(r));
    }
    print_json(std::cout, out);
    return;
  }
  Table table({"#",
               "RULE",
               "KIND",
               "MATCH",
               "POLICIES",
               "FROM",
               "VALUE",
               "DONOTREUSE"});
  int n = 0;
  for (const auto& r : rules.rules()) {
    table.add({{std::to_string(++n)},
               {r.name},
               {rules::to_string(r.kind)},
               {match_text(r.match)},
               {fmt::format("{}", fmt::join(r.token.allowed_policies, ","))},
               {source_text(r)},
               {value_text(r)},
               {r.default_do_not_reuse() ? "true" : "false"}});
  }
  table.print(std::cout, colour_on_stdout());
}

} // namespace

void add_rules_list(CLI::App& rules) {
  auto o = std::make_shared<ListOptions>();
  auto* cmd = rules.add_subcommand("list", "Show the rules in a table");
  cmd->add_option("file",
                  o->file,
                  "The rules file (default: $VSP_RULES, else "
                  "/etc/vsp/rules.yaml)");
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
