#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

// Checks for option values. Each refuses a value with "expected <what>,
// not \"<value>\""; CLI11 puts the option's name in front, and main()
// prints the result as one `vsp: error:` line (exit 1).
namespace vsp::cli {

enum class LetterCase { exact, ignored };

// "a", "a or b", "a, b or c".
std::string either(const std::vector<std::string>& names);

// One of `names`; with LetterCase::ignored any case passes and becomes
// the name as listed. Its description "{a,b}" is what shell completion
// offers.
CLI::Validator one_of(const std::vector<std::string>& names,
                      LetterCase letter_case);

// A number of seconds, decimal fractions allowed, greater than 0 and at
// most k_max_timeout_seconds (so it always fits a deadline).
CLI::Validator timeout_seconds();
inline constexpr double k_max_timeout_seconds = 86'400;

// A whole number of rows, 0 for no limit; passes it on in decimal (CLI11
// alone would read "010" as octal).
CLI::Validator row_limit();

// KEY=VALUE with a non-empty KEY (a label).
CLI::Validator key_value();

// Any text but the empty one; `what` names it: "a token accessor".
CLI::Validator not_empty(const std::string& what);

enum class DashIsStdin { no, yes };

// A path to an existing file that is not a directory; with
// DashIsStdin::yes, "-" (standard input) passes too.
CLI::Validator input_file(DashIsStdin dash);

} // namespace vsp::cli
