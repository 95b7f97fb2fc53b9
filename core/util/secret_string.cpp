#include "core/util/secret_string.hpp"

#include <openssl/crypto.h>

namespace vsp {

void wipe(std::string& s) {
  // Wipe the whole buffer, not only size(): a shorter value may have
  // replaced a longer one in the same allocation.
  s.resize(s.capacity());
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
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
