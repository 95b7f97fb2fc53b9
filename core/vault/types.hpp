#pragma once

#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Values that cross the core/vault boundary, and the parsers that build
// them from Vault's replies.
namespace vsp::vault {

using Seconds = std::chrono::seconds;

enum class Method { get, post, put, del, list, head };

// yes: sending the request twice could have two effects: a duplicate token,
// a second set of dynamic credentials, a consumed wrapping token. Such a
// request is replayed only when it certainly never left this process.
enum class Minting { no, yes };

enum class NoDefaultPolicy { no, yes };
enum class Orphan { no, yes };

struct CallOptions {
  // Ask Vault to response-wrap the reply with this TTL (> 0).
  std::optional<Seconds> wrap_ttl;
  Minting minting = Minting::no;
  // Query parameters, percent-encoded by the client.
  std::vector<std::pair<std::string, std::string>> query;
};

// Vault's answer to one call: a 2xx status (or a 404/... an operation
// chose to accept) and the JSON body, null when the body was empty.
struct Response {
  long status = 0;
  nlohmann::json body;
};

struct WrapInfo {
  SecretString token;
  std::string accessor;
  Seconds ttl{0};
  std::string creation_time;
  std::string creation_path;
  std::string wrapped_accessor; // empty unless the wrapped reply was a token
};

// The `auth` block of a token create, login or renew reply.
struct TokenAuth {
  SecretString client_token; // empty in renew-accessor replies
  std::string accessor;
  std::vector<std::string> policies;
  std::map<std::string, std::string> metadata;
  Seconds lease_duration{0};
  bool renewable = false;
  bool orphan = false;
  std::string token_type;
};

struct TokenCreateRequest {
  // Token role: auth/token/create/<role>. Empty: auth/token/create, or
  // auth/token/create-orphan when `orphan` is yes. With a role, the role
  // decides orphan status and `orphan` is ignored.
  std::string role;
  Orphan orphan = Orphan::no;
  std::vector<std::string> policies;
  std::map<std::string, std::string> meta;
  std::optional<Seconds> ttl;
  std::optional<Seconds> explicit_max_ttl;
  std::optional<Seconds> period;
  std::optional<int> num_uses;
  std::string display_name;
  NoDefaultPolicy no_default_policy = NoDefaultPolicy::no;
  std::optional<bool> renewable;
};

// A token lookup (self, token or accessor). Never holds the token itself.
struct TokenInfo {
  std::string accessor;
  std::string display_name;
  std::string path;
  std::string type;
  std::string expire_time; // RFC 3339, empty for a non-expiring token
  std::vector<std::string> policies;
  std::map<std::string, std::string> meta;
  Seconds ttl{0};
  Seconds creation_ttl{0};
  Seconds explicit_max_ttl{0};
  Seconds period{0};
  bool orphan = false;
  bool renewable = false;
  int num_uses = 0;
};

struct WrapLookup {
  std::string creation_path;
  std::string creation_time;
  Seconds creation_ttl{0};
};

struct LeaseInfo {
  std::string id;
  std::string issue_time;
  std::string expire_time;
  std::string last_renewal; // empty until renewed
  Seconds ttl{0};
  bool renewable = false;
};

struct LeaseRenewal {
  std::string lease_id;
  Seconds lease_duration{0};
  bool renewable = false;
};

// A generic read or write reply: dynamic credentials, PKI certificates.
// `lease_id` is empty for secrets without a lease.
struct Secret {
  nlohmann::json data; // object, or null when Vault returned none
  std::string lease_id;
  Seconds lease_duration{0};
  bool renewable = false;
  std::vector<std::string> warnings;
};

// Where a path is mounted, from sys/internal/ui/mounts/<path>.
struct MountInfo {
  std::string path; // the mount, with its trailing slash: "secret/"
  std::string type; // "kv", "database", ...
  int kv_version = 1;
};

struct KvMetadata {
  int version = 0;
  std::string created_time;
  std::string deletion_time; // empty unless soft-deleted
  bool destroyed = false;
  nlohmann::json custom_metadata; // object or null
};

struct KvSecret {
  nlohmann::json data; // the stored map
  int kv_version = 1;
  std::string mount;
  KvMetadata metadata;       // KV v2 only
  Seconds lease_duration{0}; // KV v1: the mount's advisory TTL
};

struct Health {
  long status = 0; // 200 active; 299 any other state (see Client::health)
  bool initialized = false;
  bool sealed = false;
  bool standby = false;
  bool performance_standby = false;
  std::string version;
  std::string cluster_name;
  std::string cluster_id;
  std::string replication_dr_mode;
  std::string replication_performance_mode;
  std::int64_t server_time_utc = 0;
};

// Parsers: each fails with errc::invalid_response naming `path` when the
// reply lacks what the operation promised. Those taking a mutable Response
// move the token out of the JSON instead of copying it.
Result<WrapInfo> parse_wrap_info(Response& response, std::string_view path);
Result<TokenAuth> parse_token_auth(Response& response, std::string_view path);
Result<TokenInfo> parse_token_info(const Response& response,
                                   std::string_view path);
Result<WrapLookup> parse_wrap_lookup(const Response& response,
                                     std::string_view path);
Result<LeaseInfo> parse_lease_info(const Response& response,
                                   std::string_view path);
Result<LeaseRenewal> parse_lease_renewal(const Response& response,
                                         std::string_view path);
Result<Secret> parse_secret(Response& response, std::string_view path);
Result<Health> parse_health(const Response& response);

// data.keys of a LIST reply; an empty list when there is no body.
Result<std::vector<std::string>> parse_keys(const Response& response,
                                            std::string_view path);

} // namespace vsp::vault
