// The rules file shown in docs/rules.md and vsp-rules(5) is one the loader
// accepts, and both show the same one.
#include "core/rules/rule_set.hpp"
#include "tests/support/paths.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace vsp::rules;

namespace {

// The first fenced block after `marker` in `text`.
std::string first_block(const std::string& text, const std::string& marker) {
  const auto start = text.find(marker);
  REQUIRE(start != std::string::npos);
  const auto open = text.find('\n', start) + 1;
  const auto close = text.find("```", open);
  REQUIRE(close != std::string::npos);
  return text.substr(open, close - open);
}

} // namespace

TEST_CASE("The documented rules file is valid", "[rules]") {
  const std::string doc = first_block(
      test::read_file(test::source_path("docs/rules.md")), "```yaml");
  const std::string man = first_block(
      test::read_file(test::source_path("man/vsp-rules.5.scd")), "```");
  for (const auto& p : RuleSet::check_text(doc, "docs/rules.md")) {
    UNSCOPED_INFO(p.to_string());
  }
  CHECK(RuleSet::check_text(doc, "docs/rules.md").empty());
  // The man page drops the description line to keep its example short.
  std::string doc_less = doc;
  const std::string description =
      "    description: the shop stack's .env file from KV v2\n";
  doc_less.erase(doc_less.find(description), description.size());
  CHECK(man == doc_less);
}
