#include "cli/rules_input.hpp"

#include "cli/command.hpp"
#include "core/util/env.hpp"

namespace vsp::cli {

std::string rules_path(const std::string& given) {
  if (!given.empty()) {
    return given;
  }
  if (auto env = process_env("VSP_RULES"); env && !env->empty()) {
    return *env;
  }
  return "/etc/vsp/rules.yaml";
}

rules::RuleSet load_rules(const std::string& path) {
  auto loaded = rules::RuleSet::load_file(path);
  if (!loaded) {
    throw CommandError(k_exit_usage, loaded.error().message);
  }
  return std::move(loaded).value();
}

} // namespace vsp::cli
