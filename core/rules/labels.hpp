#pragma once

#include <string_view>

// The label vocabulary: secret (or service) labels a user may set to choose
// within what the matching rule allows. Kebab-case under one prefix.
namespace vsp::rules::labels {

inline constexpr std::string_view k_prefix = "vsp.";
inline constexpr std::string_view k_policies = "vsp.policies";
inline constexpr std::string_view k_ttl = "vsp.ttl";
inline constexpr std::string_view k_wrap_ttl = "vsp.wrap-ttl";

// Set by `docker stack deploy` on every secret and service of a stack.
inline constexpr std::string_view k_stack_namespace =
    "com.docker.stack.namespace";

} // namespace vsp::rules::labels
