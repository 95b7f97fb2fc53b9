#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vsp::test {

// A binary of ours run as a child for a black-box test, with an exact
// environment and its stdout and stderr captured to files. Stopped by PID
// (SIGTERM, then SIGKILL) when destroyed.
class ChildProcess {
public:
  ChildProcess(const std::string& binary,
               const std::vector<std::string>& args,
               const std::vector<std::string>& env,
               const std::string& log_dir);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return m_pid; }
  // Sends `signal_number`.
  void signal(int signal_number) const;
  // The exit status once it has ended within `timeout` (128+N for signal
  // N), else nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

  std::string out() const; // stdout so far
  std::string err() const; // stderr so far

private:
  pid_t m_pid = -1;
  std::optional<int> m_status;
  std::string m_out_path;
  std::string m_err_path;
};

// Polls `check` every 20 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& check,
                std::chrono::milliseconds timeout);

} // namespace vsp::test
