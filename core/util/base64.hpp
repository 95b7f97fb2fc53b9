#pragma once

#include "core/util/result.hpp"

#include <string>
#include <string_view>

namespace vsp::base64 {

// Standard alphabet with padding, which is what Docker decodes.
std::string encode(std::string_view bytes);

// Accepts the standard alphabet, padded or not; rejects anything else.
Result<std::string> decode(std::string_view text);

} // namespace vsp::base64
