#pragma once

#include <string>
#include <string_view>

namespace vsp {

// Shell-style match of the whole `text` against `pattern`: `*`, `?` and
// `[...]` classes; `*` also crosses `/` and `.` (names, not paths).
bool glob_match(const std::string& pattern, const std::string& text);

// True if `pattern` has any glob metacharacter.
bool has_glob(std::string_view pattern);

} // namespace vsp
