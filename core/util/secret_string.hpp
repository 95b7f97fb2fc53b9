#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vsp {

// Holds a token or a secret value. Its memory is wiped when it is destroyed
// or overwritten, and it has no formatter or stream operator, so handing one
// to the logger does not compile. `reveal()` is the one, greppable way in.
class SecretString {
public:
  SecretString() = default;
  explicit SecretString(std::string value) : m_value(std::move(value)) {}
  explicit SecretString(std::string_view value) : m_value(value) {}
  explicit SecretString(const char* value) : m_value(value) {}
  SecretString(const SecretString& other) = default;
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(const SecretString& other);
  SecretString& operator=(SecretString&& other) noexcept;
  ~SecretString();

  std::string_view reveal() const { return m_value; }
  const char* c_str() const { return m_value.c_str(); }
  bool empty() const { return m_value.empty(); }
  std::size_t size() const { return m_value.size(); }

  // Wipes and empties the value.
  void clear();

  friend bool operator==(const SecretString& a, const SecretString& b) {
    return a.m_value == b.m_value;
  }

private:
  std::string m_value;
};

// Overwrites `s` (its whole capacity) with zeros and empties it.
void wipe(std::string& s);

// Appends `more` to `s`. When `s` must grow, the old buffer is wiped
// before it is freed, so no partial copy of a secret is left behind.
void append_wiping(std::string& s, std::string_view more);

// Overwrites `size` bytes at `data` with zeros, in a way the compiler
// cannot drop.
void wipe_bytes(void* data, std::size_t size);

// Zeroes the calling thread's vector registers. memcpy and its kin move
// data through them and leave the last bytes there, which a core dump
// or a debugger then shows: call it once a thread is done with secrets.
void wipe_registers();

} // namespace vsp
