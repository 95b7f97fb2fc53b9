#include "core/issuer/reuse_cache.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace vsp;
using namespace vsp::issuer;
using namespace std::chrono_literals;

namespace {

ReuseCache::Mint minting(std::atomic<int>& calls,
                         std::chrono::milliseconds fresh_for,
                         std::chrono::milliseconds takes = 0ms) {
  return [&calls, fresh_for, takes]() -> Result<CachedValue> {
    std::this_thread::sleep_for(takes);
    const int n = ++calls;
    CachedValue v;
    v.value = SecretString("value-" + std::to_string(n));
    v.fresh_until = ReuseCache::Clock::now() + fresh_for;
    return v;
  };
}

} // namespace

TEST_CASE("ReuseCache::get_or_mint reuses within the window", "[issuer]") {
  ReuseCache cache;
  std::atomic<int> calls{0};
  bool reused = false;

  auto first = cache.get_or_mint(
      "t1/s", Deadline::after(1s), minting(calls, 10s), reused);
  REQUIRE(first.ok());
  CHECK_FALSE(reused);
  auto again = cache.get_or_mint(
      "t1/s", Deadline::after(1s), minting(calls, 10s), reused);
  REQUIRE(again.ok());
  CHECK(reused);
  CHECK(again->value.reveal() == "value-1");
  CHECK(calls == 1);

  SECTION("another key mints its own") {
    auto other = cache.get_or_mint(
        "t2/s", Deadline::after(1s), minting(calls, 10s), reused);
    CHECK(other->value.reveal() == "value-2");
    CHECK_FALSE(reused);
  }
}

TEST_CASE("ReuseCache::get_or_mint mints again after the window", "[issuer]") {
  ReuseCache cache;
  std::atomic<int> calls{0};
  bool reused = false;
  (void)cache.get_or_mint(
      "k", Deadline::after(1s), minting(calls, 0ms), reused);
  auto next =
      cache.get_or_mint("k", Deadline::after(1s), minting(calls, 10s), reused);
  CHECK_FALSE(reused);
  CHECK(next->value.reveal() == "value-2");
  CHECK(cache.size() == 1);
}

TEST_CASE("ReuseCache::get_or_mint coalesces concurrent requests", "[issuer]") {
  ReuseCache cache;
  std::atomic<int> calls{0};
  std::atomic<int> reused_count{0};
  std::vector<std::thread> threads;
  std::vector<std::string> seen(16);
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      bool reused = false;
      auto r = cache.get_or_mint(
          "k", Deadline::after(5s), minting(calls, 10s, 100ms), reused);
      seen[i] = std::string(r->value.reveal());
      reused_count += reused ? 1 : 0;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(calls == 1);
  CHECK(reused_count == 15);
  for (const auto& s : seen) {
    CHECK(s == "value-1");
  }
}

TEST_CASE("ReuseCache::get_or_mint keeps no failures", "[issuer]") {
  ReuseCache cache;
  bool reused = false;
  auto failed = cache.get_or_mint(
      "k",
      Deadline::after(1s),
      [] { return Result<CachedValue>(Error(ErrorKind::unavailable, "down")); },
      reused);
  REQUIRE_FALSE(failed.ok());
  CHECK(cache.size() == 0);
  std::atomic<int> calls{0};
  auto ok =
      cache.get_or_mint("k", Deadline::after(1s), minting(calls, 10s), reused);
  CHECK(ok.ok());
  CHECK_FALSE(reused);
}

TEST_CASE("ReuseCache::get_or_mint bounds a waiter by its deadline",
          "[issuer]") {
  ReuseCache cache;
  std::atomic<int> calls{0};
  std::thread slow([&] {
    bool reused = false;
    (void)cache.get_or_mint(
        "k", Deadline::after(5s), minting(calls, 10s, 500ms), reused);
  });
  std::this_thread::sleep_for(50ms);
  bool reused = false;
  const auto start = std::chrono::steady_clock::now();
  auto r = cache.get_or_mint(
      "k", Deadline::after(100ms), minting(calls, 10s), reused);
  const auto waited = std::chrono::steady_clock::now() - start;
  slow.join();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::timeout);
  CHECK(waited < 450ms); // the waiter's deadline, not the mint, bounds it
  CHECK(calls == 1);
}

TEST_CASE("ReuseCache evicts the oldest entries beyond its cap", "[issuer]") {
  ReuseCache cache(3);
  std::atomic<int> calls{0};
  bool reused = false;
  for (int i = 0; i < 10; ++i) {
    (void)cache.get_or_mint(
        std::to_string(i), Deadline::after(1s), minting(calls, 10s), reused);
  }
  CHECK(cache.size() == 3);
  (void)cache.get_or_mint(
      "9", Deadline::after(1s), minting(calls, 10s), reused);
  CHECK(reused);
}
