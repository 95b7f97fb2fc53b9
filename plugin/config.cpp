#include "plugin/config.hpp"

#include "core/util/duration.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

namespace vsp::plugin {
namespace {

Error bad(const char* name, const std::string& value, const std::string& why) {
  return Error(ErrorKind::invalid_input,
               "invalid_config",
               fmt::format("{}=\"{}\": {}", name, value, why));
}

// Levenshtein distance, for suggestions between short names.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1,
                         row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

} // namespace

const std::vector<std::string_view>& known_settings() {
  static const std::vector<std::string_view> k_names{
      "VSP_APPROLE_MOUNT",
      "VSP_DEADLINE",
      "VSP_DOCKER_SOCKET",
      "VSP_LEDGER",
      "VSP_LOG_LEVEL",
      "VSP_METRICS_ADDR",
      "VSP_METRICS_ALLOW_REMOTE",
      "VSP_POLL_INTERVAL",
      "VSP_REUSE_WINDOW",
      "VSP_ROLE_ID_FILE",
      "VSP_RULES",
      "VSP_SECRET_ID_FILE",
      "VSP_SECRET_ID_WRAPPED",
      "VSP_SECRET_ID_WRAP_PATH",
      "VSP_SOCKET",
      "VSP_SOCKET_GROUP",
      "VSP_SOCKET_MODE",
      "VSP_TOKEN_FILE",
      "VSP_WORKERS",
  };
  return k_names;
}

std::vector<std::string>
unknown_settings(const std::vector<std::string>& environment) {
  // Two edits cover a dropped, doubled or swapped letter.
  constexpr std::size_t k_max_suggestion_distance = 2;
  const auto& known = known_settings();
  std::vector<std::string> out;
  for (const std::string& entry : environment) {
    const std::string_view name =
        std::string_view(entry).substr(0, entry.find('='));
    if (name.substr(0, 4) != "VSP_" ||
        std::find(known.begin(), known.end(), name) != known.end()) {
      continue;
    }
    std::string_view nearest;
    std::size_t best = k_max_suggestion_distance + 1;
    for (const std::string_view candidate : known) {
      if (const std::size_t d = distance(name, candidate); d < best) {
        best = d;
        nearest = candidate;
      }
    }
    out.push_back(
        nearest.empty()
            ? fmt::format("unknown setting {} is ignored (see vsp-plugin(8))",
                          name)
            : fmt::format("unknown setting {} is ignored (did you mean {}?)",
                          name,
                          nearest));
  }
  return out;
}

Result<Config> Config::from_env(const Getenv& getenv) {
  Config c;
  const auto text = [&](const char* name, std::string& out) {
    if (auto v = getenv(name); v && !v->empty()) {
      out = *v;
    }
  };
  text("VSP_SOCKET", c.socket_path);
  text("VSP_SOCKET_GROUP", c.socket_group);
  text("VSP_RULES", c.rules_path);
  text("VSP_LEDGER", c.ledger_path);

  if (auto v = getenv("VSP_SOCKET_MODE"); v && !v->empty()) {
    char* end = nullptr;
    const long mode = std::strtol(v->c_str(), &end, 8);
    if (*end != '\0' || mode < 0 || mode > 0777) {
      return bad("VSP_SOCKET_MODE", *v, "expected an octal mode such as 0660");
    }
    // Whoever may connect may ask for any task's credentials.
    if ((mode & 0007) != 0) {
      return bad("VSP_SOCKET_MODE",
                 *v,
                 "others may not use the socket: whoever connects can ask "
                 "for any task's secrets (0660 or 0600)");
    }
    c.socket_mode = static_cast<mode_t>(mode);
  }
  if (auto v = getenv("VSP_DEADLINE"); v && !v->empty()) {
    auto d = parse_duration_ms(*v);
    if (!d || d->count() < 100 || d->count() > 60'000) {
      return bad("VSP_DEADLINE", *v, "expected a duration from 100ms to 60s");
    }
    c.deadline = *d;
  }
  if (auto v = getenv("VSP_REUSE_WINDOW"); v && !v->empty()) {
    auto d = parse_duration(*v);
    if (!d) {
      return bad("VSP_REUSE_WINDOW", *v, d.error().message);
    }
    c.reuse_window = *d;
  }
  if (auto v = getenv("VSP_POLL_INTERVAL"); v && !v->empty()) {
    auto d = parse_duration_ms(*v);
    if (!d || d->count() < 100 || d->count() > 3'600'000) {
      return bad(
          "VSP_POLL_INTERVAL", *v, "expected a duration from 100ms to 1h");
    }
    c.poll_interval = *d;
  }
  if (auto v = getenv("VSP_WORKERS"); v && !v->empty()) {
    char* end = nullptr;
    const long n = std::strtol(v->c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 1024) {
      return bad("VSP_WORKERS", *v, "expected a number from 1 to 1024");
    }
    c.workers = static_cast<unsigned>(n);
  }
  if (auto v = getenv("VSP_LOG_LEVEL"); v && !v->empty()) {
    if (!log::parse_level(*v, c.log_level)) {
      return bad("VSP_LOG_LEVEL", *v, "expected error, warn, info or debug");
    }
  }

  if (auto v = getenv("VAULT_TOKEN"); v && !v->empty()) {
    return Error(ErrorKind::invalid_input,
                 "invalid_config",
                 "VAULT_TOKEN is set, but the plugin takes its Vault login "
                 "only from files (VSP_TOKEN_FILE, or VSP_ROLE_ID_FILE and "
                 "VSP_SECRET_ID_FILE): environment variables show in `docker "
                 "plugin inspect`");
  }
  auto login = vault::LoginConfig::from_env(getenv);
  if (!login) {
    return login.error();
  }
  c.login = std::move(*login);
  return c;
}

} // namespace vsp::plugin
