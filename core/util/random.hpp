#pragma once

#include <string>

namespace vsp {

// `bytes` bytes from OpenSSL's CSPRNG as lowercase hex.
std::string random_hex(std::size_t bytes);

} // namespace vsp
