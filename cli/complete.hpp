#pragma once

#include "core/vault/config.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace vsp::cli {

// A value a shell may offer, with a one-line description (may be empty).
struct Candidate {
  std::string value;
  std::string description;
};

// What a shell should offer for the word under the cursor: the words
// themselves, or the shell's own file or directory completion.
struct Completion {
  enum class Mode { words, files, directories };
  Mode mode = Mode::words;
  std::vector<Candidate> words;
};

// Which column of the ledger a dynamic completion lists.
enum class LedgerField { task, service, secret, node, accessor, lease };

// Where dynamic values come from; tests replace them. Each returns an
// empty list when its file is missing or unreadable: completion never
// fails loudly.
struct CompletionSources {
  std::function<std::vector<Candidate>(const std::string& rules_path)> rules;
  std::function<std::vector<Candidate>(const std::string& ledger_path,
                                       LedgerField field)>
      ledger;
  vault::Getenv getenv;
};

// The rules file's rule names and the ledger's recent tasks, services and
// secrets, read from disk; the environment from getenv(3).
CompletionSources disk_sources();

// What to offer for the last of `words`: the command line after `vsp`, its
// last word the one being completed (empty after a space). Subcommands and
// options come from `root` itself, so a new subcommand or flag needs no
// change here. Values: an option's listed choices (`--format`), rule names
// (`--rule`, read from `--rules`, VSP_RULES or the default path); task IDs,
// services, secrets, nodes, accessors and lease IDs from the ledger
// (`--task`, `--task-id`, `--service`, `--secret`, `--node`, `--accessor`,
// `--lease`; from `--ledger`, VSP_LEDGER or the default path); ledger
// states (`--state`); and file names for options that take a path.
Completion complete(const CLI::App& root,
                    const std::vector<std::string>& words,
                    const CompletionSources& sources);

// Writes `completion` as the completion scripts in completions/ read it:
// a first line `words`, `files` or `directories`, then one
// `value<TAB>description` line per word.
std::string to_protocol(const Completion& completion);

// Adds the hidden `vsp __complete -- WORD...` that shells call.
void add_complete(CLI::App& app);

} // namespace vsp::cli
