#include "tests/support/run_command.hpp"

#include "tests/support/child_process.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

namespace vsp::test {

Ran run_command(const std::string& binary,
                const std::vector<std::string>& args,
                const std::vector<std::string>& env,
                std::chrono::milliseconds timeout) {
  TempDir logs;
  Ran out;
  {
    ChildProcess child(binary, args, env, logs.path());
    out.status = child.wait(timeout).value_or(-1);
    out.out = child.out();
    out.err = child.err();
  }
  return out;
}

Ran run_vsp(const std::vector<std::string>& args,
            const std::vector<std::string>& env) {
  return run_command(binary_path("cli/vsp"), args, env);
}

} // namespace vsp::test
