#include "core/util/env.hpp"

#include <cstdlib>

namespace vsp {

std::optional<std::string> process_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

} // namespace vsp
