// Issuer: KV values. Reads go through a token carrying the rule's
// policies (so Vault's ACL bounds what a rule can read, whatever the
// plugin's own login may do), and identical reads within a short window
// are shared, so a burst of tasks costs one Vault read.

#include "core/issuer/issuer.hpp"

#include "core/issuer/issuer_internal.hpp"
#include "core/issuer/render.hpp"
#include "core/util/log.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace vsp::issuer {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// Reader tokens are replaced after this share of their TTL.
constexpr double k_reader_use = 2.0 / 3.0;

std::string reader_key(const rules::Decision& d) {
  return fmt::format("{}\n{}\n{}",
                     d.token_role,
                     fmt::join(d.policies, ","),
                     d.no_default_policy == rules::NoDefaultPolicy::yes);
}

std::string read_key(const std::string& reader, const rules::Decision& d) {
  return fmt::format("{}\n{}\n{}\n{}\n{}",
                     reader,
                     d.path,
                     d.version.value_or(0),
                     d.kv_version.value_or(0),
                     d.kv_mount);
}

// The mount a pinned KV version reads from, without asking Vault.
vault::MountInfo pinned_mount(const rules::Decision& d) {
  vault::MountInfo m;
  m.path = d.kv_mount;
  m.type = "kv";
  m.kv_version = *d.kv_version;
  return m;
}

// The shared reply, kept as JSON text in a SecretString so it is wiped
// when the window ends.
SecretString to_shared(const vault::KvSecret& kv) {
  json out{{"data", kv.data}, {"kv_version", kv.kv_version}};
  if (kv.kv_version == 2) {
    out["version"] = kv.metadata.version;
  }
  return SecretString(out.dump());
}

vault::KvSecret from_shared(const SecretString& text) {
  const json in = json::parse(text.reveal());
  vault::KvSecret kv;
  kv.data = in.at("data");
  kv.kv_version = in.at("kv_version").get<int>();
  kv.metadata.version = in.value("version", 0);
  return kv;
}

} // namespace

Result<CachedValue> Issuer::reader_token(const rules::Decision& decision,
                                         Deadline deadline,
                                         std::string& key) {
  key = reader_key(decision);
  const auto mint = [&]() -> Result<CachedValue> {
    vault::TokenCreateRequest create;
    create.role = decision.token_role;
    create.policies = decision.policies;
    create.meta = {{"vsp_kind", "kv-reader"}, {"vsp_rule", decision.rule}};
    create.ttl = m_options.kv_reader_ttl;
    create.display_name = "vsp-kv-reader";
    create.no_default_policy =
        decision.no_default_policy == rules::NoDefaultPolicy::yes
            ? vault::NoDefaultPolicy::yes
            : vault::NoDefaultPolicy::no;
    CachedValue out;
    auto status = with_login(deadline, [&](const SecretString& login) {
      auto t = m_vault.create_token(login, create, deadline);
      if (!t) {
        return Status(t.error());
      }
      out.value = std::move(t->client_token);
      out.accessor = t->accessor;
      out.ttl = t->lease_duration.count() > 0 ? t->lease_duration
                                              : m_options.kv_reader_ttl;
      return ok_status();
    });
    if (!status) {
      return status.error();
    }
    out.fresh_until =
        Clock::now() +
        std::chrono::duration_cast<Clock::duration>(out.ttl * k_reader_use);
    log::debug("issuer",
               "kv reader token minted accessor={} policies={}",
               out.accessor,
               fmt::join(decision.policies, ","));
    return out;
  };
  bool reused = false;
  return m_readers.get_or_mint(key, deadline, mint, reused);
}

Result<vault::KvSecret> Issuer::read_kv_shared(const rules::Decision& decision,
                                               Deadline deadline) {
  for (int attempt = 0;; ++attempt) {
    std::string reader_cache_key;
    auto reader = reader_token(decision, deadline, reader_cache_key);
    if (!reader) {
      return reader.error();
    }
    const auto read = [&]() -> Result<CachedValue> {
      auto kv =
          decision.kv_version
              ? m_vault.read_kv_in(reader->value,
                                   pinned_mount(decision),
                                   decision.path,
                                   decision.version,
                                   deadline)
              : m_vault.read_kv(
                    reader->value, decision.path, decision.version, deadline);
      if (!kv) {
        return kv.error();
      }
      CachedValue out;
      out.value = to_shared(*kv);
      out.fresh_until = Clock::now() + m_options.kv_coalesce_window;
      return out;
    };
    bool shared = false;
    auto got = m_kv_reads.get_or_mint(
        read_key(reader_cache_key, decision), deadline, read, shared);
    if (got) {
      return from_shared(got->value);
    }
    // A reader revoked or expired behind our back: mint another once.
    if (detail::is_invalid_token(got.error()) && attempt == 0) {
      m_readers.erase(reader_cache_key);
      continue;
    }
    return got.error();
  }
}

Result<CachedValue> Issuer::issue_kv(const docker::SecretRequest& request,
                                     const rules::Decision& decision,
                                     const std::string& issuance_id,
                                     Deadline deadline) {
  if (decision.wrap_ttl.count() > 0) {
    return issue_kv_wrapped(decision, deadline);
  }
  auto kv = read_kv_shared(decision, deadline);
  if (!kv) {
    return kv.error();
  }

  ValueFacts facts;
  facts.issuance_id = issuance_id;
  facts.kv_version = kv->kv_version;
  if (kv->kv_version == 2) {
    facts.version = kv->metadata.version;
  }
  auto value = render_value(
      decision.value, kv->data, value_metadata(request, decision, facts));
  if (!value) {
    return value.error();
  }
  CachedValue out;
  out.value = std::move(*value);
  out.do_not_reuse = decision.do_not_reuse;
  out.fresh_until = Clock::now() + m_options.reuse_window;
  return out;
}

// The wrapped reply is the KV read itself, made in one round trip with
// X-Vault-Wrap-TTL: the task unwraps Vault's own KV response.
Result<CachedValue> Issuer::issue_kv_wrapped(const rules::Decision& decision,
                                             Deadline deadline) {
  std::string reader_cache_key;
  auto reader = reader_token(decision, deadline, reader_cache_key);
  if (!reader) {
    return reader.error();
  }
  auto mount = decision.kv_version
                   ? Result<vault::MountInfo>(pinned_mount(decision))
                   : m_vault.mount_info(reader->value, decision.path, deadline);
  if (!mount) {
    return mount.error();
  }
  auto path = vault::kv_api_path(*mount, decision.path);
  if (!path) {
    return path.error();
  }
  vault::CallOptions options;
  options.wrap_ttl = decision.wrap_ttl;
  options.minting = vault::Minting::yes;
  if (decision.version && mount->kv_version == 2) {
    options.query.emplace_back("version", std::to_string(*decision.version));
  }
  auto reply = m_vault.call(
      vault::Method::get, *path, nullptr, &reader->value, options, deadline);
  if (!reply && reply.error().code == vault::errc::not_found &&
      mount->kv_version == 2) {
    // Errors are never wrapped; a plain read tells a deleted or destroyed
    // version apart from a missing secret.
    auto plain = m_vault.read_kv_in(
        reader->value, *mount, decision.path, decision.version, deadline);
    return plain ? reply.error() : plain.error();
  }
  if (!reply) {
    return reply.error();
  }
  auto wrap = vault::parse_wrap_info(*reply, *path);
  if (!wrap) {
    return wrap.error();
  }
  CachedValue out;
  out.value = std::move(wrap->token);
  out.wrapping_accessor = wrap->accessor;
  out.ttl = wrap->ttl;
  out.expires_at = std::chrono::system_clock::now() + wrap->ttl;
  out.do_not_reuse = decision.do_not_reuse;
  out.fresh_until =
      Clock::now() + detail::wrapped_window(m_options.reuse_window, wrap->ttl);
  return out;
}

} // namespace vsp::issuer
