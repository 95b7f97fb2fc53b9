// Black-box tests: every kind of option value vsp refuses gets one
// `vsp: error: --OPTION: expected ..., not "VALUE"` line and exit 1.
#include "cli/option_checks.hpp"

#include "tests/support/run_command.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace vsp::test;

namespace {

const std::vector<std::string> k_env{"PATH=/usr/bin:/bin"};

const char* k_rules = R"(rules:
  - name: app
    match: {secret: "app-*"}
    allowed_policies: [app-read]
)";

// Runs vsp and expects the usage failure `message` alone on stderr.
void check_refused(const std::vector<std::string>& args,
                   const std::string& message) {
  INFO("vsp " << Catch::Detail::stringify(args));
  const auto r = run_vsp(args, k_env);
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "vsp: error: " + message + "\n");
}

} // namespace

TEST_CASE("vsp names the choices of an enum option it refuses",
          "[cli][binary]") {
  SECTION("--format, on every subcommand that has it") {
    const std::string expected =
        "--format: expected human or json, not \"xml\"";
    for (const auto& command : std::vector<std::vector<std::string>>{
             {"rules", "list"},
             {"rules", "check"},
             {"rules", "explain"},
             {"simulate"},
             {"status"},
             {"unwrap"},
             {"audit"},
             {"revoke"},
             {"rotate", "--service", "web"}}) {
      auto args = command;
      args.insert(args.end(), {"--format", "xml"});
      check_refused(args, expected);
    }
  }
  SECTION("--format names stay case-insensitive") {
    TempDir dir;
    const std::string rules = dir.write("rules.yaml", k_rules);
    auto r = run_vsp({"rules", "list", "--format", "JSON", rules}, k_env);
    CHECK(r.status == 0);
    CHECK(nlohmann::json::parse(r.out).is_array());
  }
  SECTION("audit --source and --state") {
    check_refused({"audit", "--source", "cloud"},
                  "--source: expected ledger or vault, not \"cloud\"");
    check_refused({"audit", "--state", "live"},
                  "--state: expected pending, issued, revoked, expired, "
                  "failed or unknown, not \"live\"");
  }
}

TEST_CASE("vsp says what a text option wants", "[cli][binary]") {
  check_refused({"simulate", "--secret", "s", "--secret-label", "team"},
                "--secret-label: expected KEY=VALUE, not \"team\"");
  check_refused({"rules", "explain", "--service-label", "=x"},
                "--service-label: expected KEY=VALUE, not \"=x\"");
  check_refused({"revoke", "--accessor", ""},
                "--accessor: expected a token accessor, not \"\"");
  check_refused({"revoke", "--lease", ""},
                "--lease: expected a lease ID, not \"\"");
}

TEST_CASE("vsp says what a flag takes", "[cli][binary]") {
  check_refused({"revoke", "--dry-run=maybe"},
                "--dry-run: expected no value, or true or false, not "
                "\"maybe\"");
  check_refused({"audit", "--format"},
                "--format: expected a value, none given");
}

TEST_CASE("vsp says what number an option wants", "[cli][binary]") {
  const std::string expected =
      "--limit: expected a whole number of rows (0: no limit), not ";
  check_refused({"audit", "--limit", "ten"}, expected + "\"ten\"");
  check_refused({"audit", "--limit", "1.5"}, expected + "\"1.5\"");
  check_refused({"audit", "--limit=-1"}, expected + "\"-1\"");
  check_refused({"audit", "--limit", "99999999999999999999"},
                expected + "\"99999999999999999999\"");
}

TEST_CASE("vsp says what a --timeout in seconds must be", "[cli][binary]") {
  const std::string positive =
      "--timeout: expected a number of seconds greater than 0, not ";
  for (const auto& command :
       std::vector<std::vector<std::string>>{{"status"},
                                             {"unwrap"},
                                             {"simulate"},
                                             {"rotate", "--service", "web"}}) {
    for (const std::string value : {"0", "-1", "soon", "nan", "inf", " 5"}) {
      auto args = command;
      args.push_back("--timeout=" + value);
      check_refused(args, positive + "\"" + value + "\"");
    }
    auto missing = command;
    missing.push_back("--timeout=");
    check_refused(missing, "--timeout: expected a value, none given");
    auto args = command;
    args.insert(args.end(), {"--timeout", "1e300"});
    check_refused(args,
                  "--timeout: expected at most 86400 seconds (a day), not "
                  "\"1e300\"");
  }
}

TEST_CASE("vsp refuses an input file it cannot read before starting",
          "[cli][binary]") {
  TempDir dir;
  const std::string missing = dir.file("none");
  SECTION("a missing file") {
    check_refused({"unwrap", "--token-file", missing},
                  "--token-file: expected a readable file, not \"" + missing +
                      "\" (no such file or directory)");
    check_refused({"revoke", "--token-file", missing},
                  "--token-file: expected a readable file, not \"" + missing +
                      "\" (no such file or directory)");
    check_refused({"simulate", "--request", missing},
                  "--request: expected a readable file, not \"" + missing +
                      "\" (no such file or directory)");
  }
  SECTION("a directory") {
    check_refused({"rules", "explain", "--rules", dir.path()},
                  "--rules: expected a readable file, not \"" + dir.path() +
                      "\" (a directory)");
    check_refused({"simulate", "--rules", dir.path()},
                  "--rules: expected a readable file, not \"" + dir.path() +
                      "\" (a directory)");
  }
  SECTION("- is standard input where the option says so, not for --rules") {
    check_refused({"rules", "explain", "--rules", "-"},
                  "--rules: expected a readable file, not \"-\" (no such "
                  "file or directory)");
  }
}

TEST_CASE("row_limit passes a limit on in decimal", "[cli]") {
  auto check = vsp::cli::row_limit();
  std::string value = "010";
  CHECK(check(value).empty());
  CHECK(value == "10");
  value = "0";
  CHECK(check(value).empty());
  CHECK(value == "0");
}
