#include "core/util/secret_string.hpp"

#include <openssl/crypto.h>

#include <algorithm>

namespace vsp {

void wipe(std::string& s) {
  // Wipe the whole buffer, not only size(): a shorter value may have
  // replaced a longer one in the same allocation.
  s.resize(s.capacity());
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

void append_wiping(std::string& s, std::string_view more) {
  if (more.size() <= s.capacity() - s.size()) {
    s.append(more);
    return;
  }
  std::string grown;
  grown.reserve(std::max(s.capacity() * 2, s.size() + more.size()));
  grown.append(s);
  grown.append(more);
  wipe(s);
  s = std::move(grown);
}

void wipe_bytes(void* data, std::size_t size) {
  OPENSSL_cleanse(data, size);
}

// Not inlined: the caller then treats every vector register as
// clobbered, as after any call, including zmm16-31, which the compiler
// cannot be told about without AVX-512 code generation.
[[gnu::noinline]] void wipe_registers() {
#if defined(__x86_64__)
#define VSP_XMM_CLOBBERS                                                       \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",      \
      "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
  static const bool avx512 = __builtin_cpu_supports("avx512f") != 0;
  static const bool avx = __builtin_cpu_supports("avx") != 0;
  if (avx512) {
    // glibc's EVEX string functions use ymm16-31 in particular.
    asm volatile(".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,"
                 "20,21,22,23,24,25,26,27,28,29,30,31\n\t"
                 "vpxord %%zmm\\r, %%zmm\\r, %%zmm\\r\n\t"
                 ".endr\n\t"
                 "vzeroupper" ::
                     : VSP_XMM_CLOBBERS);
  } else if (avx) {
    asm volatile("vzeroall" ::: VSP_XMM_CLOBBERS);
  } else {
    asm volatile(".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
                 "pxor %%xmm\\r, %%xmm\\r\n\t"
                 ".endr" ::
                     : VSP_XMM_CLOBBERS);
  }
#undef VSP_XMM_CLOBBERS
#endif
}

SecretString::SecretString(SecretString&& other) noexcept
    : m_value(std::move(other.m_value)) {
  other.clear();
}

SecretString& SecretString::operator=(const SecretString& other) {
  if (this != &other) {
    wipe(m_value);
    m_value = other.m_value;
  }
  return *this;
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    wipe(m_value);
    m_value = std::move(other.m_value);
    other.clear();
  }
  return *this;
}

SecretString::~SecretString() {
  wipe(m_value);
}

void SecretString::clear() {
  wipe(m_value);
}

} // namespace vsp
