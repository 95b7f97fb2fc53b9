// libFuzzer target: a value template and the secret it renders. The input
// is the template text, then optionally a NUL byte and a JSON object used
// as the secret's data (a fixed one otherwise).

#include "core/issuer/render.hpp"
#include "core/rules/value_template.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto split = input.find('\0');
  const std::string_view text = input.substr(0, split);

  nlohmann::json secret = {{"username", "v-web-ro-1"},
                           {"password", "p'w\"d\\\n$(x)`y`"},
                           {"port", 5432},
                           {"chain", {"-----A-----", "-----B-----"}},
                           {"empty", nullptr},
                           {"nested", {{"a", {1, 2.5, true}}}}};
  if (split != std::string_view::npos) {
    auto parsed =
        nlohmann::json::parse(input.substr(split + 1), nullptr, false);
    if (parsed.is_object()) {
      secret = std::move(parsed);
    }
  }
  const nlohmann::json metadata = {{"task_id", "t1"},
                                   {"lease_id", "database/creds/ro/x"},
                                   {"expires_at", "2026-01-02T03:04:05Z"}};

  vsp::rules::Mark at;
  auto parsed = vsp::rules::ValueTemplate::parse(text, at);
  if (!parsed) {
    if (at.line < 1 || at.column < 1 || parsed.error().message.empty()) {
      std::abort();
    }
    return 0;
  }
  (void)parsed->fields();
  auto value = parsed->render(secret, metadata);
  if (value) {
    (void)vsp::issuer::check_value_size(*value);
  }

  // The same template through the issuer's renderer.
  vsp::rules::ValueSpec spec;
  spec.format = vsp::rules::Format::rendered;
  spec.value_template = std::make_shared<const vsp::rules::ValueTemplate>(
      std::move(parsed).value());
  (void)vsp::issuer::render_value(spec, secret, metadata);
  return 0;
}
