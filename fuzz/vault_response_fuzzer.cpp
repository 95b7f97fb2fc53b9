// libFuzzer target: what a Vault server (or something pretending to be
// one) answers. The first byte picks the HTTP status, the rest is the
// body; every reply parser and the error decoder read it. None may crash,
// and no error message may carry a token-shaped string from the body.

#include "core/vault/errors.hpp"
#include "core/vault/retry.hpp"
#include "core/vault/types.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace vsp::vault;

constexpr long k_statuses[] = {200,
                               204,
                               307,
                               400,
                               403,
                               404,
                               405,
                               412,
                               429,
                               500,
                               501,
                               502,
                               503,
                               504,
                               299,
                               472};

// A token planted in every body the scrubber must catch.
bool leaks(const std::string& message) {
  return message.find("hvs.CAESIFuzzFuzzFuzzFuzzFuzz") != std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const long status = k_statuses[data[0] % std::size(k_statuses)];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  Response response;
  response.status = status;
  BodyFormat format = BodyFormat::empty;
  if (text.find_first_not_of(" \t\r\n") != std::string::npos) {
    response.body = nlohmann::json::parse(text, nullptr, false);
    format = BodyFormat::json;
    if (response.body.is_discarded()) {
      response.body = nullptr;
      format = BodyFormat::other;
    }
  }

  const std::string_view path = "secret/data/app";
  {
    Response copy = response;
    (void)parse_wrap_info(copy, path);
  }
  {
    Response copy = response;
    (void)parse_token_auth(copy, path);
  }
  {
    Response copy = response;
    (void)parse_secret(copy, path);
  }
  (void)parse_token_info(response, path);
  (void)parse_wrap_lookup(response, path);
  (void)parse_lease_info(response, path);
  (void)parse_lease_renewal(response, path);
  (void)parse_health(response);
  (void)parse_keys(response, path);

  const auto vault_text = vault_error_text(response.body);
  (void)names_invalid_token(vault_text);
  const auto error = error_for_status(status, path, response.body, format);
  (void)kind_of(error.code);
  (void)mint_replay_safe(status, vault_text);

  // The scrubber on its own, and on a body with a planted token.
  (void)scrub_tokens(text);
  if (leaks(scrub_tokens(text + " hvs.CAESIFuzzFuzzFuzzFuzzFuzz"))) {
    std::abort();
  }
  const nlohmann::json planted = {
      {"errors", {text + "hvs.CAESIFuzzFuzzFuzzFuzzFuzz " + text}}};
  if (leaks(vault_error_text(planted)) ||
      leaks(
          error_for_status(status, path, planted, BodyFormat::json).message)) {
    std::abort();
  }

  // A Retry-After header with the same bytes.
  (void)parse_retry_after(text, std::chrono::system_clock::now());
  return 0;
}
