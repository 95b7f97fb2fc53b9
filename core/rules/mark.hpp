#pragma once

namespace vsp::rules {

// Where in the rules file (or in one of its strings) something was
// written, for messages.
struct Mark {
  int line = 0;   // 1-based; 0 when unknown
  int column = 0; // 1-based
};

} // namespace vsp::rules
