#include "core/rules/secret_path.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace vsp::rules;

TEST_CASE("PathTemplate::expand fills placeholders", "[rules]") {
  docker::SecretRequest r;
  r.secret_name = "db";
  r.service_name = "shop_web";
  r.secret_labels = {{"com.docker.stack.namespace", "shop"}, {"app", "a"}};
  r.service_labels = {{"app", "from-service"}, {"tier", "front"}};

  const std::pair<std::string, std::string> cases[] = {
      {"{secret}", "db"},
      {"{stack}/{service}/{secret}", "shop/shop_web/db"},
      {"x-{label:app}-{label:tier}", "x-a-front"},
      {"plain/path", "plain/path"},
  };
  for (const auto& [text, expected] : cases) {
    auto t = PathTemplate::parse(text);
    REQUIRE(t.ok());
    auto out = t->expand(r);
    REQUIRE(out.ok());
    CHECK(*out == expected);
  }
  auto missing = PathTemplate::parse("{label:nope}")->expand(r);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::denied);
  CHECK(missing.error().message ==
        "\"{label:nope}\" needs the label \"nope\", which is missing");
}

TEST_CASE("PathTemplate::parse refuses unknown placeholders", "[rules]") {
  const std::pair<std::string, std::string> cases[] = {
      {"{team}",
       "column 1: unknown placeholder {team} (expected {secret}, {service}, "
       "{stack} or {label:KEY})"},
      {"a/{label:}", "column 3: {label:} needs a label key"},
      {"a/{secret", "column 3: '{' is never closed"},
      {"a}", "column 2: '}' without a matching '{'"},
  };
  for (const auto& [text, message] : cases) {
    auto t = PathTemplate::parse(text);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message == message);
  }
}

TEST_CASE("path_problem keeps paths relative and plain", "[rules]") {
  const std::pair<std::string, std::string> cases[] = {
      {"app/db", ""},
      {"a.b_c-d/E9", ""},
      {"", "it is empty"},
      {"/app", "it is absolute"},
      {"app//db", "it has an empty segment"},
      {"app/", "it has an empty segment"},
      {"..", "it has a \"..\" segment"},
      {"a/../b", "it has a \"..\" segment"},
      {"./a", "it has a \".\" segment"},
      {"a b", "it has a character outside A-Z a-z 0-9 . _ - /"},
      {"a%2e%2e", "it has a character outside A-Z a-z 0-9 . _ - /"},
      {"a\\b", "it has a character outside A-Z a-z 0-9 . _ - /"},
      {"caf\xc3\xa9", "it has a character outside A-Z a-z 0-9 . _ - /"},
  };
  for (const auto& [path, problem] : cases) {
    INFO(path);
    CHECK(path_problem(path) == problem);
  }
  CHECK(prefix_problem("secret/app/").empty());
  CHECK(prefix_problem("secret/app") == "it does not end in '/'");
  CHECK(prefix_problem("/") == "it is empty");
}
