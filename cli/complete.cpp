// vsp __complete: what a shell should offer for a partial command line.
// The scripts in completions/ only relay; the command tree is the CLI's
// own, so completion cannot drift from the subcommands and flags.
#include "cli/complete.hpp"

#include "cli/command.hpp"

#include "core/ledger/ledger.hpp"
#include "core/rules/rule_set.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <memory>
#include <set>

namespace vsp::cli {
namespace {

// Where the plugin keeps them unless told otherwise.
constexpr const char* k_default_rules = "/etc/vsp/rules.yaml";
constexpr const char* k_default_ledger = "/var/lib/vsp/ledger.db";
// Recent enough to be what an operator is after, cheap to read.
constexpr std::size_t k_ledger_rows = 500;

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool is_hidden(const CLI::App* app) {
  return app->get_group().empty();
}

bool is_hidden(const CLI::Option* opt) {
  return opt->get_group().empty();
}

bool takes_value(const CLI::Option* opt) {
  return opt->get_items_expected_max() > 0;
}

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands(
      [](const CLI::App* sub) { return !is_hidden(sub); });
}

std::vector<const CLI::Option*> named_options(const CLI::App& app) {
  return app.get_options([](const CLI::Option* opt) {
    return opt->nonpositional() && !is_hidden(opt);
  });
}

std::vector<const CLI::Option*> positionals(const CLI::App& app) {
  return app.get_options(
      [](const CLI::Option* opt) { return opt->get_positional(); });
}

// The option of `app` (or of the root, for --help and --version) that
// `word` names, with or without "=value".
const CLI::Option* find_option(const CLI::App& app, const std::string& word) {
  const std::string name = word.substr(0, word.find('='));
  for (const CLI::App* scope : {&app, app.get_parent()}) {
    if (scope == nullptr) {
      continue;
    }
    for (const CLI::Option* opt : named_options(*scope)) {
      if (opt->check_name(name)) {
        return opt;
      }
    }
  }
  return nullptr;
}

const CLI::App* find_subcommand(const CLI::App& app, const std::string& word) {
  for (const CLI::App* sub : visible_subcommands(app)) {
    if (sub->check_name(word)) {
      return sub;
    }
  }
  return nullptr;
}

// The command line up to the word under the cursor, as far as completion
// cares: which (sub)command it is in, what option wants a value, which
// positional comes next, and the paths given to --rules and --ledger.
struct LineState {
  const CLI::App* command = nullptr;
  const CLI::Option* wants_value = nullptr;
  std::size_t positional = 0;
  bool options_ended = false;
  std::map<std::string, std::string> paths; // "rules"/"ledger" -> path
};

void note_path(LineState& s, const CLI::Option* opt, const std::string& v) {
  for (const char* name : {"rules", "ledger"}) {
    if (opt->check_lname(name)) {
      s.paths[name] = v;
    }
  }
}

void read_word(LineState& s, const std::string& word) {
  if (s.wants_value != nullptr) {
    note_path(s, s.wants_value, word);
    s.wants_value = nullptr;
    return;
  }
  if (!s.options_ended && word == "--") {
    s.options_ended = true;
    return;
  }
  if (!s.options_ended && starts_with(word, "-") && word.size() > 1) {
    const CLI::Option* opt = find_option(*s.command, word);
    const auto eq = word.find('=');
    if (opt != nullptr && takes_value(opt) && eq == std::string::npos) {
      s.wants_value = opt;
    } else if (opt != nullptr && eq != std::string::npos) {
      note_path(s, opt, word.substr(eq + 1));
    }
    return;
  }
  if (const CLI::App* sub = find_subcommand(*s.command, word)) {
    s.command = sub;
    s.positional = 0;
    return;
  }
  ++s.positional;
}

void add_matching(Completion& out,
                  const std::vector<Candidate>& all,
                  const std::string& partial,
                  const std::string& prefix = "") {
  for (const Candidate& c : all) {
    if (starts_with(c.value, partial)) {
      out.words.push_back({prefix + c.value, c.description});
    }
  }
}

// The choices CLI11 lists in an option's type name:
// "ENUM:value in {human->0,json->1} OR {0,1}" gives human and json.
std::vector<Candidate> listed_choices(const CLI::Option* opt) {
  const std::string type = opt->get_type_name();
  const auto open = type.find('{');
  const auto close = type.find('}', open);
  std::vector<Candidate> out;
  if (open == std::string::npos || close == std::string::npos) {
    return out;
  }
  std::string item;
  for (const char c : type.substr(open + 1, close - open - 1) + ",") {
    if (c != ',') {
      item += c;
      continue;
    }
    out.push_back({item.substr(0, item.find("->")), ""});
    item.clear();
  }
  return out;
}

bool names_a_path(const CLI::Option* opt) {
  static const std::set<std::string> k_path_names{
      "socket", "request", "rules", "ledger", "file", "output", "ca-cert"};
  const std::string& name = opt->get_single_name();
  const std::string type = opt->get_type_name();
  return k_path_names.count(name) > 0 ||
         name.find("file") != std::string::npos ||
         name.find("path") != std::string::npos ||
         type.find("FILE") != std::string::npos ||
         type.find("PATH") != std::string::npos;
}

std::string path_for(const LineState& s,
                     const CompletionSources& sources,
                     const char* name,
                     const char* env,
                     const char* fallback) {
  if (auto it = s.paths.find(name); it != s.paths.end()) {
    return it->second;
  }
  if (auto v = sources.getenv(env); v && !v->empty()) {
    return *v;
  }
  return fallback;
}

std::vector<Candidate> ledger_states() {
  std::vector<Candidate> out;
  for (const auto state : {ledger::State::pending,
                           ledger::State::issued,
                           ledger::State::revoked,
                           ledger::State::expired,
                           ledger::State::failed,
                           ledger::State::unknown}) {
    out.push_back({ledger::to_string(state), ""});
  }
  return out;
}

// Values for `opt` (or a positional) from the rules file or the ledger,
// or nothing when its name does not say what it holds.
std::vector<Candidate> dynamic_values(const CLI::Option* opt,
                                      const LineState& s,
                                      const CompletionSources& sources) {
  std::string name = opt->get_single_name();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  if (name == "rule") {
    return sources.rules(
        path_for(s, sources, "rules", "VSP_RULES", k_default_rules));
  }
  if (name == "state") {
    return ledger_states();
  }
  static const std::map<std::string, LedgerField> k_fields{
      {"task", LedgerField::task},
      {"task-id", LedgerField::task},
      {"service", LedgerField::service},
      {"secret", LedgerField::secret},
      {"node", LedgerField::node},
      {"node-id", LedgerField::node},
      {"accessor", LedgerField::accessor},
      {"lease", LedgerField::lease},
  };
  if (auto it = k_fields.find(name); it != k_fields.end()) {
    return sources.ledger(
        path_for(s, sources, "ledger", "VSP_LEDGER", k_default_ledger),
        it->second);
  }
  return {};
}

Completion values_for(const CLI::Option* opt,
                      const std::string& partial,
                      const LineState& s,
                      const CompletionSources& sources,
                      const std::string& prefix = "") {
  Completion out;
  if (auto choices = listed_choices(opt); !choices.empty()) {
    add_matching(out, choices, partial, prefix);
  } else if (auto values = dynamic_values(opt, s, sources); !values.empty()) {
    add_matching(out, values, partial, prefix);
  } else if (names_a_path(opt) && prefix.empty()) {
    out.mode = Completion::Mode::files;
  }
  return out;
}

// Every name of every option, long ones first ("--socket", then "-s").
Completion option_names(const CLI::App& command, const std::string& partial) {
  std::vector<Candidate> all;
  for (const CLI::Option* opt : named_options(command)) {
    for (const auto& lname : opt->get_lnames()) {
      all.push_back({"--" + lname, opt->get_description()});
    }
    if (opt->get_lnames().empty() || partial.size() == 1) {
      for (const auto& sname : opt->get_snames()) {
        all.push_back({"-" + sname, opt->get_description()});
      }
    }
  }
  Completion out;
  add_matching(out, all, partial);
  return out;
}

Completion next_word(const LineState& s,
                     const std::string& partial,
                     const CompletionSources& sources) {
  const auto subs = visible_subcommands(*s.command);
  if (!subs.empty()) {
    std::vector<Candidate> all;
    all.reserve(subs.size());
    for (const CLI::App* sub : subs) {
      all.push_back({sub->get_name(), sub->get_description()});
    }
    Completion out;
    add_matching(out, all, partial);
    return out;
  }
  const auto args = positionals(*s.command);
  if (s.positional < args.size()) {
    return values_for(args[s.positional], partial, s, sources);
  }
  return option_names(*s.command, partial);
}

std::vector<Candidate> rule_names(const std::string& path) {
  auto set = rules::RuleSet::load_file(path);
  std::vector<Candidate> out;
  if (!set) {
    return out;
  }
  for (const auto& rule : set->rules()) {
    out.push_back({rule.name, ""});
  }
  return out;
}

// The column `field` of `row`, and how a shell describes it.
Candidate ledger_candidate(const ledger::Issuance& row, LedgerField field) {
  const std::string task = "task " + row.task_id;
  switch (field) {
  case LedgerField::task:
    return {row.task_id,
            row.service_name + " " + row.secret + " " +
                ledger::to_string(row.state)};
  case LedgerField::service:
    return {row.service_name, "service"};
  case LedgerField::secret:
    return {row.secret, "secret"};
  case LedgerField::node:
    return {row.node_id, "node"};
  case LedgerField::accessor:
    return {row.accessor, task};
  case LedgerField::lease:
    return {row.lease_id, task};
  }
  return {};
}

std::vector<Candidate> ledger_values(const std::string& path,
                                     LedgerField field) {
  std::vector<Candidate> out;
  if (::access(path.c_str(), R_OK) != 0) {
    return out; // opening would create nothing, but fail noisily
  }
  auto ledger = ledger::Ledger::open(path, ledger::Access::read_only);
  if (!ledger) {
    return out;
  }
  ledger::Query query;
  query.limit = k_ledger_rows;
  auto rows = (*ledger)->find(query);
  if (!rows) {
    return out;
  }
  std::set<std::string> seen;
  for (const auto& row : *rows) {
    Candidate c = ledger_candidate(row, field);
    if (!c.value.empty() && seen.insert(c.value).second) {
      out.push_back(std::move(c));
    }
  }
  return out;
}

} // namespace

CompletionSources disk_sources() {
  return {rule_names, ledger_values, vault::system_getenv};
}

Completion complete(const CLI::App& root,
                    const std::vector<std::string>& words,
                    const CompletionSources& sources) {
  LineState s;
  s.command = &root;
  const std::string partial = words.empty() ? "" : words.back();
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    read_word(s, words[i]);
  }

  if (s.wants_value != nullptr) {
    return values_for(s.wants_value, partial, s, sources);
  }
  if (!s.options_ended && starts_with(partial, "-")) {
    const auto eq = partial.find('=');
    const CLI::Option* opt = find_option(*s.command, partial);
    if (eq != std::string::npos && opt != nullptr && takes_value(opt)) {
      return values_for(
          opt, partial.substr(eq + 1), s, sources, partial.substr(0, eq + 1));
    }
    return option_names(*s.command, partial);
  }
  return next_word(s, partial, sources);
}

std::string to_protocol(const Completion& completion) {
  std::string out;
  switch (completion.mode) {
  case Completion::Mode::words:
    out = "words\n";
    break;
  case Completion::Mode::files:
    out = "files\n";
    break;
  case Completion::Mode::directories:
    out = "directories\n";
    break;
  }
  for (const Candidate& c : completion.words) {
    out += c.value + "\t" + c.description + "\n";
  }
  return out;
}

void add_complete(CLI::App& app) {
  auto* cmd = app.add_subcommand("__complete", "Completion helper");
  cmd->group(""); // hidden from --help
  cmd->set_help_flag();
  auto words = std::make_shared<std::vector<std::string>>();
  cmd->add_option("words", *words, "The command line after vsp");
  cmd->callback([&app, words] {
    std::vector<std::string> line = *words;
    if (line.empty()) {
      line.emplace_back();
    }
    std::cout << to_protocol(complete(app, line, disk_sources()));
  });
}

} // namespace vsp::cli
