#include "core/util/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace vsp {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

bool names_credential(std::string_view name) {
  static constexpr std::array<std::string_view, 9> k_words = {
      "token",
      "secret",
      "password",
      "passwd",
      "key",
      "sig",
      "auth",
      "session",
      "credential",
  };
  const std::string l = lower(name);
  return std::any_of(k_words.begin(), k_words.end(), [&](auto word) {
    return l.find(word) != std::string::npos;
  });
}

// "user:pass@host" keeps the user, loses the password.
std::string redact_authority(std::string_view authority) {
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) {
    return std::string(authority);
  }
  const std::string_view userinfo = authority.substr(0, at);
  const auto colon = userinfo.find(':');
  std::string out(userinfo.substr(0, colon));
  if (colon != std::string_view::npos) {
    out += ':';
    out += k_redacted;
  }
  out += authority.substr(at);
  return out;
}

std::string redact_query(std::string_view query) {
  std::string out;
  std::size_t start = 0;
  while (start <= query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) {
      end = query.size();
    }
    const std::string_view pair = query.substr(start, end - start);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && names_credential(pair.substr(0, eq))) {
      out += pair.substr(0, eq + 1);
      out += k_redacted;
    } else {
      out += pair;
    }
    if (end == query.size()) {
      break;
    }
    out += '&';
    start = end + 1;
  }
  return out;
}

} // namespace

std::string redact_url(std::string_view url) {
  std::string out;
  std::string_view rest = url;
  const auto scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    out += rest.substr(0, scheme_end + 3);
    rest.remove_prefix(scheme_end + 3);
    const auto authority_end = rest.find_first_of("/?#");
    out += redact_authority(rest.substr(0, authority_end));
    rest = authority_end == std::string_view::npos ? std::string_view()
                                                   : rest.substr(authority_end);
  }
  const auto q = rest.find('?');
  if (q == std::string_view::npos) {
    out += rest;
    return out;
  }
  out += rest.substr(0, q + 1);
  std::string_view query = rest.substr(q + 1);
  std::string_view fragment;
  if (const auto hash = query.find('#'); hash != std::string_view::npos) {
    fragment = query.substr(hash);
    query = query.substr(0, hash);
  }
  out += redact_query(query);
  out += fragment;
  return out;
}

std::string redact_header(std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return std::string(line);
  }
  const std::string name = lower(line.substr(0, colon));
  const bool secret = name == "authorization" ||
                      name == "proxy-authorization" || name == "cookie" ||
                      name == "set-cookie" ||
                      name.find("token") != std::string::npos;
  if (!secret) {
    return std::string(line);
  }
  std::string out(line.substr(0, colon + 1));
  out += ' ';
  out += k_redacted;
  return out;
}

std::string redact_secret(std::string_view text, const SecretString& secret) {
  const std::string_view needle = secret.reveal();
  std::string out;
  if (needle.empty()) {
    return std::string(text);
  }
  std::size_t pos = 0;
  while (true) {
    const auto hit = text.find(needle, pos);
    if (hit == std::string_view::npos) {
      out += text.substr(pos);
      return out;
    }
    out += text.substr(pos, hit - pos);
    out += k_redacted;
    pos = hit + needle.size();
  }
}

} // namespace vsp
