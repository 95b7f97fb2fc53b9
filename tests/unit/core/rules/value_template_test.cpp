#include "core/rules/value_template.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace vsp::rules;
using nlohmann::json;

namespace {

ValueTemplate parse(const std::string& text) {
  Mark at;
  auto t = ValueTemplate::parse(text, at);
  INFO(text);
  REQUIRE(t.ok());
  return std::move(t).value();
}

std::string render(const std::string& text,
                   const json& data,
                   const json& metadata = json::object()) {
  auto value = parse(text).render(data, metadata);
  REQUIRE(value.ok());
  return std::string(value->reveal());
}

} // namespace

TEST_CASE("ValueTemplate::render fills fields and metadata", "[rules]") {
  const json data{{"username", "v-web-ro-1"},
                  {"password", "p'w\"d"},
                  {"port", 5432},
                  {"chain", {"-----A-----", "-----B-----"}},
                  {"extra", {{"a", 1}}},
                  {"empty", nullptr}};
  const json meta{{"task_id", "t1"}, {"lease_id", "database/creds/ro/x"}};
  const std::pair<std::string, std::string> cases[] = {
      {"{{ username }}:{{ password }}", "v-web-ro-1:p'w\"d"},
      {"{{username}}", "v-web-ro-1"},
      {"USER={{ username }}\nPASS={{ password | shell }}\n",
       "USER=v-web-ro-1\nPASS='p'\\''w\"d'\n"},
      {"PASS={{ password | json }}", "PASS=\"p'w\\\"d\""},
      {"{{ username | base64 }}", "di13ZWItcm8tMQ=="},
      {"{{ \"  x \" | trim | base64 }}", "eA=="},
      {"port {{ port }}", "port 5432"},
      {"{{ chain }}", "-----A-----\n-----B-----"},
      {"{{ extra }}", "{\"a\":1}"},
      {"[{{ empty }}]", "[]"},
      {"lease {{ vsp.lease_id }} task {{ vsp.task_id }}",
       "lease database/creds/ro/x task t1"},
      {"{{ \"{{\" }} literal }}", "{{ literal }}"},
      {"no tags at all", "no tags at all"},
      {"a } b { c", "a } b { c"},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    CHECK(render(text, data, meta) == expected);
  }
}

TEST_CASE("ValueTemplate::render names what is missing", "[rules]") {
  const json data{{"user", "u"}, {"pass", "p"}};
  auto missing = parse("{{ user }}:{{ password }}").render(data, json());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::invalid_input);
  CHECK(missing.error().message ==
        "template field \"password\" is missing (the value has: pass, user)");
  auto meta = parse("{{ vsp.lease_id }}").render(data, json::object());
  REQUIRE_FALSE(meta.ok());
  CHECK(meta.error().message ==
        "template metadata vsp.lease_id is not set for this value");
}

TEST_CASE("ValueTemplate::parse reports the line and column", "[rules]") {
  struct Case {
    std::string text;
    int line;
    int column;
    std::string message;
  };
  const Case cases[] = {
      {"a {{ b", 1, 3, "'{{' is never closed"},
      {"x\ny {{ }}", 2, 6, "expected a field name or a \"string\" after '{{'"},
      {"{{ a | upper }}",
       1,
       8,
       "unknown filter \"upper\" (expected base64, json, shell or trim)"},
      {"{{ a b }}", 1, 6, "expected '|' or '}}' in '{{ ... }}'"},
      {"{{ \"x }}", 1, 4, "string is not closed on its line"},
      {"{{ \"\\q\" }}",
       1,
       6,
       "unknown escape in a string (use \\\" \\\\ \\n or \\t)"},
      {"{{ a | }}",
       1,
       8,
       "unknown filter \"\" (expected base64, json, shell or trim)"},
      // Found by the fuzzer: a Latin-1 byte folded through `json` threw.
      {"ok\n{{ \"li\xf4"
       "e\" | json }}",
       2,
       7,
       "a template must be UTF-8 text"},
      {"caf\xc3", 1, 4, "a template must be UTF-8 text"},
      // Found by the fuzzer: chained base64 grows by a third each time.
      {"{{ x | base64 | base64 | base64 | base64 | base64 | base64 | base64 "
       "| base64 | base64 }}",
       1,
       80,
       "more than 8 filters in one '{{ ... }}'"},
      {"ok {{ \"" + std::string(400'000, 'a') + "\" | base64 | base64 }}",
       1,
       4,
       "the value would be over 511999 bytes, the most Docker takes"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    Mark at;
    auto t = ValueTemplate::parse(c.text, at);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message == c.message);
    CHECK(at.line == c.line);
    CHECK(at.column == c.column);
  }
}

TEST_CASE("field_text turns any JSON value into text", "[rules]") {
  CHECK(field_text(json("s")) == "s");
  CHECK(field_text(json(true)) == "true");
  CHECK(field_text(json(1.5)) == "1.5");
  CHECK(field_text(json::array({"a", "b"})) == "a\nb");
  CHECK(field_text(json::array({1, "b"})) == "[1,\"b\"]");
  CHECK(field_text(json()) == "");
}

TEST_CASE("ValueTemplate::render stops at what Docker takes", "[rules]") {
  const json data{{"big", std::string(200'000, 'x')}};
  const auto t = parse("{{ big }}{{ big }}{{ big }}{{ big }}");
  auto value = t.render(data, json::object());
  REQUIRE_FALSE(value.ok());
  CHECK(value.error().message ==
        "the value would be over 511999 bytes, the most Docker takes");
  CHECK(render("{{ big | base64 | trim }}", data).size() == 266'668);
  // Eight filters are allowed.
  CHECK(render("{{ x | trim | trim | trim | trim | trim | trim | trim | trim "
               "}}",
               {{"x", " a "}}) == "a");
}
