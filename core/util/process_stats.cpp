#include "core/util/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace vsp {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Boot time in seconds since the epoch, for start_time.
double boot_time() {
  timespec real{};
  timespec since_boot{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &since_boot);
  return static_cast<double>(real.tv_sec - since_boot.tv_sec) +
         static_cast<double>(real.tv_nsec - since_boot.tv_nsec) / 1e9;
}

// A "Name:   123 kB" line of /proc/<pid>/status, in bytes.
std::uint64_t status_kb(const std::string& status, const char* name) {
  const auto at = status.find(std::string("\n") + name + ':');
  if (at == std::string::npos) {
    return 0;
  }
  return std::strtoull(
             status.c_str() + at + std::strlen(name) + 2, nullptr, 10) *
         1024;
}

long count_fds(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return -1;
  }
  long n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') {
      ++n;
    }
  }
  ::closedir(d);
  return n - 1; // the directory stream's own descriptor
}

} // namespace

Result<ProcessStats> read_process_stats(pid_t pid) {
  const std::string base =
      pid == 0 ? std::string("/proc/self") : fmt::format("/proc/{}", pid);
  const std::string stat = read_file(base + "/stat");
  // The command name is in parentheses and may hold spaces: fields are
  // counted from the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return Error(ErrorKind::not_found, "cannot read " + base + "/stat");
  }
  std::istringstream fields(stat.substr(close + 2));
  std::string f[22];
  for (auto& field : f) {
    fields >> field;
  }
  // Fields 3.. of proc(5): f[0] is state (3), utime is 14, stime 15,
  // num_threads 20, starttime 22, vsize 23, rss 24.
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto num = [&](int field) {
    return std::strtod(f[field - 3].c_str(), nullptr);
  };
  ProcessStats s;
  s.user_seconds = num(14) / tick;
  s.cpu_seconds = (num(14) + num(15)) / tick;
  s.threads = static_cast<long>(num(20));
  s.start_time = boot_time() + num(22) / tick;
  s.virtual_bytes = static_cast<std::uint64_t>(num(23));
  const std::string status = read_file(base + "/status");
  s.rss_bytes = status_kb(status, "VmRSS");
  s.peak_rss_bytes = status_kb(status, "VmHWM");
  s.open_fds = count_fds(base + "/fd");
  if (pid == 0) {
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
      s.max_fds = static_cast<long>(files.rlim_cur);
    }
  }
  return s;
}

} // namespace vsp
