#pragma once

#include "core/util/result.hpp"

#include <sys/types.h>

#include <cstdint>

namespace vsp {

// A process's own accounting, from /proc/<pid>/stat and /proc/<pid>/status.
struct ProcessStats {
  double cpu_seconds = 0;           // user + system, all threads
  double user_seconds = 0;          // user only
  double start_time = 0;            // since the epoch, in seconds
  std::uint64_t rss_bytes = 0;      // resident now
  std::uint64_t peak_rss_bytes = 0; // high-water mark (VmHWM)
  std::uint64_t virtual_bytes = 0;
  long threads = 0;
  long open_fds = -1; // -1 when /proc/<pid>/fd cannot be read
  long max_fds = -1;  // RLIMIT_NOFILE; only for the calling process
};

// The stats of `pid`, 0 meaning the calling process. Fails with
// `not_found` when the process is gone or /proc is not mounted.
Result<ProcessStats> read_process_stats(pid_t pid = 0);

} // namespace vsp
