#include "core/rules/yaml_reader.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

namespace vsp::rules {

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += out.empty() ? "" : ", ";
    out += item;
  }
  return out;
}

Mark YamlReader::mark_of(const YAML::Node& node) {
  const auto m = node.Mark();
  return Mark{m.line + 1, m.column + 1};
}

void YamlReader::problem(const YAML::Node& at, std::string message) {
  m_problems.push_back({m_file, mark_of(at), std::move(message)});
}

void YamlReader::problem_at(Mark mark, std::string message) {
  m_problems.push_back({m_file, mark, std::move(message)});
}

Mark YamlReader::mark_inside(const YAML::Node& node, Mark inner) const {
  const auto m = node.Mark();
  const auto pos = static_cast<std::size_t>(m.pos);
  if (m.pos < 0 || pos >= m_text.size()) {
    return mark_of(node);
  }
  const char first = m_text[pos];
  if (first == '|') {
    // Content starts on the next line, indented like its first line.
    const auto eol = m_text.find('\n', pos);
    if (eol == std::string_view::npos) {
      return mark_of(node);
    }
    const auto indent = m_text.find_first_not_of(' ', eol + 1);
    const int width = indent == std::string_view::npos
                          ? 0
                          : static_cast<int>(indent - eol - 1);
    return Mark{m.line + 1 + inner.line, width + inner.column};
  }
  if (inner.line != 1 || first == '>') {
    return mark_of(node);
  }
  const bool quoted = first == '"' || first == '\'';
  return Mark{m.line + 1, m.column + (quoted ? 1 : 0) + inner.column};
}

void YamlReader::check_duplicate_keys(const YAML::Node& root) {
  // Aliases make a document a graph that may expand exponentially (an
  // "alias bomb"). An alias is the node it names, at the same place in
  // the text, so each collection is checked once; past this many nodes
  // the rest goes unchecked all the same.
  constexpr std::size_t k_budget = 100'000;
  std::size_t visited = 0;
  std::set<int> seen_collections; // by offset in the text
  std::vector<YAML::Node> todo{root};
  while (!todo.empty() && visited < k_budget) {
    const YAML::Node node = todo.back();
    todo.pop_back();
    ++visited;
    const YAML::Mark place = node.Mark();
    if ((node.IsSequence() || node.IsMap()) && !place.is_null() &&
        !seen_collections.insert(place.pos).second) {
      continue;
    }
    if (node.IsSequence()) {
      for (const auto& item : node) {
        todo.push_back(item);
      }
    } else if (node.IsMap()) {
      std::map<std::string, Mark> seen;
      for (const auto& entry : node) {
        if (entry.first.IsScalar()) {
          const std::string& key = entry.first.Scalar();
          const Mark at = mark_of(entry.first);
          const auto [first, fresh] = seen.emplace(key, at);
          if (!fresh) {
            problem(entry.first,
                    fmt::format("duplicate key \"{}\" (first at line {})",
                                key,
                                first->second.line));
          }
        }
        todo.push_back(entry.second);
      }
    }
  }
}

void YamlReader::check_keys(const YAML::Node& map,
                            const std::set<std::string>& allowed,
                            const std::string& where) {
  for (const auto& entry : map) {
    const auto key = entry.first.as<std::string>();
    if (allowed.count(key) == 0) {
      problem(entry.first,
              fmt::format("unknown key \"{}\" in {} (expected one of: {})",
                          key,
                          where,
                          join(allowed)));
    }
  }
}

std::optional<std::string> YamlReader::string_of(const YAML::Node& node,
                                                 const std::string& what) {
  if (!node.IsScalar()) {
    problem(node, fmt::format("{} must be a string", what));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<Seconds> YamlReader::duration_of(const YAML::Node& node,
                                               const std::string& what) {
  auto text = string_of(node, what);
  if (!text) {
    return std::nullopt;
  }
  auto d = parse_duration(*text);
  if (!d) {
    problem(node, fmt::format("{}: {}", what, d.error().message));
    return std::nullopt;
  }
  return *d;
}

std::optional<bool> YamlReader::bool_of(const YAML::Node& node,
                                        const std::string& what) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    problem(node, fmt::format("{} must be true or false", what));
    return std::nullopt;
  }
  return value;
}

std::optional<int> YamlReader::int_of(const YAML::Node& node,
                                      const std::string& what,
                                      int min,
                                      int max) {
  int value = 0;
  if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) ||
      value < min || value > max) {
    problem(node,
            max == min + 1
                ? fmt::format("{} must be {} or {}", what, min, max)
                : fmt::format("{} must be a whole number >= {}", what, min));
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> YamlReader::strings_of(const YAML::Node& node,
                                                const std::string& what) {
  std::vector<std::string> out;
  if (!node.IsSequence()) {
    problem(node, fmt::format("{} must be a list of strings", what));
    return out;
  }
  for (const auto& item : node) {
    auto text = string_of(item, fmt::format("each entry of {}", what));
    if (text && text->empty()) {
      problem(item, fmt::format("{} has an empty entry", what));
    } else if (text) {
      out.push_back(*text);
    }
  }
  return out;
}

std::vector<LabelCondition> YamlReader::labels_of(const YAML::Node& node,
                                                  const std::string& what) {
  std::vector<LabelCondition> out;
  for (const auto& [key, pattern] : string_map_of(node, what)) {
    out.push_back({key, pattern});
  }
  return out;
}

std::map<std::string, std::string>
YamlReader::string_map_of(const YAML::Node& node,
                          const std::string& what,
                          std::map<std::string, YAML::Node>* nodes) {
  std::map<std::string, std::string> out;
  if (!node.IsMap()) {
    problem(node, fmt::format("{} must be a map of string to string", what));
    return out;
  }
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    auto value = string_of(entry.second, fmt::format("{} \"{}\"", what, key));
    if (value) {
      out[key] = *value;
      if (nodes != nullptr) {
        (*nodes)[key] = entry.second;
      }
    }
  }
  return out;
}

} // namespace vsp::rules
