#pragma once

#include "core/rules/rule.hpp"

#include <map>
#include <string>
#include <vector>

namespace vsp::rules {

// What one request will receive: the matched rule, narrowed by labels.
struct Decision {
  std::string rule;
  Kind kind = Kind::wrapped_token;

  // The token minted: the value of token kinds, the reader of kv, the
  // lease holder of dynamic.
  std::string token_role;
  std::vector<std::string> policies; // exactly these (plus `default`
                                     // unless no_default_policy)
  NoDefaultPolicy no_default_policy = NoDefaultPolicy::no;
  Seconds ttl{0};
  std::optional<Seconds> explicit_max_ttl;
  std::optional<Seconds> period;
  std::optional<int> num_uses;

  Seconds wrap_ttl{0}; // 0: not wrapped
  bool do_not_reuse = true;

  // kv and dynamic.
  std::string prefix; // the rule's prefix, expanded
  std::string path;   // the Vault path (logical for kv): prefix + rest
  std::optional<int> kv_version; // pinned; empty: detected
  std::string kv_mount;          // with a pinned version
  std::optional<int> version;    // KV v2 version
  Method method = Method::get;
  std::map<std::string, std::string> params; // body of a POST
  ValueSpec value;
};

// One rule's verdict on one request, for `vsp rules explain`.
struct RuleVerdict {
  std::string rule;
  Mark mark;
  bool matched = false;
  std::string reason; // why it did not match, or why it refused
};

} // namespace vsp::rules
