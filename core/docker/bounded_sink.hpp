#pragma once

#include <cstddef>
#include <string>

namespace vsp::docker {

// Where a libcurl transfer writes a reply body: at most `limit` bytes;
// past that the transfer is aborted and `overflow` set.
struct BoundedSink {
  explicit BoundedSink(std::size_t max_bytes) : limit(max_bytes) {}

  // A CURLOPT_WRITEFUNCTION, with the sink as CURLOPT_WRITEDATA.
  static std::size_t
  write(char* ptr, std::size_t size, std::size_t count, void* user) {
    auto* sink = static_cast<BoundedSink*>(user);
    const std::size_t n = size * count;
    if (sink->data.size() + n > sink->limit) {
      sink->overflow = true;
      return 0;
    }
    sink->data.append(ptr, n);
    return n;
  }

  std::size_t limit;
  std::string data;
  bool overflow = false;
};

} // namespace vsp::docker
