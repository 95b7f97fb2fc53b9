#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace vsp::test {

// What a finished command left behind.
struct Ran {
  int status = -1; // exit status; 128+N for signal N; -1: did not end
  std::string out;
  std::string err;
};

// Runs `binary` with `args` and exactly the environment `env` to its end
// (killed by PID after `timeout`), capturing stdout and stderr.
Ran run_command(const std::string& binary,
                const std::vector<std::string>& args,
                const std::vector<std::string>& env,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The vsp CLI from the build tree, as run_command runs it.
Ran run_vsp(const std::vector<std::string>& args,
            const std::vector<std::string>& env);

} // namespace vsp::test
