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
