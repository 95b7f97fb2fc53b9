#pragma once

#include "core/rules/rule.hpp"

#include <string>
#include <vector>

namespace vsp::rules {

// What one request will receive: the matched rule, narrowed by labels.
struct Decision {
  std::string rule;
  Kind kind = Kind::wrapped_token;
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
};

// One rule's verdict on one request, for `vsp rules explain`.
struct RuleVerdict {
  std::string rule;
  Mark mark;
  bool matched = false;
  std::string reason; // why it did not match, or why it refused
};

} // namespace vsp::rules
