#include "core/vault/retry.hpp"

#include <catch2/catch.hpp>

using namespace vsp::vault;
using namespace std::chrono_literals;

TEST_CASE("retryable_status follows the official client", "[vault]") {
  for (long s : {412L, 429L, 500L, 502L, 503L, 504L, 599L}) {
    INFO(s);
    CHECK(retryable_status(s));
  }
  for (long s : {200L, 204L, 307L, 400L, 403L, 404L, 405L, 413L, 501L}) {
    INFO(s);
    CHECK_FALSE(retryable_status(s));
  }
}

TEST_CASE("mint_replay_safe allows only refusals before the effect",
          "[vault]") {
  CHECK(mint_replay_safe(429, ""));
  CHECK(mint_replay_safe(412, ""));
  CHECK(mint_replay_safe(503, "Vault is sealed"));
  CHECK(mint_replay_safe(503,
                         "local node not active but active cluster node "
                         "not found"));
  CHECK_FALSE(mint_replay_safe(503, ""));
  CHECK_FALSE(mint_replay_safe(500, "internal error"));
  CHECK_FALSE(mint_replay_safe(502, ""));
  CHECK_FALSE(mint_replay_safe(504, ""));
}

TEST_CASE("backoff stays inside min..max times the retry number", "[vault]") {
  SECTION("bounds") {
    for (int retry = 1; retry <= 4; ++retry) {
      for (double u : {0.0, 0.25, 0.5, 0.999, 1.0}) {
        const auto w = backoff(retry, 1000ms, 1500ms, u);
        CHECK(w >= 1000ms * retry);
        CHECK(w <= 1500ms * retry);
      }
    }
  }
  SECTION("unit picks inside the range") {
    CHECK(backoff(1, 1000ms, 1500ms, 0.0) == 1000ms);
    CHECK(backoff(1, 1000ms, 1500ms, 0.5) == 1250ms);
    CHECK(backoff(2, 1000ms, 1500ms, 1.0) == 3000ms);
  }
  SECTION("out-of-range units are clamped") {
    CHECK(backoff(1, 10ms, 20ms, -3.0) == 10ms);
    CHECK(backoff(1, 10ms, 20ms, 7.0) == 20ms);
  }
}

TEST_CASE("parse_retry_after reads seconds and http dates", "[vault]") {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  SECTION("delta seconds") {
    CHECK(parse_retry_after("2", now) == 2000ms);
    CHECK(parse_retry_after(" 0 ", now) == 0ms);
    CHECK(parse_retry_after("999999999", now) == 86'400'000ms);
  }
  SECTION("imf-fixdate, rfc 850 and asctime") {
    // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now) == 5000ms);
    CHECK(parse_retry_after("Wednesday, 21-Oct-15 07:28:07 GMT", now) ==
          7000ms);
    CHECK(parse_retry_after("Wed Oct 21 07:28:09 2015", now) == 9000ms);
  }
  SECTION("a date far ahead is capped, without overflow") {
    // Found by fuzz/vault_response_fuzzer.cpp: year 20105 overflowed the
    // clock's nanoseconds (UBSan: signed integer overflow).
    CHECK(parse_retry_after("Wed, 21 Oct 20105 07:28:00 GMT", now) ==
          86'400'000ms);
    CHECK(parse_retry_after("Thu, 22 Oct 2015 07:28:01 GMT", now) ==
          86'400'000ms);
    CHECK(parse_retry_after("Thu, 22 Oct 2015 07:27:59 GMT", now) ==
          86'399'000ms);
  }
  SECTION("a date in the past means now") {
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0ms);
  }
  SECTION("garbage") {
    CHECK_FALSE(parse_retry_after("", now));
    CHECK_FALSE(parse_retry_after("soon", now));
    CHECK_FALSE(parse_retry_after("-5", now));
    CHECK_FALSE(parse_retry_after("1.5", now));
  }
}

TEST_CASE("fits_deadline never plans a sleep past the deadline", "[vault]") {
  CHECK(fits_deadline(1000ms, 2000ms, 100ms));
  CHECK(fits_deadline(1900ms, 2000ms, 100ms));
  CHECK_FALSE(fits_deadline(1901ms, 2000ms, 100ms));
  CHECK_FALSE(fits_deadline(5000ms, 2000ms, 100ms));
}
