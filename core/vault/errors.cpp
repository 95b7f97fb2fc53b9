#include "core/vault/errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace vsp::vault {
namespace {

// Vault's messages are short; a longer one is a proxy page or an echo of
// input, and is not worth carrying through every log line.
constexpr std::size_t k_max_text = 400;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

bool contains(std::string_view haystack_lower, std::string_view needle) {
  return haystack_lower.find(needle) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

// "2 errors occurred:" / "1 error occurred:"
bool is_multierror_header(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) {
    ++i;
  }
  if (i == 0) {
    return false;
  }
  const std::string_view rest = line.substr(i);
  return rest == " error occurred:" || rest == " errors occurred:";
}

void append_message(std::string& out, std::string_view message) {
  std::size_t start = 0;
  while (start <= message.size()) {
    auto end = message.find('\n', start);
    if (end == std::string_view::npos) {
      end = message.size();
    }
    std::string_view line = trim(message.substr(start, end - start));
    if (line.rfind("* ", 0) == 0) {
      line = trim(line.substr(2));
    }
    if (!line.empty() && !is_multierror_header(line)) {
      if (!out.empty()) {
        out += "; ";
      }
      out += line;
    }
    start = end + 1;
  }
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// Length of a token-shaped run starting at `i`, or 0. The legacy one-letter
// prefixes count only at the start of a word ("paths.abc..." is no token);
// hvs./hvb./hvr. count anywhere, even glued to the text before them.
std::size_t token_run(std::string_view text, std::size_t i) {
  const bool word_start =
      i == 0 || (!is_token_char(text[i - 1]) && text[i - 1] != '.');
  static constexpr std::string_view k_prefixes[] = {
      "hvs.", "hvb.", "hvr.", "s.", "b.", "r."};
  for (const auto prefix : k_prefixes) {
    if (text.substr(i, prefix.size()) != prefix ||
        (prefix.size() < 4 && !word_start)) {
      continue;
    }
    std::size_t j = i + prefix.size();
    while (j < text.size() && (is_token_char(text[j]) || text[j] == '.')) {
      ++j;
    }
    if (j - i - prefix.size() >= 20) {
      return j - i;
    }
  }
  return 0;
}

std::string with_text(std::string message, const std::string& text) {
  if (!text.empty()) {
    message += ": ";
    message += text;
  }
  return message;
}

std::string note_format(BodyFormat format) {
  return format == BodyFormat::other ? " (the reply was not json: a proxy?)"
                                     : "";
}

Error client_error(long status,
                   std::string_view path,
                   const std::string& text,
                   BodyFormat format) {
  const std::string l = lower(text);
  const auto err = [&](const char* code, std::string msg) {
    return make_error(kind_of(code), code, with_text(std::move(msg), text));
  };
  if (status == 400) {
    if (contains(l, "wrapping token is not valid")) {
      return err(errc::wrapping_token_invalid,
                 fmt::format("vault: wrapping token refused on {}", path));
    }
    if (contains(l, "lease is not renewable") ||
        contains(l, "cannot be renewed")) {
      return err(errc::not_renewable,
                 fmt::format("vault: not renewable ({})", path));
    }
    if (contains(l, "lease expired")) {
      return err(errc::lease_expired,
                 fmt::format("vault: lease expired ({})", path));
    }
    if (contains(l, "invalid lease") || contains(l, "lease not found") ||
        contains(l, "invalid accessor") || contains(l, "token not found")) {
      return err(errc::not_found, fmt::format("vault: not found ({})", path));
    }
  }
  if (status == 403) {
    if (names_invalid_token(l)) {
      return make_error(
          ErrorKind::denied,
          errc::invalid_token,
          fmt::format("vault: invalid or expired token on {}", path));
    }
    std::string msg = fmt::format(
        "vault: permission denied on {}{}", path, note_format(format));
    if (!text.empty() && l != "permission denied") {
      msg += ": " + text;
    }
    return make_error(ErrorKind::denied, errc::permission_denied, msg);
  }
  if (status == 404) {
    return err(errc::not_found, fmt::format("vault: not found: {}", path));
  }
  if (status == 423) {
    return err(errc::permission_denied,
               fmt::format("vault: namespace locked ({})", path));
  }
  if (status == 429) {
    return err(errc::rate_limited,
               fmt::format("vault: rate limited on {}", path));
  }
  if (status == 412) {
    return err(
        errc::server_error,
        fmt::format("vault: state not yet replicated (412) on {}", path));
  }
  return err(errc::bad_request,
             fmt::format("vault: bad request ({}) on {}{}",
                         status,
                         path,
                         note_format(format)));
}

} // namespace

Error make_error(ErrorKind kind, const char* code, std::string message) {
  return Error(kind, code, std::move(message));
}

ErrorKind kind_of(std::string_view code) {
  if (code == errc::permission_denied || code == errc::invalid_token ||
      code == errc::wrapping_token_invalid) {
    return ErrorKind::denied;
  }
  if (code == errc::not_found || code == errc::deleted ||
      code == errc::destroyed || code == errc::lease_expired) {
    return ErrorKind::not_found;
  }
  if (code == errc::timeout) {
    return ErrorKind::timeout;
  }
  if (code == errc::bad_request || code == errc::not_renewable ||
      code == errc::invalid_argument) {
    return ErrorKind::invalid_input;
  }
  if (code == errc::invalid_response) {
    return ErrorKind::internal;
  }
  return ErrorKind::unavailable;
}

std::string vault_error_text(const nlohmann::json& body) {
  if (!body.is_object()) {
    return {};
  }
  const auto it = body.find("errors");
  if (it == body.end() || !it->is_array()) {
    return {};
  }
  std::string out;
  for (const auto& e : *it) {
    if (e.is_string()) {
      append_message(out, e.get_ref<const std::string&>());
    }
  }
  out = scrub_tokens(out);
  if (out.size() > k_max_text) {
    out.resize(k_max_text);
    out += "...";
  }
  return out;
}

bool names_invalid_token(std::string_view text) {
  const std::string l = lower(text);
  return contains(l, "invalid token") || contains(l, "bad token");
}

std::string scrub_tokens(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t n = token_run(text, i);
    if (n > 0) {
      out += "<redacted>";
      i += n;
    } else {
      out += text[i++];
    }
  }
  return out;
}

Error error_for_status(long status,
                       std::string_view path,
                       const nlohmann::json& body,
                       BodyFormat format) {
  std::string text = vault_error_text(body);
  if (status == 404 && text.empty() && body.is_object()) {
    // KV v2 puts its explanation in warnings, not errors.
    if (const auto w = body.find("warnings"); w != body.end()) {
      nlohmann::json as_errors = {{"errors", *w}};
      text = vault_error_text(as_errors);
    }
  }
  const std::string l = lower(text);
  if (status >= 300 && status < 400) {
    return make_error(
        ErrorKind::unavailable,
        errc::standby,
        fmt::format("vault: redirected ({}) on {} and could not follow it",
                    status,
                    path));
  }
  if (status >= 400 && status < 500) {
    return client_error(status, path, text, format);
  }
  if (status == 503 && contains(l, "vault is sealed")) {
    return make_error(ErrorKind::unavailable,
                      errc::sealed,
                      fmt::format("vault: vault is sealed ({})", path));
  }
  if (status >= 500 && (contains(l, "node not active") ||
                        contains(l, "standby") || contains(l, "no leader"))) {
    return make_error(
        ErrorKind::unavailable,
        errc::standby,
        with_text(fmt::format("vault: no active node for {}", path), text));
  }
  if (status >= 500 && status < 600) {
    return make_error(ErrorKind::unavailable,
                      errc::server_error,
                      with_text(fmt::format("vault: server error {} on {}{}",
                                            status,
                                            path,
                                            note_format(format)),
                                text));
  }
  return make_error(ErrorKind::internal,
                    errc::invalid_response,
                    fmt::format("vault: unexpected status {} on {}{}",
                                status,
                                path,
                                note_format(format)));
}

} // namespace vsp::vault
