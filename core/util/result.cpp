#include "core/util/result.hpp"

namespace vsp {

const char* to_string(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::not_found:
    return "not_found";
  case ErrorKind::denied:
    return "denied";
  case ErrorKind::invalid_input:
    return "invalid_input";
  case ErrorKind::unavailable:
    return "unavailable";
  case ErrorKind::timeout:
    return "timeout";
  case ErrorKind::internal:
    return "internal";
  }
  return "internal";
}

} // namespace vsp
