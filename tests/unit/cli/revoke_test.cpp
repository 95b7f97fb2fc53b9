// Black-box tests of what `vsp revoke` refuses before it asks anyone.
#include "tests/support/run_command.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace vsp::test;

TEST_CASE("vsp revoke refuses ledger selectors mixed with named credentials",
          "[cli][binary]") {
  TempDir dir;
  const std::string token =
      dir.write("token", "hvs.AAAAAAAAAAAAAAAAAAAAAAAA\n");
  // Nothing here may be reached: the refusal comes first.
  const std::vector<std::string> env{"PATH=/usr/bin:/bin",
                                     "VAULT_ADDR=http://127.0.0.1:9",
                                     "VAULT_TOKEN=hvs.AAAAAAAAAAAAAAAAAAAAAAAA",
                                     "VSP_LEDGER=" + dir.file("none.db")};
  const auto refused = [&](const std::vector<std::string>& args,
                           const std::string& selector,
                           const std::string& named) {
    INFO(Catch::Detail::stringify(args));
    std::vector<std::string> full{"revoke", "--yes"};
    full.insert(full.end(), args.begin(), args.end());
    const auto r = run_vsp(full, env);
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err == "vsp: error: " + selector + " selects ledger entries and " +
                       named +
                       " names what to revoke itself: give one or the other "
                       "(run vsp revoke once for each)\n");
  };
  refused({"--task", "t1", "--accessor", "a1"}, "--task", "--accessor");
  refused({"--lease", "l1", "--service", "web"}, "--service", "--lease");
  refused({"--secret", "app-db", "--token-file", token},
          "--secret",
          "--token-file");
  refused({"--secret", "app-db", "--token-stdin"}, "--secret", "--token-stdin");
  refused({"--service", "web", "--prefix", "auth/token/create/vsp-task"},
          "--service",
          "--prefix");
}
