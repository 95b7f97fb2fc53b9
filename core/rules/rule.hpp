#pragma once

#include "core/util/duration.hpp"

#include <optional>
#include <string>
#include <vector>

namespace vsp::rules {

// What a rule hands out.
enum class Kind {
  wrapped_token, // a per-task token, response-wrapped (the default)
  token,         // a per-task token, plain
};

const char* to_string(Kind kind);

enum class NoDefaultPolicy { no, yes };

// Where in the rules file something was written, for messages.
struct Mark {
  int line = 0;   // 1-based; 0 when unknown
  int column = 0; // 1-based
};

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

// The token a token kind mints, and how far labels may narrow it.
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

struct Rule {
  std::string name;
  Mark mark;
  Match match;
  Kind kind = Kind::wrapped_token;
  TokenGrant token;
  Seconds wrap_ttl{0};              // wrapping TTL of wrapped kinds
  Seconds max_wrap_ttl{0};          // the most `vsp.wrap-ttl` may ask for
  std::optional<bool> do_not_reuse; // overrides the kind's default
};

} // namespace vsp::rules
