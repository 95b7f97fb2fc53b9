// vsp status: asks a running plugin, over its socket, how it is: its
// Vault login, its rules, whether Vault and the Docker Engine API answer,
// and its counters. Exit 0 when all is well, 2 when the plugin cannot be
// reached or reports a problem (login not valid, Vault unreachable or
// sealed), after printing what it said.
#include "cli/command.hpp"
#include "cli/option_checks.hpp"

#include "core/docker/plugin_caller.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <vector>

namespace vsp::cli {
namespace {

using nlohmann::json;

constexpr const char* k_default_socket = "/run/docker/plugins/vsp.sock";

struct StatusOptions {
  std::string socket = k_default_socket;
  double timeout_seconds = 10;
  OutputFormat format = OutputFormat::human;
};

std::string duration_text(long long seconds) {
  if (seconds >= 86400) {
    return fmt::format("{}d{}h", seconds / 86400, seconds % 86400 / 3600);
  }
  if (seconds >= 3600) {
    return fmt::format("{}h{}m", seconds / 3600, seconds % 3600 / 60);
  }
  if (seconds >= 60) {
    return fmt::format("{}m{}s", seconds / 60, seconds % 60);
  }
  return fmt::format("{}s", seconds);
}

// What is wrong, one phrase each; empty when all is well.
std::vector<std::string> problems(const json& s) {
  std::vector<std::string> out;
  const json login = s.value("login", json::object());
  if (!login.value("valid", false)) {
    out.emplace_back("its Vault login is not valid");
  }
  const json vault = s.value("vault", json::object());
  if (!vault.value("reachable", false)) {
    out.emplace_back("Vault does not answer");
  } else if (vault.value("sealed", false)) {
    out.emplace_back("Vault is sealed");
  }
  const json rules = s.value("rules", json::object());
  if (!rules.value("loaded", false) || rules.value("rules", 0) == 0) {
    out.emplace_back("no rules are loaded (every request is refused)");
  }
  if (rules.contains("last_reload_error")) {
    out.emplace_back("the last rules reload failed; the earlier rules "
                     "still decide");
  }
  const json ledger = s.value("ledger", json::object());
  if (ledger.contains("error") || ledger.contains("write_error")) {
    out.emplace_back("the ledger cannot be written (requests that need it "
                     "are refused)");
  }
  const json engine = s.value("docker_engine", json::object());
  if (engine.value("configured", false) && !engine.value("reachable", false)) {
    out.emplace_back("the Docker Engine API does not answer (credentials are "
                     "not revoked when their task ends)");
  }
  return out;
}

std::string login_line(const json& login) {
  if (!login.value("valid", false)) {
    std::string line = "NOT VALID";
    if (login.contains("last_error")) {
      line += ": " + login.value("last_error", "");
    }
    return line;
  }
  std::string line = fmt::format("valid ({})", login.value("method", "?"));
  if (login.value("expires", false)) {
    line += ", expires in " + duration_text(login.value("ttl_seconds", 0LL));
  } else {
    line += ", does not expire";
  }
  if (login.value("renewable", false)) {
    line += ", renewable";
  }
  return line;
}

std::string vault_line(const json& vault) {
  const std::string where = vault.value("address", "?");
  if (!vault.value("reachable", false)) {
    return fmt::format(
        "NOT REACHABLE at {}: {}", where, vault.value("error", ""));
  }
  std::string line =
      fmt::format("reachable at {} ({}, {}",
                  where,
                  vault.value("sealed", false) ? "SEALED" : "unsealed",
                  vault.value("standby", false) ? "standby" : "active");
  if (vault.contains("version")) {
    line += ", " + vault.value("version", "");
  }
  return line + ")";
}

std::string ledger_line(const json& ledger) {
  if (!ledger.value("open", false)) {
    return "none";
  }
  std::string line = ledger.value("path", "?");
  if (ledger.contains("error")) {
    return line + ": " + ledger.value("error", "");
  }
  const json rows = ledger.value("rows", json::object());
  std::string counts;
  for (const auto& [state, n] : rows.items()) {
    if (n.get<long long>() > 0) {
      counts += fmt::format(
          "{}{} {}", counts.empty() ? "" : ", ", n.get<long long>(), state);
    }
  }
  return line + " (" + (counts.empty() ? "empty" : counts) + ")";
}

void print_human(const StatusOptions& o, const json& s) {
  const json process = s.value("process", json::object());
  const json rules = s.value("rules", json::object());
  const json engine = s.value("docker_engine", json::object());
  const json ledger = s.value("ledger", json::object());
  const json counters = s.value("counters", json::object());
  auto& out = std::cout;
  out << fmt::format("plugin:        {} (pid {}, up {})\n",
                     o.socket,
                     process.value("pid", 0),
                     duration_text(process.value("uptime_seconds", 0LL)));
  out << fmt::format("vault login:   {}\n",
                     login_line(s.value("login", json::object())));
  const int count = rules.value("rules", 0);
  out << fmt::format("rules:         {} from {}, loaded {}\n",
                     counted(static_cast<std::size_t>(count), "rule"),
                     rules.value("file", "?"),
                     rules.value("loaded_at", "?"));
  if (rules.contains("last_reload_error")) {
    out << fmt::format("               last reload FAILED, kept these: {}\n",
                       rules.value("last_reload_error", ""));
  }
  out << fmt::format("vault:         {}\n",
                     vault_line(s.value("vault", json::object())));
  std::string engine_line = engine.value("state", "?");
  if (engine.contains("endpoint")) {
    engine_line += " at " + engine.value("endpoint", "");
  }
  out << fmt::format("docker engine: {}\n", engine_line);
  out << fmt::format("ledger:        {}\n", ledger_line(ledger));
  if (ledger.contains("write_error")) {
    out << fmt::format("               writes FAILING since {}: {}\n",
                       ledger.value("write_error_at", "?"),
                       ledger.value("write_error", ""));
  }
  std::string requests;
  const json by_outcome = counters.value("requests", json::object());
  for (const auto& [outcome, n] : by_outcome.items()) {
    requests += fmt::format(
        "{}{} {}", requests.empty() ? "" : ", ", outcome, n.get<long long>());
  }
  out << fmt::format("requests:      {}\n",
                     requests.empty() ? "none" : requests);
  out << fmt::format("credentials:   {} issued, {} revoked\n",
                     counters.value("credentials_issued", 0LL),
                     counters.value("credentials_revoked", 0LL));
  out << fmt::format("vault calls:   {} ({} failed)\n",
                     counters.value("vault_calls", 0LL),
                     counters.value("vault_failures", 0LL));
  out << fmt::format(
      "process:       {:.1f} MiB resident, {}, {}\n",
      process.value("rss_bytes", 0.0) / (1024.0 * 1024.0),
      counted(process.value("threads", std::size_t{0}), "thread"),
      counted(process.value("connections", std::size_t{0}), "connection"));
}

void run(const StatusOptions& o) {
  const auto budget = std::chrono::milliseconds(
      static_cast<long long>(o.timeout_seconds * 1000));
  long http_status = 0;
  auto reply = docker::get_from_plugin(
      o.socket, "/status", Deadline::after(budget), &http_status);
  if (!reply) {
    throw CommandError(k_exit_remote, reply.error().message);
  }
  const json status = json::parse(*reply, nullptr, false);
  if (http_status != 200 || !status.is_object()) {
    throw CommandError(
        k_exit_remote,
        fmt::format("{} gave no status (HTTP {}); is it vsp-plugin 0.1 or "
                    "later?",
                    o.socket,
                    http_status));
  }
  if (o.format == OutputFormat::json) {
    print_json(std::cout, status);
  } else {
    print_human(o, status);
  }
  if (const auto wrong = problems(status); !wrong.empty()) {
    throw CommandError(k_exit_remote,
                       fmt::format("the plugin reports a problem: {}",
                                   fmt::join(wrong, "; ")));
  }
}

} // namespace

void add_status(CLI::App& app) {
  auto o = std::make_shared<StatusOptions>();
  auto* cmd = app.add_subcommand(
      "status",
      "Ask a running plugin about its Vault login, rules, Vault and counters");
  cmd->add_option("--socket", o->socket, "The plugin's Unix socket")
      ->capture_default_str();
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait")
      ->check(timeout_seconds());
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
