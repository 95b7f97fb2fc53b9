// libFuzzer target: the text of a rules file. Every input either loads or
// is refused with problems that name a place in the file; a rule set that
// loads then decides a few requests, one of them carrying labels taken
// from the input itself.

#include "core/docker/secret_request.hpp"
#include "core/rules/rule_set.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto problems = vsp::rules::RuleSet::check_text(text, "fuzz.yaml");
  for (const auto& problem : problems) {
    if (problem.message.empty()) {
      std::abort();
    }
    (void)problem.to_string();
  }
  auto set = vsp::rules::RuleSet::load_text(text, "fuzz.yaml");
  if (set.ok() != problems.empty()) {
    std::abort();
  }
  if (!set) {
    return 0;
  }

  vsp::docker::SecretRequest request;
  request.secret_name = "app-db";
  request.service_name = "web";
  request.task_id = "1vdgm0ucpc8t2safefl3x93kh";
  (void)set->decide(request);

  // Hostile labels: the first lines of the input, as label keys and values.
  const std::string head(text.substr(0, 256));
  request.secret_labels = {{"vsp.policies", head},
                           {"vsp.ttl", head},
                           {"vsp.wrap-ttl", head},
                           {"vsp.reuse", head},
                           {"vsp.path", head},
                           {"vsp.field", head},
                           {"vsp.format", head},
                           {"vsp.version", head},
                           {"vsp.kv-version", head},
                           {"vsp.param.common_name", head},
                           {head, head}};
  request.service_labels = {{"vsp.role", head}, {head, "x"}};
  request.secret_name = head.empty() ? std::string("x") : head;
  (void)set->explain(request);
  return 0;
}
