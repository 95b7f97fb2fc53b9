#include "core/rules/secret_path.hpp"

#include "core/rules/labels.hpp"

#include <fmt/format.h>

#include <cctype>

namespace vsp::rules {
namespace {

Error template_error(std::string message) {
  return Error(
      ErrorKind::invalid_input, "invalid_template", std::move(message));
}

Error missing_value(std::string message) {
  return Error(ErrorKind::denied, "denied", std::move(message));
}

Result<PathTemplate::Piece> placeholder(std::string_view name,
                                        std::size_t column) {
  using Part = PathTemplate::Part;
  if (name == "secret") {
    return PathTemplate::Piece{Part::secret, {}};
  }
  if (name == "service") {
    return PathTemplate::Piece{Part::service, {}};
  }
  if (name == "stack") {
    return PathTemplate::Piece{Part::stack, {}};
  }
  constexpr std::string_view k_label = "label:";
  if (name.substr(0, k_label.size()) == k_label) {
    const std::string key(name.substr(k_label.size()));
    if (key.empty()) {
      return template_error(
          fmt::format("column {}: {{label:}} needs a label key", column));
    }
    return PathTemplate::Piece{Part::label, key};
  }
  return template_error(fmt::format("column {}: unknown placeholder {{{}}} "
                                    "(expected {{secret}}, {{service}}, "
                                    "{{stack}} or {{label:KEY}})",
                                    column,
                                    name));
}

} // namespace

Result<PathTemplate> PathTemplate::parse(std::string_view text) {
  PathTemplate out;
  out.m_text = std::string(text);
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') {
      return template_error(
          fmt::format("column {}: '}}' without a matching '{{'", i + 1));
    }
    if (text[i] != '{') {
      literal += text[i];
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) {
      return template_error(
          fmt::format("column {}: '{{' is never closed", i + 1));
    }
    auto piece = placeholder(text.substr(i + 1, close - i - 1), i + 1);
    if (!piece) {
      return piece.error();
    }
    if (!literal.empty()) {
      out.m_pieces.push_back({Part::literal, std::move(literal)});
      literal.clear();
    }
    out.m_pieces.push_back(std::move(*piece));
    i = close;
  }
  if (!literal.empty()) {
    out.m_pieces.push_back({Part::literal, std::move(literal)});
  }
  return out;
}

bool PathTemplate::uses_labels() const {
  for (const auto& p : m_pieces) {
    if (p.part == Part::label) {
      return true;
    }
  }
  return false;
}

Result<std::string>
PathTemplate::expand(const docker::SecretRequest& request) const {
  std::string out;
  for (const auto& p : m_pieces) {
    switch (p.part) {
    case Part::literal:
      out += p.text;
      break;
    case Part::secret:
      out += request.secret_name;
      break;
    case Part::service:
      if (request.service_name.empty()) {
        return missing_value(
            fmt::format("\"{}\" needs the service name, and the request "
                        "has none",
                        m_text));
      }
      out += request.service_name;
      break;
    case Part::stack: {
      const std::string stack = stack_of(request);
      if (stack.empty()) {
        return missing_value(fmt::format("\"{}\" needs the stack (label {}), "
                                         "and the request has none",
                                         m_text,
                                         labels::k_stack_namespace));
      }
      out += stack;
      break;
    }
    case Part::label: {
      const std::string* value = find_label(request, p.text);
      if (value == nullptr || value->empty()) {
        return missing_value(fmt::format(
            "\"{}\" needs the label \"{}\", which is missing", m_text, p.text));
      }
      out += *value;
      break;
    }
    }
  }
  return out;
}

bool is_path_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
         c == '-';
}

std::string path_problem(std::string_view path) {
  if (path.empty()) {
    return "it is empty";
  }
  if (path.front() == '/') {
    return "it is absolute";
  }
  for (const char c : path) {
    if (c != '/' && !is_path_char(c)) {
      return "it has a character outside A-Z a-z 0-9 . _ - /";
    }
  }
  std::size_t start = 0;
  for (;;) {
    const auto slash = path.find('/', start);
    const auto segment = path.substr(
        start, slash == std::string_view::npos ? path.npos : slash - start);
    if (segment.empty()) {
      return "it has an empty segment";
    }
    if (segment == "." || segment == "..") {
      return fmt::format("it has a \"{}\" segment", segment);
    }
    if (slash == std::string_view::npos) {
      return {};
    }
    start = slash + 1;
  }
}

std::string prefix_problem(std::string_view prefix) {
  if (prefix.empty() || prefix.back() != '/') {
    return "it does not end in '/'";
  }
  return path_problem(prefix.substr(0, prefix.size() - 1));
}

const std::string* find_label(const docker::SecretRequest& request,
                              std::string_view key) {
  for (const docker::Labels* labels :
       {&request.secret_labels, &request.service_labels}) {
    if (auto it = labels->find(std::string(key)); it != labels->end()) {
      return &it->second;
    }
  }
  return nullptr;
}

std::string stack_of(const docker::SecretRequest& request) {
  const std::string* stack = find_label(request, labels::k_stack_namespace);
  return stack != nullptr ? *stack : std::string();
}

} // namespace vsp::rules
