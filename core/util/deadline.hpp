#pragma once

#include <algorithm>
#include <chrono>

namespace vsp {

// A point in time every step of one request must finish by. Passed by
// value down the call chain so no step can quietly extend it.
class Deadline {
public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(Clock::time_point at) : m_at(at) {}

  static Deadline after(std::chrono::milliseconds budget) {
    return Deadline(Clock::now() + budget);
  }

  Clock::time_point at() const { return m_at; }

  // Time left, never negative.
  std::chrono::milliseconds remaining() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        m_at - Clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }

  bool expired() const { return Clock::now() >= m_at; }

  // The earlier of this deadline and `budget` from now.
  Deadline capped(std::chrono::milliseconds budget) const {
    return Deadline(std::min(m_at, Clock::now() + budget));
  }

private:
  Clock::time_point m_at;
};

} // namespace vsp
