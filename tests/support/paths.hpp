#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace vsp::test {

// A file under the source tree, e.g. "tests/data/docker-requests/x.json".
inline std::string source_path(const std::string& relative) {
  return std::string(VSP_SOURCE_DIR) + "/" + relative;
}

inline std::string binary_path(const std::string& relative) {
  return std::string(VSP_BINARY_DIR) + "/" + relative;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace vsp::test
