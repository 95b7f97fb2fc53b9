// vsp unwrap: opens a response-wrapped token (as a task would) and shows
// what was inside, without printing the inner token unless asked.
#include "cli/command.hpp"
#include "cli/option_checks.hpp"
#include "cli/secret_input.hpp"
#include "cli/unwrapped.hpp"

#include "core/util/duration.hpp"
#include "core/util/env.hpp"
#include "core/util/glob.hpp"
#include "core/vault/client.hpp"
#include "core/vault/types.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace vsp::cli {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

struct UnwrapOptions {
  SecretInput token;
  bool show_token = false;
  bool lookup = false;
  std::string expect_path;
  double timeout_seconds = 10;
  OutputFormat format = OutputFormat::human;
};

vault::Client make_client() {
  auto config = vault::Config::from_env(process_env);
  if (!config) {
    throw CommandError(k_exit_usage, config.error().message);
  }
  return vault::Client(*config);
}

json describe_lookup(const vault::WrapLookup& info) {
  return {{"kind", "wrapping"},
          {"creation_path", info.creation_path},
          {"creation_time", info.creation_time},
          {"creation_ttl", info.creation_ttl.count()}};
}

void print_lookup(const json& d) {
  std::cout << fmt::format("creation path: {}\n",
                           d["creation_path"].get<std::string>())
            << fmt::format("creation time: {}\n",
                           d["creation_time"].get<std::string>())
            << fmt::format(
                   "creation ttl:  {}\n",
                   format_duration(Seconds(d["creation_ttl"].get<long>())));
}

// A wrapping token made anywhere but where it should have been was
// possibly intercepted and re-wrapped: refuse it before it is opened.
void check_path(const vault::WrapLookup& info, const std::string& expected) {
  const bool ok = has_glob(expected) ? glob_match(expected, info.creation_path)
                                     : info.creation_path == expected;
  if (!ok) {
    throw CommandError(
        k_exit_denied,
        fmt::format("the wrapping token was created at \"{}\", not \"{}\": "
                    "possible interception; it was not unwrapped",
                    info.creation_path,
                    expected));
  }
}

void run(const UnwrapOptions& o) {
  const SecretString wrapping = read_secret_input(o.token, "wrapping token");
  vault::Client client = make_client();
  const auto budget = std::chrono::milliseconds(
      static_cast<long long>(o.timeout_seconds * 1000));

  if (o.lookup || !o.expect_path.empty()) {
    auto info = client.lookup_wrapping(wrapping, Deadline::after(budget));
    if (!info) {
      throw CommandError(k_exit_remote, info.error().message);
    }
    if (!o.expect_path.empty()) {
      check_path(*info, o.expect_path);
    }
    if (o.lookup) {
      const json d = describe_lookup(*info);
      if (o.format == OutputFormat::json) {
        print_json(std::cout, d);
      } else {
        print_lookup(d);
      }
      return;
    }
  }

  auto inner = client.unwrap(wrapping, Deadline::after(budget));
  if (!inner) {
    throw CommandError(k_exit_remote, inner.error().message);
  }

  const json d = describe_unwrapped(
      *inner, o.show_token ? ShowSecret::yes : ShowSecret::no);
  if (o.format == OutputFormat::json) {
    print_json(std::cout, d);
  } else {
    print_unwrapped(std::cout, d, "--show-token");
  }
}

} // namespace

void add_unwrap(CLI::App& app) {
  auto o = std::make_shared<UnwrapOptions>();
  auto* cmd = app.add_subcommand(
      "unwrap",
      "Open a response-wrapped token and show what it holds (uses it up)");
  cmd->add_option("token",
                  o->token.argument,
                  "The wrapping token (prefer stdin or --token-file: "
                  "arguments show in ps)");
  cmd->add_option("--token-file",
                  o->token.file,
                  "Read the wrapping token from FILE (- for stdin)")
      ->check(input_file(DashIsStdin::yes));
  cmd->add_flag("--show-token",
                o->show_token,
                "Also print the unwrapped token (or the values)");
  cmd->add_flag("--lookup",
                o->lookup,
                "Only show the creation path, time and TTL; the token stays "
                "usable");
  cmd->add_option("--expect-path",
                  o->expect_path,
                  "Refuse a token whose creation path is not this one (globs "
                  "allowed), e.g. auth/token/create/vsp-task");
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait for Vault")
      ->check(timeout_seconds());
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
