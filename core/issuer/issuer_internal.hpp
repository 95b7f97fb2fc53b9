#pragma once

// Shared by the issuer's files; not part of the interface.

#include "core/docker/secret_request.hpp"
#include "core/rules/decision.hpp"
#include "core/util/result.hpp"
#include "core/vault/errors.hpp"
#include "core/vault/types.hpp"

#include <algorithm>
#include <chrono>

namespace vsp::issuer::detail {

// A wrapping token is useless once its TTL is over; stop handing it out
// again a little before that.
inline constexpr std::chrono::seconds k_wrap_margin{5};

// How long a wrapped value may be handed to the same task again: the
// reuse window, cut short before the wrapping token expires.
inline std::chrono::seconds wrapped_window(std::chrono::seconds window,
                                           std::chrono::seconds wrap_ttl) {
  return std::min(window,
                  std::max(wrap_ttl - k_wrap_margin, std::chrono::seconds(0)));
}

inline bool is_invalid_token(const Error& e) {
  return e.code == vault::errc::invalid_token;
}

// The task token `decision` grants: its role, policies, TTLs and uses,
// tagged with the task's metadata.
vault::TokenCreateRequest token_request(const docker::SecretRequest& request,
                                        const rules::Decision& decision,
                                        const std::string& issuance_id);

} // namespace vsp::issuer::detail
