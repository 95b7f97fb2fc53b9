#include "core/ledger/issuance.hpp"

#include <array>
#include <cstddef>
#include <utility>

namespace vsp::ledger {
namespace {

constexpr std::array k_states = {
    std::pair{State::pending, "pending"},
    std::pair{State::issued, "issued"},
    std::pair{State::revoked, "revoked"},
    std::pair{State::expired, "expired"},
    std::pair{State::failed, "failed"},
    std::pair{State::unknown, "unknown"},
};

constexpr std::array k_actors = {
    std::pair{Actor::plugin, "plugin"},
    std::pair{Actor::cli, "cli"},
    std::pair{Actor::poller, "poller"},
};

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

bool is_token_char(char c) {
  return is_alnum(c) || c == '_' || c == '-';
}

// Current tokens: "hvs." (service), "hvb." (batch), "hvr." (recovery),
// then a long base62/base64url body. Twenty characters of body is far
// shorter than any real token and far longer than a word after "hvs.".
bool has_prefixed_token(std::string_view text) {
  constexpr std::size_t k_min_body = 20;
  for (std::size_t at = text.find("hv"); at != std::string_view::npos;
       at = text.find("hv", at + 1)) {
    if (at + 4 > text.size() || text[at + 3] != '.') {
      continue;
    }
    const char type = text[at + 2];
    if (type != 's' && type != 'b' && type != 'r') {
      continue;
    }
    std::size_t body = 0;
    while (at + 4 + body < text.size() && is_token_char(text[at + 4 + body])) {
      ++body;
    }
    if (body >= k_min_body) {
      return true;
    }
  }
  return false;
}

// Tokens from Vault before 1.10: "s." (or "b.", "r.") and 24 base62
// characters, standing alone as a word.
bool has_legacy_token(std::string_view text) {
  constexpr std::size_t k_body = 24;
  for (std::size_t at = 0; at + 2 + k_body <= text.size(); ++at) {
    const char type = text[at];
    if ((type != 's' && type != 'b' && type != 'r') || text[at + 1] != '.') {
      continue;
    }
    if (at > 0 && is_token_char(text[at - 1])) {
      continue;
    }
    std::size_t body = 0;
    while (at + 2 + body < text.size() && is_alnum(text[at + 2 + body])) {
      ++body;
    }
    if (body == k_body) {
      return true;
    }
  }
  return false;
}

} // namespace

const char* to_string(State state) {
  for (const auto& [value, name] : k_states) {
    if (value == state) {
      return name;
    }
  }
  return "unknown";
}

const char* to_string(Actor actor) {
  for (const auto& [value, name] : k_actors) {
    if (value == actor) {
      return name;
    }
  }
  return "plugin";
}

std::optional<State> parse_state(std::string_view text) {
  for (const auto& [value, name] : k_states) {
    if (text == name) {
      return value;
    }
  }
  return std::nullopt;
}

std::optional<Actor> parse_actor(std::string_view text) {
  for (const auto& [value, name] : k_actors) {
    if (text == name) {
      return value;
    }
  }
  return std::nullopt;
}

bool can_move(State from, State to) {
  if (to == State::pending || from == to) {
    return false;
  }
  switch (from) {
  case State::pending:
  case State::unknown:
    return true;
  case State::issued:
    return to == State::revoked || to == State::expired || to == State::unknown;
  case State::failed:
  case State::expired:
    return to == State::revoked;
  case State::revoked:
    return false;
  }
  return false;
}

bool is_settled(State state) {
  return state == State::revoked || state == State::expired ||
         state == State::failed;
}

bool looks_like_vault_token(std::string_view text) {
  return has_prefixed_token(text) || has_legacy_token(text);
}

} // namespace vsp::ledger
