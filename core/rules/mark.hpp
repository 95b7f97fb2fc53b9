#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace vsp::rules {

// Where in the rules file (or in one of its strings) something was
// written, for messages.
struct Mark {
  int line = 0;   // 1-based; 0 when unknown
  int column = 0; // 1-based
};

// The mark of byte `offset` of `text`; columns count bytes.
inline Mark mark_at(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, offset);
  const std::size_t line_start = before.rfind('\n');
  const auto column = line_start == std::string_view::npos
                          ? before.size() + 1
                          : before.size() - line_start;
  return {static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1,
          static_cast<int>(column)};
}

} // namespace vsp::rules
