#pragma once

#include "core/docker/secret_request.hpp"
#include "core/util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace vsp::rules {

// A path (or parameter) written with placeholders: "{secret}",
// "{service}", "{stack}" and "{label:<key>}" (the secret's label, else
// the service's). Everything else is literal.
class PathTemplate {
public:
  enum class Part { literal, secret, service, stack, label };
  struct Piece {
    Part part = Part::literal;
    std::string text; // the literal, or the label key
  };

  PathTemplate() = default;

  // Parses `text`; fails with invalid_input naming the first unknown or
  // unclosed placeholder and its 1-based column.
  static Result<PathTemplate> parse(std::string_view text);

  // The template with every placeholder filled from `request`. A
  // placeholder with no value (no stack, a missing label) is a denied
  // Error saying which.
  Result<std::string> expand(const docker::SecretRequest& request) const;

  const std::string& text() const { return m_text; }
  const std::vector<Piece>& pieces() const { return m_pieces; }
  bool empty() const { return m_text.empty(); }
  // Whether any piece uses a label.
  bool uses_labels() const;

private:
  std::string m_text;
  std::vector<Piece> m_pieces;
};

// Empty when `path` is a safe relative path: not empty, not absolute, no
// empty, "." or ".." segment, no trailing '/', and only the characters
// A-Z a-z 0-9 . _ - and '/'. Otherwise what is wrong with it.
std::string path_problem(std::string_view path);

// Same for a prefix, which must also end in '/'.
std::string prefix_problem(std::string_view prefix);

// The characters a literal part of a path may hold, besides '/'.
bool is_path_char(char c);

// The secret's label `key`, else the service's; null when neither has it.
const std::string* find_label(const docker::SecretRequest& request,
                              std::string_view key);

// The stack namespace from the secret's labels, else the service's.
std::string stack_of(const docker::SecretRequest& request);

} // namespace vsp::rules
