#pragma once

#include "core/util/secret_string.hpp"

#include <string>

namespace vsp::cli {

// Where a command reads a token from. The command line is the last
// resort: it shows in `ps` and in shell history, so using it warns.
struct SecretInput {
  std::string argument; // the token given on the command line, if any
  std::string file;     // --token-file; "-" means stdin
};

// Reads the token: from the file, else the argument (with a warning on
// stderr), else stdin (prompting on a terminal). Surrounding whitespace is
// trimmed. Throws CommandError when there is none.
SecretString read_secret_input(const SecretInput& input, const char* what);

} // namespace vsp::cli
