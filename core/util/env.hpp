#pragma once

#include <optional>
#include <string>

namespace vsp {

// getenv(3) as an optional: nullopt when the variable is unset.
std::optional<std::string> process_env(const char* name);

} // namespace vsp
