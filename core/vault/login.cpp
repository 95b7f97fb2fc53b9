#include "core/vault/login.hpp"

#include "core/util/log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <random>

namespace vsp::vault {
namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Credential files hold one token or ID; anything bigger is a mistake.
constexpr std::size_t k_max_credential_file = std::size_t{64} * 1024;

Error bad_config(std::string message) {
  return make_error(
      ErrorKind::invalid_input, errc::invalid_argument, std::move(message));
}

bool looks_like_uuid(std::string_view s) {
  if (s.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

// auth/<mount>/role/<name>/secret-id with a non-empty name.
bool is_secret_id_path(std::string_view path, std::string_view mount) {
  const std::string prefix = fmt::format("auth/{}/role/", mount);
  constexpr std::string_view k_suffix = "/secret-id";
  if (path.size() <= prefix.size() + k_suffix.size() ||
      path.substr(0, prefix.size()) != prefix ||
      path.substr(path.size() - k_suffix.size()) != k_suffix) {
    return false;
  }
  const std::string_view name =
      path.substr(prefix.size(), path.size() - prefix.size() - k_suffix.size());
  return name.find('/') == std::string_view::npos;
}

bool refuses_credentials(const Error& e) {
  return e.code == errc::invalid_token || e.code == errc::permission_denied ||
         e.code == errc::bad_request;
}

Millis jittered_backoff(int failures, const RenewPolicy& p) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const int shift = std::min(failures - 1, 16);
  const Millis base = std::min(p.backoff_max, p.backoff_min * (1 << shift));
  const double unit = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  const auto wait = Millis(
      static_cast<Millis::rep>(static_cast<double>(base.count()) * unit));
  return std::max(wait, p.min_interval);
}

} // namespace

// What one login produced.
struct LoginResult {
  SecretString token;
  std::string accessor;
  Seconds ttl{0}; // 0: never expires (or unknown)
  bool renewable = false;
  Seconds increment{0}; // what to ask for when renewing
};

// One way to obtain a token. Auth calls login() under its login mutex, so
// implementations need no locking of their own.
class LoginMethod {
public:
  virtual ~LoginMethod() = default;
  virtual const char* name() const = 0;
  virtual Result<LoginResult> login(Client& client, Deadline d) = 0;
};

namespace {

class TokenFileLogin final : public LoginMethod {
public:
  explicit TokenFileLogin(std::string path) : m_path(std::move(path)) {}
  const char* name() const override { return "token-file"; }

  Result<LoginResult> login(Client& client, Deadline d) override {
    auto token = read_credential_file(m_path);
    if (!token) {
      return token.error();
    }
    LoginResult out;
    auto info = client.lookup_self(*token, d);
    if (!info) {
      const Error& e = info.error();
      if (e.code == errc::invalid_token) {
        return make_error(
            e.kind,
            errc::invalid_token,
            fmt::format("vault: the token in {} is invalid or expired; "
                        "write a new one there to rotate it",
                        m_path));
      }
      if (e.code != errc::permission_denied) {
        return e;
      }
      // A token without the default policy may not look itself up. It
      // still works; it just cannot be renewed by us.
      log::warn("vault",
                "token in {} may not look itself up; using it without "
                "renewal",
                m_path);
      out.token = std::move(*token);
      return out;
    }
    out.token = std::move(*token);
    out.accessor = info->accessor;
    out.ttl = info->ttl;
    out.renewable = info->renewable;
    out.increment =
        info->creation_ttl.count() > 0 ? info->creation_ttl : info->ttl;
    return out;
  }

private:
  std::string m_path;
};

class AppRoleLogin final : public LoginMethod {
public:
  explicit AppRoleLogin(LoginConfig config) : m_config(std::move(config)) {}
  const char* name() const override { return "approle"; }

  Result<LoginResult> login(Client& client, Deadline d) override {
    auto role_id = read_credential_file(m_config.role_id_file);
    if (!role_id) {
      return role_id.error();
    }
    auto secret_id = resolve_secret_id(client, d);
    if (!secret_id) {
      return secret_id.error();
    }
    auto auth =
        client.login_approle(*role_id, *secret_id, m_config.approle_mount, d);
    if (!auth) {
      if (refuses_credentials(auth.error())) {
        // Perhaps a spent or rotated secret_id: read the file afresh.
        m_secret_id.clear();
        m_source.clear();
      }
      return auth.error();
    }
    LoginResult out;
    out.token = std::move(auth->client_token);
    out.accessor = auth->accessor;
    out.ttl = auth->lease_duration;
    out.renewable = auth->renewable;
    out.increment = auth->lease_duration;
    return out;
  }

private:
  bool is_wrapped(const SecretString& content) const {
    switch (m_config.secret_id_wrapping) {
    case SecretIdWrapping::plain:
      return false;
    case SecretIdWrapping::wrapped:
      return true;
    case SecretIdWrapping::detect:
      break;
    }
    return !looks_like_uuid(content.reveal());
  }

  Status check_creation_path(const std::string& path) const {
    const bool ok = m_config.secret_id_wrap_path.empty()
                        ? is_secret_id_path(path, m_config.approle_mount)
                        : path == m_config.secret_id_wrap_path;
    if (ok) {
      return ok_status();
    }
    const std::string expected =
        m_config.secret_id_wrap_path.empty()
            ? fmt::format("auth/{}/role/<role>/secret-id",
                          m_config.approle_mount)
            : m_config.secret_id_wrap_path;
    return make_error(
        ErrorKind::denied,
        errc::wrapping_token_invalid,
        fmt::format("vault: the wrapping token in {} was created at {}, not "
                    "{}: refusing to unwrap it (possible interception)",
                    m_config.secret_id_file,
                    path,
                    expected));
  }

  // The secret_id, unwrapping the file's content when it is a wrapping
  // token. The unwrapped value is kept: the wrapping token is single-use.
  Result<SecretString> resolve_secret_id(Client& client, Deadline d) {
    auto content = read_credential_file(m_config.secret_id_file);
    if (!content) {
      return content.error();
    }
    if (!m_secret_id.empty() && *content == m_source) {
      return m_secret_id;
    }
    if (!is_wrapped(*content)) {
      m_secret_id = *content;
      m_source = std::move(*content);
      return m_secret_id;
    }
    auto lookup = client.lookup_wrapping(*content, d);
    if (!lookup) {
      Error e = lookup.error();
      if (e.code == errc::wrapping_token_invalid) {
        e.message = fmt::format("vault: the wrapping token in {} is used, "
                                "expired or unknown; write a fresh one",
                                m_config.secret_id_file);
      }
      return e;
    }
    if (auto s = check_creation_path(lookup->creation_path); !s) {
      return s.error();
    }
    auto unwrapped = client.unwrap(*content, d);
    if (!unwrapped) {
      return unwrapped.error();
    }
    SecretString secret_id;
    auto& body = unwrapped->body;
    if (body.is_object() && body.contains("data") && body["data"].is_object() &&
        body["data"].contains("secret_id") &&
        body["data"]["secret_id"].is_string()) {
      auto& s = body["data"]["secret_id"].get_ref<std::string&>();
      secret_id = SecretString(std::move(s));
      wipe(s);
    }
    if (secret_id.empty()) {
      return make_error(
          ErrorKind::internal,
          errc::invalid_response,
          fmt::format("vault: the wrapping token in {} held no secret_id",
                      m_config.secret_id_file));
    }
    log::info("vault",
              "unwrapped the secret_id from {} (creation_path={})",
              m_config.secret_id_file,
              lookup->creation_path);
    m_secret_id = std::move(secret_id);
    m_source = std::move(*content);
    return m_secret_id;
  }

  LoginConfig m_config;
  SecretString m_secret_id; // unwrapped, kept for later logins
  SecretString m_source;    // the file content it came from
};

class StaticLogin final : public LoginMethod {
public:
  explicit StaticLogin(SecretString token) : m_token(std::move(token)) {}
  const char* name() const override { return "cli"; }
  Result<LoginResult> login(Client&, Deadline) override {
    LoginResult out;
    out.token = m_token;
    return out;
  }

private:
  SecretString m_token;
};

} // namespace

struct Auth::Held {
  SecretString token;
  std::string accessor;
  Seconds ttl{0};
  Seconds increment{0};
  bool renewable = false;
  Clock::time_point obtained;
  Clock::time_point expires; // max() when the token does not expire
};

Result<SecretString> read_credential_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return bad_config(
        fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  std::string content;
  content.reserve(k_max_credential_file + 1);
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      wipe(content);
      return bad_config(
          fmt::format("cannot read {}: {}", path, std::strerror(err)));
    }
    if (n == 0) {
      break;
    }
    if (content.size() + static_cast<std::size_t>(n) > k_max_credential_file) {
      ::close(fd);
      wipe(content);
      return bad_config(fmt::format("{} is too large for a credential", path));
    }
    content.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  explicit_bzero(buf, sizeof buf);
  const auto first = content.find_first_not_of(" \t\r\n");
  const auto last = content.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    wipe(content);
    return bad_config(fmt::format("{} is empty", path));
  }
  // Trim in place, so the value is never copied.
  content.erase(last + 1);
  content.erase(0, first);
  return SecretString(std::move(content));
}

std::vector<std::string> LoginConfig::file_warnings() const {
  std::vector<std::string> out;
  for (const auto& [setting, path] :
       {std::pair{"VSP_TOKEN_FILE", &token_file},
        std::pair{"VSP_SECRET_ID_FILE", &secret_id_file}}) {
    struct stat st {};
    if (path->empty() || ::stat(path->c_str(), &st) != 0 ||
        (st.st_mode & S_IROTH) == 0) {
      continue;
    }
    out.push_back(fmt::format("{} {} can be read by any user (mode {:04o}); "
                              "make it 0600 or 0640",
                              setting,
                              *path,
                              st.st_mode & 07777));
  }
  return out;
}

Result<LoginConfig> LoginConfig::from_env(const Getenv& getenv) {
  const auto read = [&](const char* name) {
    auto v = getenv(name);
    return v && !v->empty() ? *v : std::string();
  };
  LoginConfig c;
  c.token_file = read("VSP_TOKEN_FILE");
  c.role_id_file = read("VSP_ROLE_ID_FILE");
  c.secret_id_file = read("VSP_SECRET_ID_FILE");
  if (auto m = read("VSP_APPROLE_MOUNT"); !m.empty()) {
    c.approle_mount = m;
  }
  c.secret_id_wrap_path = read("VSP_SECRET_ID_WRAP_PATH");
  if (auto w = read("VSP_SECRET_ID_WRAPPED"); !w.empty()) {
    const auto b = parse_go_bool(w);
    if (!b) {
      return bad_config("could not parse VSP_SECRET_ID_WRAPPED");
    }
    c.secret_id_wrapping =
        *b ? SecretIdWrapping::wrapped : SecretIdWrapping::plain;
  }
  const bool approle = !c.role_id_file.empty() || !c.secret_id_file.empty();
  if (approle && (c.role_id_file.empty() || c.secret_id_file.empty())) {
    return bad_config(
        "VSP_ROLE_ID_FILE and VSP_SECRET_ID_FILE must be set together");
  }
  if (approle && !c.token_file.empty()) {
    return bad_config(
        "set either VSP_TOKEN_FILE or the AppRole files, not both");
  }
  if (!approle && c.token_file.empty()) {
    return bad_config("no vault login configured: set VSP_TOKEN_FILE, or "
                      "VSP_ROLE_ID_FILE and VSP_SECRET_ID_FILE");
  }
  if (c.approle_mount.find('/') != std::string::npos) {
    return bad_config("VSP_APPROLE_MOUNT must be a mount name without '/'");
  }
  return c;
}

std::unique_ptr<Auth>
Auth::from_token_file(Client& client, std::string path, RenewPolicy policy) {
  return std::make_unique<Auth>(
      client, std::make_unique<TokenFileLogin>(std::move(path)), policy);
}

std::unique_ptr<Auth>
Auth::from_approle(Client& client, LoginConfig config, RenewPolicy policy) {
  return std::make_unique<Auth>(
      client, std::make_unique<AppRoleLogin>(std::move(config)), policy);
}

std::unique_ptr<Auth> Auth::from_config(Client& client,
                                        const LoginConfig& config,
                                        RenewPolicy policy) {
  if (!config.token_file.empty()) {
    return from_token_file(client, config.token_file, policy);
  }
  return from_approle(client, config, policy);
}

Result<std::unique_ptr<Auth>> Auth::for_cli(Client& client,
                                            const Getenv& getenv) {
  if (auto v = getenv("VAULT_TOKEN"); v && !v->empty()) {
    SecretString token(std::move(*v));
    return std::make_unique<Auth>(
        client, std::make_unique<StaticLogin>(std::move(token)), RenewPolicy{});
  }
  const auto home = getenv("HOME");
  if (home && !home->empty()) {
    const std::string path = *home + "/.vault-token";
    if (::access(path.c_str(), F_OK) == 0) {
      auto token = read_credential_file(path);
      if (!token) {
        return token.error();
      }
      return std::make_unique<Auth>(
          client,
          std::make_unique<StaticLogin>(std::move(*token)),
          RenewPolicy{});
    }
  }
  return bad_config(
      "no vault token: set VAULT_TOKEN or log in with `vault login`");
}

Auth::Auth(Client& client,
           std::unique_ptr<LoginMethod> method,
           RenewPolicy policy)
    : m_client(client), m_method(std::move(method)), m_policy(policy) {}

Auth::~Auth() {
  stop_renewer();
}

Result<SecretString> Auth::current(Deadline deadline) {
  {
    const std::lock_guard<std::mutex> guard(m_mutex);
    if (m_held && !m_invalid && Clock::now() < m_held->expires) {
      return m_held->token;
    }
  }
  return login(deadline);
}

void Auth::invalidate(const SecretString& token) {
  const std::lock_guard<std::mutex> guard(m_mutex);
  if (m_held && m_held->token == token && !m_invalid) {
    m_invalid = true;
    log::info("vault",
              "token reported invalid; logging in again method={} "
              "accessor={}",
              m_method->name(),
              m_held->accessor);
    m_wake.notify_all();
  }
}

Result<SecretString> Auth::login(Deadline deadline) {
  std::unique_lock<std::mutex> lock(m_mutex);
  const std::uint64_t seen = m_logins;
  if (!m_wake.wait_until(lock, deadline.at(), [&] { return !m_logging_in; })) {
    return make_error(ErrorKind::timeout,
                      errc::timeout,
                      "vault: deadline passed waiting for the vault login");
  }
  // Another caller may have logged in while this one waited.
  if (m_logins != seen && m_held && !m_invalid &&
      Clock::now() < m_held->expires) {
    return m_held->token;
  }
  m_logging_in = true;
  lock.unlock();

  auto r = m_method->login(m_client, deadline);

  lock.lock();
  m_logging_in = false;
  m_wake.notify_all();
  if (!r) {
    ++m_failures;
    m_retry_at = Clock::now() + jittered_backoff(m_failures, m_policy);
    m_last_error = r.error().message;
    lock.unlock();
    log::warn("vault",
              "login failed method={}: {}",
              m_method->name(),
              r.error().message);
    return r.error();
  }
  const auto now = Clock::now();
  auto held = std::make_unique<Held>();
  held->token = std::move(r->token);
  held->accessor = r->accessor;
  held->ttl = r->ttl;
  held->increment = r->increment;
  held->renewable = r->renewable;
  held->obtained = now;
  held->expires = r->ttl.count() > 0 ? now + r->ttl : Clock::time_point::max();
  m_held = std::move(held);
  m_invalid = false;
  m_capped = false;
  m_failures = 0;
  m_retry_at = {};
  m_last_error.clear();
  ++m_logins;
  SecretString token = m_held->token;
  const std::string accessor = m_held->accessor;
  lock.unlock();
  log::info("vault",
            "logged in method={} accessor={} ttl={}s renewable={}",
            m_method->name(),
            accessor,
            r->ttl.count(),
            r->renewable);
  return token;
}

void Auth::start_renewer() {
  const std::lock_guard<std::mutex> guard(m_mutex);
  if (m_renewer.joinable()) {
    return;
  }
  m_stop = false;
  m_renewer = std::thread([this] { renew_loop(); });
}

void Auth::stop_renewer() {
  {
    const std::lock_guard<std::mutex> guard(m_mutex);
    m_stop = true;
    m_wake.notify_all();
  }
  if (m_renewer.joinable()) {
    m_renewer.join();
  }
}

void Auth::renew_loop() {
  enum class Step { login, renew, idle };
  std::unique_lock<std::mutex> lock(m_mutex);
  Clock::time_point last_action{};
  while (!m_stop) {
    Step step = Step::login;
    Clock::time_point at = m_retry_at;
    if (m_held && !m_invalid) {
      if (m_held->ttl.count() == 0) {
        step = Step::idle;
      } else {
        const auto elapsed =
            std::chrono::duration_cast<Millis>(m_held->ttl * m_policy.renew_at);
        at = std::max(m_held->obtained + elapsed, m_retry_at);
        // An expired token cannot be renewed (say Vault was down for
        // longer than its TTL): go straight to a new login.
        const bool expired = Clock::now() >= m_held->expires;
        step = m_held->renewable && !m_capped && !expired ? Step::renew
                                                          : Step::login;
      }
    }
    const std::uint64_t logins = m_logins;
    const bool invalid = m_invalid;
    const auto changed = [&] {
      return m_stop || m_logins != logins || m_invalid != invalid;
    };
    if (step == Step::idle) {
      // Nothing expires; wake on invalidate(), a login or stop.
      m_wake.wait(lock, changed);
      continue;
    }
    at = std::max(at, last_action + m_policy.min_interval);
    if (m_wake.wait_until(lock, at, changed)) {
      continue; // the state moved on: plan again
    }
    last_action = Clock::now();
    lock.unlock();
    if (step == Step::login) {
      (void)login(Deadline::after(m_policy.budget));
    } else {
      renew_once();
    }
    lock.lock();
  }
}

void Auth::renew_once() {
  SecretString token;
  Seconds increment{0};
  Clock::time_point expires;
  {
    const std::lock_guard<std::mutex> guard(m_mutex);
    if (!m_held) {
      return;
    }
    token = m_held->token;
    increment = m_held->increment;
    expires = m_held->expires;
  }
  auto r = m_client.renew_self(
      token,
      increment.count() > 0 ? std::optional<Seconds>(increment) : std::nullopt,
      Deadline::after(m_policy.budget));
  const auto now = Clock::now();
  std::unique_lock<std::mutex> lock(m_mutex);
  if (!m_held || !(m_held->token == token)) {
    return; // replaced by a login meanwhile
  }
  if (r) {
    const auto left = std::chrono::duration_cast<Seconds>(expires - now);
    const Seconds granted = r->lease_duration;
    // Vault may grant less than asked: when the TTL no longer grows (max
    // TTL reached) renewing is pointless and a fresh login is due.
    m_capped = !r->renewable || granted <= left + Seconds(1);
    m_held->ttl = granted;
    m_held->renewable = r->renewable;
    m_held->obtained = now;
    m_held->expires = now + granted;
    ++m_renewals;
    m_failures = 0;
    m_retry_at = {};
    m_last_error.clear();
    const std::string accessor = m_held->accessor;
    const bool capped = m_capped;
    lock.unlock();
    log::debug("vault",
               "renewed token accessor={} ttl={}s",
               accessor,
               granted.count());
    if (capped) {
      log::info("vault",
                "token ttl no longer grows accessor={} ttl={}s; logging in "
                "again before it ends",
                accessor,
                granted.count());
    }
    return;
  }
  const Error& e = r.error();
  m_last_error = e.message;
  if (refuses_credentials(e) || e.code == errc::not_renewable ||
      e.code == errc::lease_expired || e.code == errc::not_found) {
    // Renewal will not work again for this token: get a new one.
    m_invalid = true;
    lock.unlock();
    log::warn("vault", "renewal refused, logging in again: {}", e.message);
    return;
  }
  ++m_failures;
  const Millis wait = jittered_backoff(m_failures, m_policy);
  m_retry_at = now + wait;
  lock.unlock();
  log::warn(
      "vault", "renewal failed, retrying in {}ms: {}", wait.count(), e.message);
}

LoginState Auth::state() const {
  const std::lock_guard<std::mutex> guard(m_mutex);
  LoginState s;
  s.method = m_method->name();
  s.logins = m_logins;
  s.renewals = m_renewals;
  s.last_error = m_last_error;
  if (m_held && !m_invalid) {
    s.logged_in = true;
    s.accessor = m_held->accessor;
    s.ttl = m_held->ttl;
    s.renewable = m_held->renewable;
    if (m_held->expires != Clock::time_point::max()) {
      s.remaining = std::max(
          Seconds(0),
          std::chrono::duration_cast<Seconds>(m_held->expires - Clock::now()));
      // An expired login is not valid, whatever the renewer thinks.
      s.logged_in = s.remaining.count() > 0;
    }
  }
  return s;
}

} // namespace vsp::vault
