#pragma once

#include "core/util/secret_string.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace vsp::docker {

inline constexpr std::string_view k_activate_path = "/Plugin.Activate";
inline constexpr std::string_view k_get_secret_path =
    "/SecretProvider.GetSecret";
inline constexpr std::string_view k_accept_header =
    "application/vnd.docker.plugins.v1.2+json";

// Swarm refuses a driver's value outside 1..511,999 bytes
// (swarmkit's MaxSecretSize is 500 KiB and its check is `>=`).
inline constexpr std::size_t k_max_value_bytes = 500 * 1024 - 1;

enum class DoNotReuse { no, yes };

// {"Implements":["secretprovider"]}
std::string activate_response();

// {"Value":"<standard base64>","DoNotReuse":...}; the result holds the
// secret, so it is a SecretString too.
SecretString value_response(const SecretString& value, DoNotReuse reuse);

// {"Err":"<message>"}
std::string error_response(std::string_view message);

} // namespace vsp::docker
