#include "core/issuer/issuer.hpp"

#include "core/issuer/issuer_internal.hpp"
#include "core/issuer/settle.hpp"
#include "core/util/log.hpp"
#include "core/util/random.hpp"
#include "core/vault/client.hpp"
#include "core/vault/errors.hpp"
#include "core/vault/login.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace vsp::issuer {
namespace {

using Clock = std::chrono::steady_clock;

// Revoking a credential the ledger refused gets its own budget, even past
// the request's deadline: ending it matters more than answering on time.
constexpr std::chrono::milliseconds k_cleanup_budget{2000};

// Vault stores display names as "token-<name>" and keeps letters, digits
// and '-'; anything else would be replaced there anyway.
std::string display_name(const docker::SecretRequest& request) {
  std::string name =
      "vsp-" + (request.service_name.empty() ? request.secret_name
                                             : request.service_name);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      c = '-';
    }
  }
  return name.substr(0, 64);
}

// What the ledger keeps of a value: its Vault identifiers, never itself.
Minted minted_of(const CachedValue& value, const rules::Decision& decision) {
  Minted m;
  m.accessor = value.accessor;
  m.wrapping_accessor = value.wrapping_accessor;
  m.lease_id = value.lease_id;
  m.policies = decision.policies;
  m.ttl = value.ttl;
  return m;
}

} // namespace

vault::TokenCreateRequest
detail::token_request(const docker::SecretRequest& request,
                      const rules::Decision& decision,
                      const std::string& issuance_id) {
  vault::TokenCreateRequest t;
  t.role = decision.token_role;
  t.policies = decision.policies;
  t.meta = task_metadata(request, decision, issuance_id);
  if (decision.ttl.count() > 0) {
    t.ttl = decision.ttl;
  }
  t.explicit_max_ttl = decision.explicit_max_ttl;
  t.period = decision.period;
  t.num_uses = decision.num_uses;
  t.display_name = display_name(request);
  t.no_default_policy =
      decision.no_default_policy == rules::NoDefaultPolicy::yes
          ? vault::NoDefaultPolicy::yes
          : vault::NoDefaultPolicy::no;
  return t;
}

std::map<std::string, std::string>
task_metadata(const docker::SecretRequest& request,
              const rules::Decision& decision,
              const std::string& issuance_id) {
  std::map<std::string, std::string> meta{
      {"vsp_secret", request.secret_name},
      {"vsp_rule", decision.rule},
      {"vsp_issuance_id", issuance_id},
      {"vsp_kind", rules::to_string(decision.kind)},
  };
  const std::pair<const char*, const std::string*> optional[] = {
      {"vsp_task_id", &request.task_id},
      {"vsp_task_name", &request.task_name},
      {"vsp_service_id", &request.service_id},
      {"vsp_service_name", &request.service_name},
      {"vsp_node_id", &request.node_id},
  };
  for (const auto& [key, value] : optional) {
    if (!value->empty()) {
      meta[key] = *value;
    }
  }
  return meta;
}

Issuer::Issuer(vault::Client& vault,
               vault::TokenSource& login,
               IssuerOptions options)
    : m_vault(vault), m_login(login), m_options(options),
      m_recorder(options.ledger) {}

Result<Issued> Issuer::issue(const docker::SecretRequest& request,
                             const rules::Decision& decision,
                             Deadline deadline) {
  const std::string issuance_id = random_hex(16);
  const auto mint_once = [&] {
    auto minted = mint(request, decision, issuance_id, deadline);
    if (minted) {
      minted->rule = decision.rule;
      minted->kind = decision.kind;
      minted->policies = decision.policies;
    }
    return minted;
  };

  // Without a TaskID (engines before 19.03) requests cannot be told apart,
  // so each one is issued on its own.
  bool reused = false;
  Result<CachedValue> value =
      request.task_id.empty()
          ? mint_once()
          : m_cache.get_or_mint(request.task_id + '\n' + request.secret_name,
                                deadline,
                                mint_once,
                                reused);
  if (!value) {
    return value.error();
  }
  Issued out;
  out.value = std::move(value->value);
  out.do_not_reuse = value->do_not_reuse;
  out.reused = reused;
  out.kind = value->kind;
  out.rule = value->rule;
  out.policies = value->policies;
  out.accessor = value->accessor;
  out.wrapping_accessor = value->wrapping_accessor;
  out.lease_id = value->lease_id;
  out.ttl = value->ttl;
  out.expires_at = value->expires_at;
  out.issuance_id = reused ? std::string() : issuance_id;
  return out;
}

Result<CachedValue> Issuer::mint(const docker::SecretRequest& request,
                                 const rules::Decision& decision,
                                 const std::string& issuance_id,
                                 Deadline deadline) {
  if (auto recorded = m_recorder.intent(request, decision, issuance_id);
      !recorded) {
    return recorded.error();
  }

  auto value = create_in_vault(request, decision, issuance_id, deadline);
  if (!value) {
    m_recorder.failed(issuance_id, value.error());
    return value.error();
  }

  const Minted minted = minted_of(*value, decision);
  if (auto recorded = m_recorder.issued(issuance_id, minted); !recorded) {
    return revoke_unrecorded(minted, recorded.error());
  }
  return value;
}

Result<CachedValue>
Issuer::create_in_vault(const docker::SecretRequest& request,
                        const rules::Decision& decision,
                        const std::string& issuance_id,
                        Deadline deadline) {
  switch (decision.kind) {
  case rules::Kind::kv:
    return issue_kv(request, decision, issuance_id, deadline);
  case rules::Kind::dynamic:
    return issue_dynamic(request, decision, issuance_id, deadline);
  case rules::Kind::wrapped_token:
  case rules::Kind::token:
    break;
  }
  return mint_token(request, decision, issuance_id, deadline);
}

// A credential the ledger could not record must not reach the task: it
// would outlive it unseen. Revoked here; if even that fails, the row
// stays pending and start-up settling finds it.
Error Issuer::revoke_unrecorded(const Minted& minted, const Error& why) {
  const Credentials credentials{
      minted.accessor, minted.wrapping_accessor, minted.lease_id};
  const Status revoked = revoke_credentials(
      m_vault, m_login, credentials, Deadline::after(k_cleanup_budget));
  if (!revoked) {
    log::error("issuer",
               "cannot revoke an unrecorded credential accessor={}: {}",
               minted.accessor,
               revoked.error().message);
  }
  const Error failure =
      why.wrap(revoked ? "not handed out (revoked again)"
                       : "not handed out (its revocation failed too)");
  return Error(ErrorKind::unavailable, failure.code, failure.message);
}

Status Issuer::with_login(Deadline deadline, const LoginStep& step) {
  for (int attempt = 0;; ++attempt) {
    auto login = m_login.current(deadline);
    if (!login) {
      return login.error();
    }
    auto status = step(*login);
    if (status || !detail::is_invalid_token(status.error()) || attempt > 0 ||
        deadline.expired()) {
      return status;
    }
    log::warn("issuer", "the Vault token was refused; logging in again");
    m_login.invalidate(*login);
  }
}

Result<CachedValue> Issuer::mint_token(const docker::SecretRequest& request,
                                       const rules::Decision& decision,
                                       const std::string& issuance_id,
                                       Deadline deadline) {
  const auto create = detail::token_request(request, decision, issuance_id);
  CachedValue out;
  out.do_not_reuse = decision.do_not_reuse;
  auto window = m_options.reuse_window;
  const auto now = std::chrono::system_clock::now();
  auto status = with_login(deadline, [&](const SecretString& login) -> Status {
    if (decision.kind == rules::Kind::wrapped_token) {
      auto w = m_vault.create_token_wrapped(
          login, create, decision.wrap_ttl, deadline);
      if (!w) {
        return w.error();
      }
      out.value = std::move(w->token);
      out.accessor = w->wrapped_accessor;
      out.wrapping_accessor = w->accessor;
      out.ttl = decision.ttl;
      window = detail::wrapped_window(window, w->ttl);
      return ok_status();
    }
    auto t = m_vault.create_token(login, create, deadline);
    if (!t) {
      return t.error();
    }
    out.value = std::move(t->client_token);
    out.accessor = t->accessor;
    out.ttl = t->lease_duration;
    return ok_status();
  });
  if (!status) {
    return status.error();
  }
  if (out.ttl.count() > 0) {
    out.expires_at = now + out.ttl;
  }
  out.fresh_until = Clock::now() + window;
  return out;
}

} // namespace vsp::issuer
