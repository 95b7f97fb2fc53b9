#include "core/util/random.hpp"

#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace vsp {

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    throw std::runtime_error("the system random generator failed");
  }
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (const unsigned char b : buf) {
    out += k_digits[b >> 4];
    out += k_digits[b & 15];
  }
  return out;
}

} // namespace vsp
