#pragma once

// Shared by the client_*.cpp files; not part of the interface.

#include "core/util/secret_string.hpp"
#include "core/vault/client.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace vsp::vault {

struct Client::Request {
  Method method = Method::get;
  std::string path;
  const SecretString* body = nullptr;
  const SecretString* token = nullptr;
  CallOptions options{};
};

struct Client::CachedMount {
  MountInfo info;
  std::chrono::steady_clock::time_point expires;
};

namespace detail {

// The JSON text of `body`, held as a secret so it is wiped after use.
SecretString json_text(const nlohmann::json& body);

// {"name":"value",...} built straight into a SecretString, so values such
// as tokens and secret IDs are never copied into a JSON object.
SecretString secret_fields(
    std::initializer_list<std::pair<std::string_view, std::string_view>>
        fields);

// "3600s": Vault's duration parser reads it everywhere.
std::string seconds_text(Seconds s);

// Fails with errc::invalid_argument when `value` is empty; used for the
// accessor, lease and role arguments.
Status require(std::string_view what, std::string_view value);

// An error whose code is swapped for `code`, keeping message and Vault's
// text.
Error recode(const Error& e, const char* code);

// The failure of `response`, or what `parse` reads from it.
template <typename Parse>
auto parsed(Result<Response> response, std::string_view path, Parse parse)
    -> decltype(parse(*response, path)) {
  if (!response) {
    return response.error();
  }
  return parse(*response, path);
}

} // namespace detail
} // namespace vsp::vault
