// Issuer: dynamic secrets (database credentials, PKI certificates, any
// path that issues a lease).
//
// A lease dies with the token that requested it. Requesting with the
// plugin's own login would tie every task's credentials to that login,
// which is renewed, replaced and eventually expires on its own schedule
// (external-secrets#2198). So each issuance first mints a lease holder: an
// orphan token (through the rule's token role) with the rule's policies
// and TTL, that requests the secret and is never used again. It lives at
// least as long as the lease (checked, and renewed once if needed), and
// revoking it by its accessor, recorded as the issuance's accessor, ends
// the lease too. The cost is one more Vault call per issuance and one
// more token per task.

#include "core/issuer/issuer.hpp"

#include "core/issuer/issuer_internal.hpp"
#include "core/issuer/render.hpp"
#include "core/util/log.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <optional>

namespace vsp::issuer {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Revoking a holder after a failure gets its own small budget: the
// request's deadline may be what failed.
constexpr std::chrono::milliseconds k_cleanup_budget{2000};

vault::TokenCreateRequest holder_request(const docker::SecretRequest& request,
                                         const rules::Decision& decision,
                                         const std::string& issuance_id) {
  auto t = detail::token_request(request, decision, issuance_id);
  t.num_uses.reset(); // with uses, the lease would die with the last one
  t.display_name = "vsp-lease-holder";
  return t;
}

nlohmann::json params_body(const rules::Decision& decision) {
  nlohmann::json body = nlohmann::json::object();
  for (const auto& [name, value] : decision.params) {
    body[name] = value;
  }
  return body;
}

vault::Method method_of(const rules::Decision& decision) {
  return decision.method == rules::Method::post ? vault::Method::post
                                                : vault::Method::get;
}

// Revokes the holder, and with it any lease it got, after `why` stopped
// the issuance.
Error drop_holder(vault::Client& vault,
                  const vault::TokenAuth& holder,
                  const Error& why) {
  auto revoked =
      vault.revoke_self(holder.client_token, Deadline::after(k_cleanup_budget));
  if (!revoked) {
    log::error("issuer",
               "cannot revoke lease holder accessor={}: {}",
               holder.accessor,
               revoked.error().message);
  }
  return why;
}

Result<vault::Secret> fetch(vault::Client& vault,
                            const rules::Decision& decision,
                            const vault::TokenAuth& holder,
                            Deadline deadline) {
  vault::CallOptions options;
  options.minting = vault::Minting::yes;
  if (decision.method == rules::Method::post) {
    return vault.write_secret(holder.client_token,
                              decision.path,
                              params_body(decision),
                              options,
                              deadline);
  }
  return vault.read_secret(
      holder.client_token, decision.path, options, deadline);
}

Result<vault::WrapInfo> fetch_wrapped(vault::Client& vault,
                                      const rules::Decision& decision,
                                      const vault::TokenAuth& holder,
                                      Deadline deadline) {
  const nlohmann::json body = params_body(decision);
  const bool post = decision.method == rules::Method::post;
  return vault.call_wrapped(method_of(decision),
                            decision.path,
                            post ? &body : nullptr,
                            holder.client_token,
                            decision.wrap_ttl,
                            vault::Minting::yes,
                            deadline);
}

// The holder must outlive the lease, or the lease dies early: a shorter
// holder is renewed once to the lease's length.
Status outlive_lease(vault::Client& vault,
                     const rules::Decision& decision,
                     const vault::TokenAuth& holder,
                     const vault::Secret& secret,
                     Deadline deadline) {
  const auto holder_ttl = holder.lease_duration;
  if (holder_ttl.count() == 0 || secret.lease_duration <= holder_ttl) {
    return ok_status();
  }
  auto renewed =
      vault.renew_self(holder.client_token, secret.lease_duration, deadline);
  if (renewed && renewed->lease_duration >= secret.lease_duration) {
    return ok_status();
  }
  return Error(ErrorKind::invalid_input,
               "lease_outlives_holder",
               fmt::format("the lease of {} lasts {}s but its holder token "
                           "only {}s: raise the rule's ttl (or the token "
                           "role's limits) to at least the lease's",
                           decision.path,
                           secret.lease_duration.count(),
                           renewed ? renewed->lease_duration.count()
                                   : holder_ttl.count()));
}

} // namespace

Result<vault::TokenAuth>
Issuer::mint_lease_holder(const docker::SecretRequest& request,
                          const rules::Decision& decision,
                          const std::string& issuance_id,
                          Deadline deadline) {
  const auto create = holder_request(request, decision, issuance_id);
  std::optional<vault::TokenAuth> holder;
  auto minted = with_login(deadline, [&](const SecretString& login) -> Status {
    auto t = m_vault.create_token(login, create, deadline);
    if (!t) {
      return t.error();
    }
    holder = std::move(*t);
    return ok_status();
  });
  if (!minted) {
    return minted.error();
  }
  return std::move(*holder);
}

Result<CachedValue> Issuer::issue_dynamic(const docker::SecretRequest& request,
                                          const rules::Decision& decision,
                                          const std::string& issuance_id,
                                          Deadline deadline) {
  const auto now = std::chrono::system_clock::now();
  auto holder = mint_lease_holder(request, decision, issuance_id, deadline);
  if (!holder) {
    return holder.error();
  }
  CachedValue out;
  out.accessor = holder->accessor;
  out.do_not_reuse = decision.do_not_reuse;

  if (decision.wrap_ttl.count() > 0) {
    auto wrap = fetch_wrapped(m_vault, decision, *holder, deadline);
    if (!wrap) {
      return drop_holder(m_vault, *holder, wrap.error());
    }
    out.value = std::move(wrap->token);
    out.wrapping_accessor = wrap->accessor;
    out.ttl = holder->lease_duration;
    out.expires_at = now + holder->lease_duration;
    out.fresh_until = Clock::now() +
                      detail::wrapped_window(m_options.reuse_window, wrap->ttl);
    return out;
  }

  auto secret = fetch(m_vault, decision, *holder, deadline);
  if (!secret) {
    return drop_holder(m_vault, *holder, secret.error());
  }
  if (auto kept = outlive_lease(m_vault, decision, *holder, *secret, deadline);
      !kept) {
    return drop_holder(m_vault, *holder, kept.error());
  }

  ValueFacts facts;
  facts.issuance_id = issuance_id;
  facts.lease_id = secret->lease_id;
  facts.lease_duration = secret->lease_duration;
  facts.renewable = secret->renewable;
  auto value = render_value(
      decision.value, secret->data, value_metadata(request, decision, facts));
  if (!value) {
    return drop_holder(m_vault, *holder, value.error());
  }
  out.value = std::move(*value);
  out.lease_id = secret->lease_id;
  out.ttl = secret->lease_duration.count() > 0 ? secret->lease_duration
                                               : holder->lease_duration;
  if (out.ttl.count() > 0) {
    out.expires_at = now + out.ttl;
  }
  out.fresh_until = Clock::now() + m_options.reuse_window;
  return out;
}

} // namespace vsp::issuer
