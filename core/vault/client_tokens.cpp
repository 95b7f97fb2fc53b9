// Client: the token auth method (auth/token/*).

#include "core/vault/client.hpp"

#include "core/util/log.hpp"
#include "core/vault/client_internal.hpp"

#include <fmt/format.h>

namespace vsp::vault {
namespace {

using detail::require;
using detail::seconds_text;
using json = nlohmann::json;

std::string create_path(const TokenCreateRequest& req) {
  if (!req.role.empty()) {
    return "auth/token/create/" + req.role;
  }
  return req.orphan == Orphan::yes ? "auth/token/create-orphan"
                                   : "auth/token/create";
}

json create_body(const TokenCreateRequest& req) {
  json body = json::object();
  if (!req.policies.empty()) {
    body["policies"] = req.policies;
  }
  if (!req.meta.empty()) {
    body["meta"] = req.meta;
  }
  if (req.ttl) {
    body["ttl"] = seconds_text(*req.ttl);
  }
  if (req.explicit_max_ttl) {
    body["explicit_max_ttl"] = seconds_text(*req.explicit_max_ttl);
  }
  if (req.period) {
    body["period"] = seconds_text(*req.period);
  }
  if (req.num_uses) {
    body["num_uses"] = *req.num_uses;
  }
  if (!req.display_name.empty()) {
    body["display_name"] = req.display_name;
  }
  if (req.no_default_policy == NoDefaultPolicy::yes) {
    body["no_default_policy"] = true;
  }
  if (req.renewable) {
    body["renewable"] = *req.renewable;
  }
  return body;
}

Status check_create(const TokenCreateRequest& req) {
  if (req.role.find('/') != std::string::npos) {
    return make_error(
        ErrorKind::invalid_input,
        errc::invalid_argument,
        fmt::format("vault: token role \"{}\" may not hold '/'", req.role));
  }
  return ok_status();
}

} // namespace

Result<TokenAuth> Client::create_token(const SecretString& token,
                                       const TokenCreateRequest& req,
                                       Deadline d) {
  if (auto s = check_create(req); !s) {
    return s.error();
  }
  const std::string path = create_path(req);
  const SecretString body = detail::json_text(create_body(req));
  Request r;
  r.method = Method::post;
  r.path = path;
  r.body = &body;
  r.token = &token;
  r.options.minting = Minting::yes;
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  auto auth = parse_token_auth(*response, path);
  if (auth && auth->client_token.empty()) {
    return make_error(ErrorKind::internal,
                      errc::invalid_response,
                      fmt::format("vault: reply to {} has no token", path));
  }
  return auth;
}

Result<WrapInfo> Client::create_token_wrapped(const SecretString& token,
                                              const TokenCreateRequest& req,
                                              Seconds wrap_ttl,
                                              Deadline d) {
  if (auto s = check_create(req); !s) {
    return s.error();
  }
  const std::string path = create_path(req);
  const SecretString body = detail::json_text(create_body(req));
  Request r;
  r.method = Method::post;
  r.path = path;
  r.body = &body;
  r.token = &token;
  r.options.minting = Minting::yes;
  r.options.wrap_ttl = wrap_ttl;
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  return parse_wrap_info(*response, path);
}

Result<TokenInfo> Client::lookup_self(const SecretString& token, Deadline d) {
  const Request r{Method::get, "auth/token/lookup-self", nullptr, &token};
  return detail::parsed(request(r, d), r.path, parse_token_info);
}

Result<TokenInfo> Client::lookup_token(const SecretString& token,
                                       const SecretString& target,
                                       Deadline d) {
  if (auto s = require("token to look up", target.reveal()); !s) {
    return s.error();
  }
  const SecretString body = detail::secret_fields({{"token", target.reveal()}});
  const Request r{Method::post, "auth/token/lookup", &body, &token};
  return detail::parsed(request(r, d), r.path, parse_token_info);
}

Result<TokenInfo> Client::lookup_accessor(const SecretString& token,
                                          std::string_view accessor,
                                          Deadline d) {
  if (auto s = require("accessor", accessor); !s) {
    return s.error();
  }
  const SecretString body = detail::json_text({{"accessor", accessor}});
  const Request r{Method::post, "auth/token/lookup-accessor", &body, &token};
  return detail::parsed(request(r, d), r.path, parse_token_info);
}

Result<TokenAuth> Client::renew_self(const SecretString& token,
                                     std::optional<Seconds> increment,
                                     Deadline d) {
  json fields = json::object();
  if (increment) {
    fields["increment"] = seconds_text(*increment);
  }
  const SecretString body = detail::json_text(fields);
  const Request r{Method::post, "auth/token/renew-self", &body, &token};
  return detail::parsed(request(r, d), r.path, parse_token_auth);
}

Result<TokenAuth> Client::renew_token(const SecretString& token,
                                      const SecretString& target,
                                      std::optional<Seconds> increment,
                                      Deadline d) {
  if (auto s = require("token to renew", target.reveal()); !s) {
    return s.error();
  }
  const std::string inc = increment ? seconds_text(*increment) : "";
  const SecretString body =
      increment ? detail::secret_fields(
                      {{"token", target.reveal()}, {"increment", inc}})
                : detail::secret_fields({{"token", target.reveal()}});
  const Request r{Method::post, "auth/token/renew", &body, &token};
  return detail::parsed(request(r, d), r.path, parse_token_auth);
}

Result<TokenAuth> Client::renew_accessor(const SecretString& token,
                                         std::string_view accessor,
                                         std::optional<Seconds> increment,
                                         Deadline d) {
  if (auto s = require("accessor", accessor); !s) {
    return s.error();
  }
  json fields = {{"accessor", accessor}};
  if (increment) {
    fields["increment"] = seconds_text(*increment);
  }
  const SecretString body = detail::json_text(fields);
  const Request r{Method::post, "auth/token/renew-accessor", &body, &token};
  return detail::parsed(request(r, d), r.path, parse_token_auth);
}

Status Client::revoke_self(const SecretString& token, Deadline d) {
  Request r;
  r.method = Method::post;
  r.path = "auth/token/revoke-self";
  r.token = &token;
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  return ok_status();
}

Status Client::revoke_token(const SecretString& token,
                            const SecretString& target,
                            Deadline d) {
  if (auto s = require("token to revoke", target.reveal()); !s) {
    return s.error();
  }
  const SecretString body = detail::secret_fields({{"token", target.reveal()}});
  Request r;
  r.method = Method::post;
  r.path = "auth/token/revoke";
  r.body = &body;
  r.token = &token;
  auto response = request(r, d);
  if (!response) {
    return response.error();
  }
  return ok_status();
}

Status Client::revoke_accessor(const SecretString& token,
                               std::string_view accessor,
                               Deadline d) {
  if (auto s = require("accessor", accessor); !s) {
    return s.error();
  }
  const SecretString body = detail::json_text({{"accessor", accessor}});
  Request r;
  r.method = Method::post;
  r.path = "auth/token/revoke-accessor";
  r.body = &body;
  r.token = &token;
  auto response = request(r, d);
  if (!response) {
    if (response.error().code == errc::not_found) {
      log::debug("vault",
                 "revoke-accessor: accessor {} unknown, already revoked",
                 accessor);
      return ok_status();
    }
    return response.error();
  }
  return ok_status();
}

Result<std::vector<std::string>>
Client::list_accessors(const SecretString& token, Deadline d) {
  return list_keys(token, "auth/token/accessors", d);
}

} // namespace vsp::vault
