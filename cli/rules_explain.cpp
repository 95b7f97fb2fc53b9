// vsp rules explain: for one request (flags, or a captured Docker body),
// every rule's verdict in file order and the decision the plugin would
// make, without asking Vault.
#include "cli/command.hpp"
#include "cli/decision_view.hpp"
#include "cli/option_checks.hpp"
#include "cli/request_input.hpp"
#include "cli/rules_input.hpp"
#include "cli/table.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace vsp::cli {
namespace {

struct ExplainOptions {
  std::string rules_file;
  RequestInput request;
  OutputFormat format = OutputFormat::human;
};

void print_explanation_json(const docker::SecretRequest& request,
                            const std::vector<Verdict>& verdicts,
                            const rules::Explanation& e) {
  nlohmann::json out{{"request", docker::to_json(request)},
                     {"rules", verdicts_json(verdicts)},
                     {"allowed", e.outcome.ok()}};
  out["decision"] =
      e.outcome.ok() ? decision_json(*e.outcome) : nlohmann::json();
  out["error"] = e.outcome.ok() ? nlohmann::json()
                                : nlohmann::json(e.outcome.error().message);
  print_json(std::cout, out);
}

void print_human(const docker::SecretRequest& request,
                 const std::vector<Verdict>& verdicts,
                 const rules::Explanation& e,
                 const std::string& path,
                 const rules::RuleSet& rules) {
  const Colouring colour = colour_on_stdout();
  std::cout << "request: " << request_summary(request) << "\n\n";
  print_verdicts(std::cout, verdicts, colour);
  std::cout << '\n';
  if (!e.outcome.ok()) {
    std::cout << paint("decision: refused", Colour::red, colour) << "\n  "
              << e.outcome.error().message << '\n';
    return;
  }
  std::cout << paint("decision: issue", Colour::green, colour) << '\n';
  print_decision(std::cout, *e.outcome, path, rules);
}

void run(const ExplainOptions& o) {
  const std::string path = rules_path(o.rules_file);
  const rules::RuleSet rules = load_rules(path);
  const docker::SecretRequest request = parse_request(request_body(o.request));

  const rules::Explanation e = rules.explain(request);
  const auto verdicts = verdicts_of(rules, e);

  if (o.format == OutputFormat::json) {
    print_explanation_json(request, verdicts, e);
  } else {
    print_human(request, verdicts, e, path, rules);
  }
  if (!e.outcome.ok()) {
    throw CommandError(k_exit_denied, "the rules refuse this request");
  }
}

} // namespace

void add_rules_explain(CLI::App& rules) {
  auto o = std::make_shared<ExplainOptions>();
  auto* cmd = rules.add_subcommand(
      "explain",
      "Show how the rules decide one request: every rule's verdict, then "
      "the decision (exit 3 when refused)");
  cmd->add_option("--rules",
                  o->rules_file,
                  "The rules file (default: $VSP_RULES, else "
                  "/etc/vsp/rules.yaml)")
      ->check(input_file(DashIsStdin::no));
  add_request_options(*cmd, o->request);
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
