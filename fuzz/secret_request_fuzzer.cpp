// libFuzzer target: a GetSecret body as it arrives on the plugin socket.
// Parses it, and for a request that parses, re-encodes it and parses that
// again: the round trip must give the same request.

#include "core/docker/protocol.hpp"
#include "core/docker/secret_request.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto request = vsp::docker::parse_secret_request(body);
  if (!request) {
    // The Err answer for the refusal must itself be valid JSON.
    const auto answer = vsp::docker::error_response(request.error().message);
    if (!nlohmann::json::accept(answer)) {
      std::abort();
    }
    return 0;
  }
  (void)vsp::docker::describe(*request);
  const auto again =
      vsp::docker::parse_secret_request(vsp::docker::to_json(*request).dump());
  if (!again || again->secret_name != request->secret_name ||
      again->task_id != request->task_id ||
      again->secret_labels != request->secret_labels ||
      again->service_labels != request->service_labels) {
    std::abort();
  }
  return 0;
}
