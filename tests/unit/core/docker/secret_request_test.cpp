#include "core/docker/secret_request.hpp"

#include "tests/support/paths.hpp"

#include <catch2/catch.hpp>

using namespace vsp;
using namespace vsp::docker;

namespace {

std::string captured(const char* name) {
  return test::read_file(
      test::source_path(std::string("tests/data/docker-requests/") + name));
}

} // namespace

TEST_CASE("parse_secret_request reads bodies captured from Docker 20.10",
          "[docker]") {
  SECTION("default service: empty endpoint spec, no service labels") {
    auto r = parse_secret_request(captured("default-service.json"));
    REQUIRE(r.ok());
    CHECK(r->secret_name == "mysecret");
    CHECK(r->secret_labels == Labels{{"a", "b"}});
    CHECK(r->service_name == "t");
    CHECK(r->service_id == "ufw77opoozhze1xx9961mb1nu");
    CHECK(r->task_id == "1vdgm0ucpc8t2safefl3x93kh");
    CHECK(r->task_name == "t.1.1vdgm0ucpc8t2safefl3x93kh");
    CHECK(r->task_image == "local/busybox:latest");
    CHECK(r->node_id == "bmp56nw8m4rmb0vrp6pqz4atj");
    CHECK(r->service_labels.empty());
    CHECK(r->service_hostname.empty());
  }
  SECTION("hostname, service labels and dnsrr endpoint mode") {
    auto r = parse_secret_request(captured("hostname-labels-dnsrr.json"));
    REQUIRE(r.ok());
    CHECK(r->service_hostname == "myhost");
    CHECK(r->service_labels == Labels{{"svc", "lab"}});
    CHECK(r->service_name == "rich");
  }
  SECTION("a secret without labels has no SecretLabels key") {
    auto r = parse_secret_request(captured("secret-without-labels.json"));
    REQUIRE(r.ok());
    CHECK(r->secret_labels.empty());
  }
}

TEST_CASE("parse_secret_request accepts what older engines send", "[docker]") {
  SECTION("only SecretName and ServiceName (engines before 19.03)") {
    auto r = parse_secret_request(R"({"SecretName":"s","ServiceName":"x"})");
    REQUIRE(r.ok());
    CHECK(r->task_id.empty());
    CHECK(r->secret_labels.empty());
  }
  SECTION("Go's \\u escapes and differently cased keys") {
    auto r = parse_secret_request(
        R"({"secretname":"a\u003cb","SecretLabels":{"k":"\u0026"}})");
    REQUIRE(r.ok());
    CHECK(r->secret_name == "a<b");
    CHECK(r->secret_labels.at("k") == "&");
  }
  SECTION("unknown fields and null values are ignored") {
    auto r = parse_secret_request(
        R"({"SecretName":"s","Future":{"x":1},"TaskID":null})");
    REQUIRE(r.ok());
    CHECK(r->task_id.empty());
  }
}

TEST_CASE("parse_secret_request refuses malformed bodies", "[docker]") {
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty request body (expected a JSON object)"},
      {"\n", "empty request body (expected a JSON object)"},
      {"{", "request body is not valid JSON"},
      {"[1]", "request body must be a JSON object"},
      {"{}", "missing SecretName"},
      {R"({"SecretName":""})", "missing SecretName"},
      {R"({"SecretName":5})", "field SecretName must be a string"},
      {R"({"SecretName":"s","SecretLabels":[]})",
       "field SecretLabels must be an object"},
      {R"({"SecretName":"s","ServiceLabels":{"a":1}})",
       "label \"a\" in ServiceLabels must have a string value"},
  };
  for (const auto& [body, message] : cases) {
    INFO(body);
    auto r = parse_secret_request(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid_input);
    CHECK(r.error().message == message);
  }
  SECTION("a body over the cap") {
    std::string big =
        R"({"SecretName":")" + std::string(k_max_request_bytes, 'x') + R"("})";
    auto r = parse_secret_request(big);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "request body is larger than 1048576 bytes");
  }
}

TEST_CASE("to_json writes the request back as Docker encodes it", "[docker]") {
  auto r = parse_secret_request(captured("default-service.json"));
  REQUIRE(r.ok());
  auto again = parse_secret_request(to_json(*r).dump());
  REQUIRE(again.ok());
  CHECK(to_json(*again) == to_json(*r));
  CHECK_FALSE(to_json(*r).contains("ServiceLabels"));
}

TEST_CASE("parse_secret_request holds against hostile bodies", "[docker]") {
  SECTION("a field over 64 KiB") {
    const std::string body = R"({"SecretName":"s","TaskImage":")" +
                             std::string(64 * 1024 + 1, 'x') + R"("})";
    auto r = parse_secret_request(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "field TaskImage is longer than 65536 bytes");
  }
  SECTION("NUL, newlines and quotes in names and labels stay as they are") {
    auto r = parse_secret_request(
        R"({"SecretName":"a\u0000b\n\"c","SecretLabels":{"k\u0000":"\ud83d\ude00"}})");
    REQUIRE(r.ok());
    CHECK(r->secret_name == std::string("a\0b\n\"c", 6));
    CHECK(r->secret_labels.at(std::string("k\0", 2)) == "\xF0\x9F\x98\x80");
  }
  SECTION("invalid UTF-8 and a lone surrogate are not JSON") {
    CHECK_FALSE(parse_secret_request("{\"SecretName\":\"\xff\"}").ok());
    CHECK_FALSE(parse_secret_request(R"({"SecretName":"\ud800"})").ok());
  }
  SECTION("deep nesting in an unknown field") {
    const std::string body = R"({"SecretName":"s","X":)" +
                             std::string(100'000, '[') +
                             std::string(100'000, ']') + "}";
    auto r = parse_secret_request(body);
    REQUIRE(r.ok());
    CHECK(r->secret_name == "s");
  }
  SECTION("a number too large for any type is refused, not rounded") {
    auto r = parse_secret_request(R"({"SecretName":"s","N":1e999999})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "request body is not valid JSON");
  }
  SECTION("keys repeated in other cases: the exact spelling wins") {
    auto r = parse_secret_request(
        R"({"secretname":"lower","SecretName":"exact","SECRETNAME":"upper"})");
    REQUIRE(r.ok());
    CHECK(r->secret_name == "exact");
  }
}
