// vsp unwrap: opens a response-wrapped token (as a task would) and shows
// what was inside, without printing the inner token unless asked.
#include "cli/command.hpp"
#include "cli/secret_input.hpp"

#include "core/util/duration.hpp"
#include "core/util/env.hpp"
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

// What the wrapped response held: a token (auth) or data.
json describe(vault::Response& inner, bool show_secret) {
  if (inner.body.is_object() && inner.body.contains("auth") &&
      inner.body["auth"].is_object()) {
    auto auth = vault::parse_token_auth(inner, "sys/wrapping/unwrap");
    if (!auth) {
      throw CommandError(k_exit_remote, auth.error().message);
    }
    json out{{"kind", "token"},
             {"accessor", auth->accessor},
             {"policies", auth->policies},
             {"metadata", auth->metadata},
             {"ttl", auth->lease_duration.count()},
             {"renewable", auth->renewable},
             {"orphan", auth->orphan},
             {"token_type", auth->token_type}};
    if (show_secret) {
      out["token"] = std::string(auth->client_token.reveal());
    }
    return out;
  }
  json data = inner.body.is_object() && inner.body.contains("data")
                  ? inner.body["data"]
                  : json();
  json out{{"kind", "data"}};
  if (data.is_object()) {
    json keys = json::array();
    for (const auto& [key, value] : data.items()) {
      keys.push_back(key);
    }
    out["keys"] = keys;
  }
  if (inner.body.is_object() && inner.body.value("lease_id", "") != "") {
    out["lease_id"] = inner.body["lease_id"];
    out["lease_duration"] = inner.body.value("lease_duration", 0);
  }
  if (show_secret) {
    out["data"] = data;
  }
  return out;
}

void print_human(const json& d) {
  if (d["kind"] == "token") {
    std::cout << fmt::format("accessor:    {}\n",
                             d["accessor"].get<std::string>())
              << fmt::format(
                     "policies:    {}\n",
                     fmt::join(d["policies"].get<std::vector<std::string>>(),
                               ", "))
              << fmt::format("ttl:         {}\n",
                             format_duration(Seconds(d["ttl"].get<long>())))
              << fmt::format("renewable:   {}\n", d["renewable"].get<bool>())
              << fmt::format("orphan:      {}\n", d["orphan"].get<bool>())
              << "metadata:\n";
    for (const auto& [key, value] : d["metadata"].items()) {
      std::cout << fmt::format("  {:<18} {}\n", key, value.get<std::string>());
    }
    if (d.contains("token")) {
      std::cout << fmt::format("token:       {}\n",
                               d["token"].get<std::string>());
    } else {
      std::cout << "token:       (hidden; --show-token prints it)\n";
    }
    return;
  }
  std::cout << "data keys:   ";
  std::cout << (d.contains("keys")
                    ? fmt::format("{}", fmt::join(d["keys"], ", "))
                    : std::string("(none)"))
            << '\n';
  if (d.contains("lease_id")) {
    std::cout << fmt::format("lease:       {}\n",
                             d["lease_id"].get<std::string>());
  }
  if (d.contains("data")) {
    std::cout << d["data"].dump(2) << '\n';
  } else {
    std::cout << "values:      (hidden; --show-token prints them)\n";
  }
}

void run(const UnwrapOptions& o) {
  const SecretString wrapping = read_secret_input(o.token, "wrapping token");
  vault::Client client = make_client();
  const auto budget = std::chrono::milliseconds(
      static_cast<long long>(o.timeout_seconds * 1000));

  auto inner = client.unwrap(wrapping, Deadline::after(budget));
  if (!inner) {
    throw CommandError(k_exit_remote, inner.error().message);
  }

  const json d = describe(*inner, o.show_token);
  if (o.format == OutputFormat::json) {
    std::cout << d.dump(2) << '\n';
  } else {
    print_human(d);
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
                  "Read the wrapping token from FILE (- for stdin)");
  cmd->add_flag("--show-token",
                o->show_token,
                "Also print the unwrapped token (or the values)");
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait for Vault")
      ->check(CLI::PositiveNumber);
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
