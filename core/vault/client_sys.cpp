// Client: response wrapping, leases and health (sys/*).

#include "core/vault/client.hpp"

#include "core/vault/client_internal.hpp"

#include <fmt/format.h>

namespace vsp::vault {
namespace {

using detail::require;
using json = nlohmann::json;

// For a wrapping token in the header, Vault reports "not valid" as 400 or,
// when the token store rejects it first, as 403: both mean the same here.
Error as_wrapping_error(const Error& e) {
  if (e.code == errc::invalid_token || e.code == errc::permission_denied) {
    return detail::recode(e, errc::wrapping_token_invalid);
  }
  return e;
}

} // namespace

Result<WrapInfo> Client::wrap(const SecretString& token,
                              const json& data,
                              Seconds wrap_ttl,
                              Deadline d) {
  if (!data.is_object()) {
    return make_error(ErrorKind::invalid_input,
                      errc::invalid_argument,
                      "vault: only a json object can be wrapped");
  }
  const SecretString body = detail::json_text(data);
  Request r;
  r.method = Method::post;
  r.path = "sys/wrapping/wrap";
  r.body = &body;
  r.token = &token;
  r.options.wrap_ttl = wrap_ttl;
  // A replay would put the same secret in a second wrapping token.
  r.options.minting = Minting::yes;
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  return parse_wrap_info(*response, r.path);
}

Result<Response> Client::unwrap(const SecretString& wrapping_token,
                                Deadline d) {
  if (auto s = require("wrapping token", wrapping_token.reveal()); !s) {
    return s.error();
  }
  // The token goes in the header and nowhere else: in the header and the
  // body at once, the header use spends it and the body lookup then fails
  // (hashicorp/vault#1983).
  Request r;
  r.method = Method::post;
  r.path = "sys/wrapping/unwrap";
  r.token = &wrapping_token;
  r.options.minting = Minting::yes; // single use: a replay finds it spent
  auto response = request(r, d);
  if (!response) {
    return as_wrapping_error(response.error());
  }
  return response;
}

Result<WrapLookup> Client::lookup_wrapping(const SecretString& wrapping_token,
                                           Deadline d) {
  if (auto s = require("wrapping token", wrapping_token.reveal()); !s) {
    return s.error();
  }
  // Unauthenticated endpoint: the token goes in the body only, so no use
  // of it is spent.
  const SecretString body =
      detail::secret_fields({{"token", wrapping_token.reveal()}});
  Request r;
  r.method = Method::post;
  r.path = "sys/wrapping/lookup";
  r.body = &body;
  auto response = request(r, d);
  if (!response) {
    return as_wrapping_error(response.error());
  }
  return parse_wrap_lookup(*response, r.path);
}

Result<WrapInfo> Client::rewrap(const SecretString& wrapping_token,
                                Deadline d) {
  if (auto s = require("wrapping token", wrapping_token.reveal()); !s) {
    return s.error();
  }
  Request r;
  r.method = Method::post;
  r.path = "sys/wrapping/rewrap";
  r.token = &wrapping_token;
  r.options.minting = Minting::yes; // revokes the old token, mints a new one
  auto response = request(r, d);
  if (!response) {
    return as_wrapping_error(response.error());
  }
  return parse_wrap_info(*response, r.path);
}

Result<LeaseInfo> Client::lookup_lease(const SecretString& token,
                                       std::string_view lease_id,
                                       Deadline d) {
  if (auto s = require("lease id", lease_id); !s) {
    return s.error();
  }
  const SecretString body = detail::json_text({{"lease_id", lease_id}});
  const Request r{Method::put, "sys/leases/lookup", &body, &token};
  return detail::parsed(request(r, d), r.path, parse_lease_info);
}

Result<std::vector<std::string>> Client::list_leases(const SecretString& token,
                                                     std::string_view prefix,
                                                     Deadline d) {
  if (auto s = require("lease prefix", prefix); !s) {
    return s.error();
  }
  return list_keys(token, fmt::format("sys/leases/lookup/{}", prefix), d);
}

Result<LeaseRenewal> Client::renew_lease(const SecretString& token,
                                         std::string_view lease_id,
                                         std::optional<Seconds> increment,
                                         Deadline d) {
  if (auto s = require("lease id", lease_id); !s) {
    return s.error();
  }
  json fields = {{"lease_id", lease_id}};
  if (increment) {
    fields["increment"] = increment->count();
  }
  const SecretString body = detail::json_text(fields);
  const Request r{Method::put, "sys/leases/renew", &body, &token};
  return detail::parsed(request(r, d), r.path, parse_lease_renewal);
}

Status Client::revoke_lease(const SecretString& token,
                            std::string_view lease_id,
                            Deadline d) {
  if (auto s = require("lease id", lease_id); !s) {
    return s.error();
  }
  // sync: the docs and the OpenAPI schema disagree on the default.
  const SecretString body =
      detail::json_text({{"lease_id", lease_id}, {"sync", true}});
  Request r;
  r.method = Method::put;
  r.path = "sys/leases/revoke";
  r.body = &body;
  r.token = &token;
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  return ok_status();
}

Status Client::revoke_lease_prefix(const SecretString& token,
                                   std::string_view prefix,
                                   Deadline d) {
  if (auto s = require("lease prefix", prefix); !s) {
    return s.error();
  }
  const SecretString body = detail::json_text({{"sync", true}});
  Request r;
  r.method = Method::put;
  r.path = fmt::format("sys/leases/revoke-prefix/{}", prefix);
  r.body = &body;
  r.token = &token;
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  return ok_status();
}

Result<Health> Client::health(Deadline d) {
  Request r;
  r.method = Method::get;
  r.path = "sys/health";
  for (const char* code : {"standbycode",
                           "performancestandbycode",
                           "drsecondarycode",
                           "sealedcode",
                           "uninitcode"}) {
    r.options.query.emplace_back(code, "299");
  }
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  return parse_health(*response);
}

} // namespace vsp::vault
