#pragma once

#include "core/rules/mark.hpp"
#include "core/rules/secret_path.hpp"
#include "core/rules/value_template.hpp"
#include "core/util/duration.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vsp::rules {

// What a rule hands out.
enum class Kind {
  wrapped_token, // a per-task token, response-wrapped (the default)
  token,         // a per-task token, plain
  kv,            // a KV v1 or v2 value
  dynamic,       // a value from any path that issues a lease
};

// "wrapped-token", "token", "kv", "dynamic".
const char* to_string(Kind kind);
std::optional<Kind> parse_kind(std::string_view text);

// True for the kinds that mint a per-task token as their value.
bool is_token_kind(Kind kind);

// How a KV or dynamic value becomes the secret's bytes.
enum class Format {
  raw,      // one field's value
  json,     // the whole map as JSON
  rendered, // the rule's template (`format: template`)
};

// "raw", "json", "template".
const char* to_string(Format format);
std::optional<Format> parse_format(std::string_view text);

// How a dynamic path is called.
enum class Method { get, post };

const char* to_string(Method method);

enum class NoDefaultPolicy { no, yes };

// One label condition: the label must exist and its value match `pattern`.
struct LabelCondition {
  std::string key;
  std::string pattern;
};

// Every condition present must hold; an absent one matches anything.
struct Match {
  std::optional<std::string> secret;  // glob on the secret name
  std::optional<std::string> service; // glob on the service name
  std::optional<std::string> image;   // glob on the task image
  std::optional<std::string> stack;   // glob on the stack namespace
  std::vector<LabelCondition> secret_labels;
  std::vector<LabelCondition> service_labels;
};

// The token a rule mints (the value of token kinds; the reader of KV and
// the lease holder of dynamic kinds), and how far labels may narrow it.
struct TokenGrant {
  std::string role; // token role; empty means auth/token/create
  std::vector<std::string> allowed_policies; // entries may be globs
  std::vector<std::string> policies;         // chosen when no label asks
  NoDefaultPolicy no_default_policy = NoDefaultPolicy::no;
  Seconds ttl{0};     // 0: Vault's default for the role
  Seconds max_ttl{0}; // the most `vsp.ttl` may ask for; 0: `ttl`
  std::optional<Seconds> explicit_max_ttl;
  std::optional<Seconds> period;
  std::optional<int> num_uses;
};

// Where a KV or dynamic value is read: `prefix` + the expanded `path`
// (or the `vsp.path` label), checked to stay under the prefix.
struct Source {
  PathTemplate prefix; // "secret/app/" or "secret/{stack}/"; ends in '/'
  PathTemplate path;   // default "{secret}"
  std::optional<int> kv_version; // pinned by the rule; empty: detected
  std::string kv_mount;          // with a pinned version; empty: first
                                 // segment of the prefix
  std::optional<int> version;    // KV v2 version; empty: the current one
  Method method = Method::get;
  // Body of a POST, parameter name to a template of the same language
  // as paths: "common_name: {service}.example.test".
  std::map<std::string, PathTemplate> params;
  // Parameters labels `vsp.param.<name>` may set, and the glob their
  // value must match.
  std::map<std::string, std::string> allowed_params;
  // dynamic: keep the lease (and the token holding it) renewed while the
  // task runs, instead of letting it end at its first TTL.
  bool renew = false;
};

// How the value is rendered.
struct ValueSpec {
  Format format = Format::raw;
  std::string field; // raw: the field; empty: the only one
  std::shared_ptr<const ValueTemplate> value_template; // Format::rendered
  bool include_metadata = false; // json: {"data":..., "metadata":...}
};

struct Rule {
  std::string name;
  Mark mark;
  Match match;
  Kind kind = Kind::wrapped_token;
  TokenGrant token;
  Source source;                    // kv and dynamic
  ValueSpec value;                  // kv and dynamic
  bool wrap = false;                // kv and dynamic: response-wrapped
  Seconds wrap_ttl{0};              // wrapping TTL of wrapped kinds
  Seconds max_wrap_ttl{0};          // the most `vsp.wrap-ttl` may ask for
  std::optional<bool> do_not_reuse; // overrides the kind's default
  // Choice labels this rule accepts (labels::k_choice_labels).
  std::set<std::string> allow_labels;

  // Whether the value is response-wrapped.
  bool wrapped() const { return kind == Kind::wrapped_token || wrap; }
  // The rule's DoNotReuse before labels: its own setting, else true for
  // anything task-scoped and false for a plain shared KV value.
  bool default_do_not_reuse() const;
};

} // namespace vsp::rules
