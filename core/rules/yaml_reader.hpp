#pragma once

// Shared by the rules loader's files; not part of the interface.

#include "core/rules/rule_set.hpp"

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vsp::rules {

// Reads typed values out of one rules file's YAML nodes, recording a
// Problem at the node's file:line:column for each one that is wrong and
// carrying on, so a check lists every problem at once.
class YamlReader {
public:
  YamlReader(std::string file,
             std::string_view text,
             std::vector<Problem>& problems)
      : m_file(std::move(file)), m_text(text), m_problems(problems) {}

  const std::string& file() const { return m_file; }
  std::size_t problem_count() const { return m_problems.size(); }

  void problem(const YAML::Node& at, std::string message);
  void problem_at(Mark mark, std::string message);

  // Where a node starts, 1-based.
  static Mark mark_of(const YAML::Node& node);
  // Where `inner` (1-based line and column within the string `node`
  // holds) lies in the file. Exact for plain, quoted and literal block
  // (`|`) strings on their lines; the node's own mark otherwise.
  Mark mark_inside(const YAML::Node& node, Mark inner) const;

  // A problem for each key that a map anywhere in `root` holds twice:
  // YAML forbids it, and readers disagree on which one counts.
  void check_duplicate_keys(const YAML::Node& root);

  // A problem for each key of `map` outside `allowed`.
  void check_keys(const YAML::Node& map,
                  const std::set<std::string>& allowed,
                  const std::string& where);

  std::optional<std::string> string_of(const YAML::Node& node,
                                       const std::string& what);
  std::optional<Seconds> duration_of(const YAML::Node& node,
                                     const std::string& what);
  std::optional<bool> bool_of(const YAML::Node& node, const std::string& what);
  // A whole number in [min, max].
  std::optional<int>
  int_of(const YAML::Node& node, const std::string& what, int min, int max);
  std::vector<std::string> strings_of(const YAML::Node& node,
                                      const std::string& what);
  std::vector<LabelCondition> labels_of(const YAML::Node& node,
                                        const std::string& what);
  // A map of string to string; the node of each value is in `nodes`.
  std::map<std::string, std::string>
  string_map_of(const YAML::Node& node,
                const std::string& what,
                std::map<std::string, YAML::Node>* nodes = nullptr);

private:
  std::string m_file;
  std::string_view m_text;
  std::vector<Problem>& m_problems;
};

// "a, b, c".
std::string join(const std::set<std::string>& items);

} // namespace vsp::rules
