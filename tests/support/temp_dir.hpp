#pragma once

#include <string>

namespace vsp::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction. Throws std::runtime_error if it cannot be made.
class TempDir {
public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return m_path; }
  // `path()/name`.
  std::string file(const std::string& name) const;
  // Writes `content` to file(name) and returns that path.
  std::string write(const std::string& name, const std::string& content) const;

private:
  std::string m_path;
};

} // namespace vsp::test
