#include "core/vault/retry.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <string>

namespace vsp::vault {

bool retryable_status(long status) {
  return status == 412 || status == 429 ||
         (status >= 500 && status <= 599 && status != 501);
}

bool mint_replay_safe(long status, std::string_view vault_text) {
  if (status == 412 || status == 429 || status == 307 || status == 308) {
    return true;
  }
  if (status != 503) {
    return false;
  }
  std::string l(vault_text);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return l.find("vault is sealed") != std::string::npos ||
         l.find("node not active") != std::string::npos;
}

Millis backoff(int retry, Millis min, Millis max, double unit) {
  unit = std::clamp(unit, 0.0, 1.0);
  const auto span = static_cast<double>((max - min).count());
  const auto one = min + Millis(static_cast<Millis::rep>(span * unit));
  return one * std::max(retry, 1);
}

std::optional<Millis>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value[0]))) {
    value.remove_prefix(1);
  }
  while (!value.empty() &&
         std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) {
        return std::isdigit(c);
      })) {
    long long seconds = 0;
    const auto [end, ec] =
        std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size()) {
      return std::nullopt; // too large to mean anything
    }
    // A day is already far beyond any deadline; cap to stay in range.
    return Millis(std::min(seconds, 86'400LL) * 1000);
  }
  // libcurl's date parser reads all three HTTP-date forms of RFC 9110.
  const std::string text(value);
  const time_t at = curl_getdate(text.c_str(), nullptr);
  if (at == -1) {
    return std::nullopt;
  }
  // A date centuries away does not fit system_clock's nanoseconds: decide
  // while it is still whole seconds.
  constexpr Millis k_cap(86'400'000);
  const time_t now_s = std::chrono::system_clock::to_time_t(now);
  if (at <= now_s) {
    return Millis(0);
  }
  if (at - now_s > 86'400) {
    return k_cap;
  }
  const auto when = std::chrono::system_clock::from_time_t(at);
  if (when <= now) {
    return Millis(0);
  }
  const auto wait = std::chrono::duration_cast<Millis>(when - now);
  return std::min(wait, k_cap);
}

bool fits_deadline(Millis wait, Millis remaining, Millis min_attempt) {
  return wait + min_attempt <= remaining;
}

} // namespace vsp::vault
