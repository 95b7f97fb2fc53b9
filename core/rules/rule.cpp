#include "core/rules/rule.hpp"

namespace vsp::rules {

const char* to_string(Kind kind) {
  switch (kind) {
  case Kind::wrapped_token:
    return "wrapped-token";
  case Kind::token:
    return "token";
  case Kind::kv:
    return "kv";
  case Kind::dynamic:
    return "dynamic";
  }
  return "wrapped-token";
}

std::optional<Kind> parse_kind(std::string_view text) {
  for (const Kind k :
       {Kind::wrapped_token, Kind::token, Kind::kv, Kind::dynamic}) {
    if (text == to_string(k)) {
      return k;
    }
  }
  return std::nullopt;
}

bool is_token_kind(Kind kind) {
  return kind == Kind::wrapped_token || kind == Kind::token;
}

const char* to_string(Format format) {
  switch (format) {
  case Format::raw:
    return "raw";
  case Format::json:
    return "json";
  case Format::rendered:
    return "template";
  }
  return "raw";
}

std::optional<Format> parse_format(std::string_view text) {
  for (const Format f : {Format::raw, Format::json, Format::rendered}) {
    if (text == to_string(f)) {
      return f;
    }
  }
  return std::nullopt;
}

const char* to_string(Method method) {
  return method == Method::post ? "post" : "get";
}

bool Rule::default_do_not_reuse() const {
  // Only a plain KV value is the same for every task; everything else is
  // minted for one task, or can be opened only once.
  const bool shared = kind == Kind::kv && !wrap;
  return do_not_reuse.value_or(!shared);
}

} // namespace vsp::rules
