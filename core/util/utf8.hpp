#pragma once

#include <cstddef>
#include <string_view>

namespace vsp::utf8 {

// The offset of the first byte that does not begin a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF), or std::string_view::npos when all of `text` is UTF-8.
std::size_t first_invalid(std::string_view text);

inline bool valid(std::string_view text) {
  return first_invalid(text) == std::string_view::npos;
}

} // namespace vsp::utf8
