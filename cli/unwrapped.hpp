#pragma once

#include "core/vault/types.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace vsp::cli {

enum class ShowSecret { no, yes };

// What an unwrapped response held, for display: a token (accessor,
// policies, metadata, TTL) or data (its keys and lease). The token or the
// values themselves only with ShowSecret::yes. Throws CommandError when
// the auth block is malformed.
nlohmann::json describe_unwrapped(vault::Response& inner, ShowSecret show);

// describe_unwrapped()'s result as "name: value" lines; `show_flag` is the
// flag that would print what is hidden.
void print_unwrapped(std::ostream& out,
                     const nlohmann::json& described,
                     const char* show_flag);

} // namespace vsp::cli
