#pragma once

#include "core/rules/rule.hpp"
#include "core/util/deadline.hpp"
#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace vsp::issuer {

// A value handed to one task, kept so a repeated request for the same task
// and secret gets the same answer.
struct CachedValue {
  SecretString value;
  bool do_not_reuse = true;
  std::string accessor;          // token issued (inner if wrapped), or the
                                 // lease holder of a dynamic value
  std::string wrapping_accessor; // of the wrapping token, if wrapped
  std::string lease_id;          // of an unwrapped dynamic value
  std::chrono::seconds ttl{0};   // of the token or lease; 0: unknown
  std::chrono::system_clock::time_point expires_at{}; // epoch: unknown
  std::chrono::steady_clock::time_point fresh_until;
  // What decided it, so a repeat reports what it hands out, not what the
  // repeat itself asked for.
  std::string rule;
  rules::Kind kind = rules::Kind::wrapped_token;
  std::vector<std::string> policies;
};

// Docker asks again for the same TaskID after reconnects and leader
// changes. Within its window a key gets the value minted first, and
// concurrent requests for one key wait for a single mint instead of each
// minting their own. Failed mints are not kept. Thread-safe.
class ReuseCache {
public:
  using Clock = std::chrono::steady_clock;
  using Mint = std::function<Result<CachedValue>()>;

  explicit ReuseCache(std::size_t max_entries = 100'000);

  // The fresh value for `key`, or the result of `mint()` run once for all
  // concurrent callers. `reused` tells whether the value came from an
  // earlier request. A caller whose deadline passes while another mints
  // gets a timeout error; the mint itself carries on for the others.
  Result<CachedValue> get_or_mint(const std::string& key,
                                  Deadline deadline,
                                  const Mint& mint,
                                  bool& reused);

  // Drops `key`'s entry unless a mint for it is running.
  void erase(const std::string& key);

  // Drops every entry (the values are wiped).
  void clear();

  // Drops, and so wipes, every value whose window has ended. Without a
  // call they would stay in memory until new entries push them out; the
  // plugin calls this every second.
  void forget_expired();

  std::size_t size() const;

private:
  struct Slot {
    bool ready = false;
    std::unique_ptr<Result<CachedValue>> result;
    std::list<std::string>::iterator age; // position in m_order
  };

  void prune(Clock::time_point now);

  mutable std::mutex m_mutex;
  std::condition_variable m_ready;
  std::unordered_map<std::string, std::shared_ptr<Slot>> m_slots;
  std::list<std::string> m_order; // oldest first
  std::size_t m_max_entries;
};

} // namespace vsp::issuer
