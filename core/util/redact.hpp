#pragma once

#include "core/util/secret_string.hpp"

#include <string>
#include <string_view>

namespace vsp {

// Placeholder written where a credential was removed.
inline constexpr std::string_view k_redacted = "<redacted>";

// Returns `url` with the password of any userinfo and the values of query
// parameters that usually carry credentials (token, secret, password, key,
// signature, auth, session, credential) replaced by k_redacted.
std::string redact_url(std::string_view url);

// Returns a "Name: value" header line with the value replaced by k_redacted
// when the header carries a credential (X-Vault-Token, Authorization,
// Proxy-Authorization, Cookie, Set-Cookie, anything named *token*).
std::string redact_header(std::string_view line);

// Returns `text` with every occurrence of `secret` replaced by k_redacted.
// An empty secret changes nothing.
std::string redact_secret(std::string_view text, const SecretString& secret);

} // namespace vsp
