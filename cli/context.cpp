#include "cli/context.hpp"

#include "cli/command.hpp"

#include "core/util/env.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

namespace vsp::cli {
namespace {

// Below this many items a progress line would only flicker.
constexpr std::size_t k_progress_min_items = 5;

} // namespace

std::string default_ledger_path() {
  if (auto v = process_env("VSP_LEDGER"); v && !v->empty()) {
    return *v;
  }
  return "/var/lib/vsp/ledger.db";
}

std::unique_ptr<ledger::Ledger> open_ledger(const std::string& path,
                                            ledger::Access access) {
  // The plugin creates its ledger; the CLI only reads and amends one. A
  // mistyped path must not become a new, empty ledger that has "nothing
  // to revoke".
  if (access == ledger::Access::read_write &&
      ::access(path.c_str(), F_OK) != 0) {
    throw CommandError(k_exit_usage,
                       fmt::format("ledger {}: no such file (the plugin "
                                   "creates it; check --ledger or VSP_LEDGER)",
                                   path));
  }
  ledger::Options options;
  // Beside a busy plugin the CLI may wait longer than a request would.
  options.busy_timeout = std::chrono::milliseconds(10'000);
  auto opened = ledger::Ledger::open(path, access, options);
  if (!opened) {
    throw CommandError(k_exit_usage, opened.error().message);
  }
  return std::move(opened).value();
}

SecretString VaultSession::token(Deadline deadline) const {
  auto token = auth->current(deadline);
  if (!token) {
    throw CommandError(k_exit_remote, token.error().message);
  }
  return std::move(*token);
}

Deadline VaultSession::call_deadline() const {
  return Deadline::after(client->config().client_timeout);
}

VaultSession connect_vault() {
  auto config = vault::Config::from_env(process_env);
  if (!config) {
    throw CommandError(k_exit_usage, config.error().message);
  }
  VaultSession session;
  session.client = std::make_unique<vault::Client>(*config);
  auto auth = vault::Auth::for_cli(*session.client, process_env);
  if (!auth) {
    throw CommandError(k_exit_usage, auth.error().message);
  }
  session.auth = std::move(*auth);
  return session;
}

std::unique_ptr<docker::EngineClient> engine_or_null() {
  auto endpoint = docker::find_engine(process_env);
  if (!endpoint) {
    throw CommandError(k_exit_usage, endpoint.error().message);
  }
  if (!*endpoint) {
    return nullptr;
  }
  return std::make_unique<docker::EngineClient>(**endpoint);
}

bool stdin_is_terminal() {
  return ::isatty(STDIN_FILENO) == 1;
}

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

bool confirm(const std::string& question) {
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    return false;
  }
  return answer == "y" || answer == "Y" || answer == "yes";
}

std::string format_time_ms(std::int64_t ms) {
  if (ms <= 0) {
    return "-";
  }
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  char text[32];
  if (::gmtime_r(&seconds, &utc) == nullptr ||
      std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &utc) == 0) {
    return "-";
  }
  return text;
}

Progress::Progress(std::string label, std::size_t total)
    : m_label(std::move(label)), m_total(total),
      m_shown(stderr_is_terminal() && total >= k_progress_min_items) {}

Progress::~Progress() {
  if (m_shown) {
    // Best effort, and past std::cerr's terminal guard on purpose: the
    // line is redrawn with \r and ESC [K.
    (void)std::fputs("\r\033[K", stderr);
    (void)std::fflush(stderr);
  }
}

void Progress::step() {
  ++m_done;
  if (m_shown) {
    (void)std::fprintf(
        stderr, "\r%s %zu/%zu", m_label.c_str(), m_done, m_total);
    (void)std::fflush(stderr);
  }
}

} // namespace vsp::cli
