#pragma once

#include "core/util/result.hpp"

#include <cstddef>
#include <string>

namespace vsp {

// The content of the regular file at `path`, at most `limit` bytes. What
// to read is named by an operator, so it is opened without blocking and
// checked before it is read: a FIFO, a device such as /dev/zero or a
// directory is refused instead of waited on or read without end. Errors
// say why: missing (not_found), not allowed (denied), not a regular file
// or too large (invalid_input), or the system's reason.
Result<std::string> read_regular_file(const std::string& path,
                                      std::size_t limit);

} // namespace vsp
