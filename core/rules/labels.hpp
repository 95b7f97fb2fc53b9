#pragma once

#include <array>
#include <string_view>

// The label vocabulary: secret (or service) labels a user may set to choose
// within what the matching rule allows. Kebab-case under one prefix; a
// secret's label wins over the service's. Any other label under the prefix
// is refused, so a typo never silently widens or narrows nothing.
namespace vsp::rules::labels {

inline constexpr std::string_view k_prefix = "vsp.";

// Always honoured, within the rule's bounds.
inline constexpr std::string_view k_policies = "vsp.policies";
inline constexpr std::string_view k_ttl = "vsp.ttl";
inline constexpr std::string_view k_wrap_ttl = "vsp.wrap-ttl";
inline constexpr std::string_view k_reuse = "vsp.reuse";
// `vsp.param.<name>`: a parameter of a dynamic POST, bounded by the
// rule's allowed_params. <name> is kebab-case: vsp.param.common-name.
inline constexpr std::string_view k_param_prefix = "vsp.param.";

// Choice labels: honoured only when the rule lists them in allow_labels.
inline constexpr std::string_view k_path = "vsp.path";
inline constexpr std::string_view k_field = "vsp.field";
inline constexpr std::string_view k_format = "vsp.format";
inline constexpr std::string_view k_version = "vsp.version";
inline constexpr std::string_view k_kv_version = "vsp.kv-version";

inline constexpr std::array<std::string_view, 5> k_choice_labels = {
    k_path, k_field, k_format, k_version, k_kv_version};

inline constexpr std::array<std::string_view, 9> k_all = {k_policies,
                                                          k_ttl,
                                                          k_wrap_ttl,
                                                          k_reuse,
                                                          k_path,
                                                          k_field,
                                                          k_format,
                                                          k_version,
                                                          k_kv_version};

// Set by `docker stack deploy` on every secret and service of a stack.
inline constexpr std::string_view k_stack_namespace =
    "com.docker.stack.namespace";

} // namespace vsp::rules::labels
