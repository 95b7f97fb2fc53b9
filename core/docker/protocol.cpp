#include "core/docker/protocol.hpp"

#include "core/util/base64.hpp"

#include <nlohmann/json.hpp>

namespace vsp::docker {

std::string activate_response() {
  return R"({"Implements":["secretprovider"]})";
}

SecretString value_response(const SecretString& value, DoNotReuse reuse) {
  // Built by hand rather than through a JSON object so the secret lives in
  // exactly one buffer that is wiped afterwards.
  std::string encoded = base64::encode(value.reveal());
  std::string body;
  body.reserve(encoded.size() + 40);
  body += R"({"Value":")";
  body += encoded;
  body += reuse == DoNotReuse::yes ? R"(","DoNotReuse":true})"
                                   : R"(","DoNotReuse":false})";
  wipe(encoded);
  return SecretString(std::move(body));
}

std::string error_response(std::string_view message) {
  return nlohmann::json{{"Err", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace vsp::docker
