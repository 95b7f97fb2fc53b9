#include "core/issuer/reuse_cache.hpp"

namespace vsp::issuer {

ReuseCache::ReuseCache(std::size_t max_entries) : m_max_entries(max_entries) {}

Result<CachedValue> ReuseCache::get_or_mint(const std::string& key,
                                            Deadline deadline,
                                            const Mint& mint,
                                            bool& reused) {
  reused = false;
  std::unique_lock lock(m_mutex);
  const auto now = Clock::now();
  if (auto it = m_slots.find(key); it != m_slots.end()) {
    std::shared_ptr<Slot> slot = it->second;
    if (!slot->ready) {
      const bool done =
          m_ready.wait_until(lock, deadline.at(), [&] { return slot->ready; });
      if (!done) {
        return Error(ErrorKind::timeout,
                     "deadline",
                     "deadline passed while waiting for the same task's "
                     "value to be issued");
      }
    }
    if (slot->result && slot->result->ok() &&
        slot->result->value().fresh_until > Clock::now()) {
      reused = true;
      return *slot->result;
    }
    if (slot->result && !slot->result->ok() && m_slots.count(key) == 0) {
      // The mint we waited for failed and was dropped: share its error
      // rather than start a second attempt on an already spent deadline.
      return slot->result->error();
    }
  }

  prune(now);
  auto slot = std::make_shared<Slot>();
  m_order.push_back(key);
  slot->age = std::prev(m_order.end());
  if (auto old = m_slots.find(key); old != m_slots.end()) {
    m_order.erase(old->second->age);
    old->second->age = m_order.end();
  }
  m_slots[key] = slot;
  lock.unlock();

  auto result = std::make_unique<Result<CachedValue>>(mint());

  lock.lock();
  const bool ok = result->ok();
  Result<CachedValue> copy = *result;
  slot->result = std::move(result);
  slot->ready = true;
  if (!ok) {
    if (auto it = m_slots.find(key);
        it != m_slots.end() && it->second == slot) {
      m_order.erase(slot->age);
      m_slots.erase(it);
    }
  }
  m_ready.notify_all();
  return copy;
}

void ReuseCache::prune(Clock::time_point now) {
  // Entries expire in roughly insertion order; drop stale ones from the
  // front, then the oldest while over the cap.
  while (!m_order.empty()) {
    auto it = m_slots.find(m_order.front());
    const bool stale =
        it == m_slots.end() || (it->second->ready && it->second->result->ok() &&
                                it->second->result->value().fresh_until <= now);
    if (!stale && m_slots.size() < m_max_entries) {
      break;
    }
    if (it != m_slots.end() && !it->second->ready) {
      break; // never evict an entry someone is still minting
    }
    if (it != m_slots.end()) {
      m_slots.erase(it);
    }
    m_order.pop_front();
  }
}

void ReuseCache::erase(const std::string& key) {
  std::lock_guard lock(m_mutex);
  if (auto it = m_slots.find(key); it != m_slots.end() && it->second->ready) {
    m_order.erase(it->second->age);
    m_slots.erase(it);
  }
}

void ReuseCache::clear() {
  std::lock_guard lock(m_mutex);
  for (auto it = m_slots.begin(); it != m_slots.end();) {
    if (it->second->ready) {
      m_order.erase(it->second->age);
      it = m_slots.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t ReuseCache::size() const {
  std::lock_guard lock(m_mutex);
  return m_slots.size();
}

} // namespace vsp::issuer
