#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace vsp {

// The coarse class of a failure, which every caller understands.
enum class ErrorKind {
  not_found,
  denied,
  invalid_input,
  unavailable,
  timeout,
  internal,
};

// Returns the lowercase name of `kind`, e.g. "not_found".
const char* to_string(ErrorKind kind);

// A failure a caller can act on. `code` is a finer, module-specific
// identifier (core/vault uses "sealed", "standby", "rate_limited", ...);
// `message` is lowercase, human readable and never holds a secret.
struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string code;
  std::string message;

  Error() = default;
  Error(ErrorKind k, std::string msg) : kind(k), message(std::move(msg)) {}
  Error(ErrorKind k, std::string c, std::string msg)
      : kind(k), code(std::move(c)), message(std::move(msg)) {}

  // Returns a copy whose message is "`context`: message".
  Error wrap(const std::string& context) const {
    return Error(kind, code, context + ": " + message);
  }
};

// A value or an Error. Deliberately small: `ok()`, `value()`, `error()`.
template <typename T>
class [[nodiscard]] Result {
public:
  Result(T value) : m_data(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_data(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return m_data.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(m_data);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(m_data);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(m_data));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(m_data);
  }

private:
  std::variant<T, Error> m_data;
};

// Result of an operation that yields nothing but may fail.
struct Unit {};
using Status = Result<Unit>;

inline Status ok_status() {
  return Unit{};
}

} // namespace vsp
