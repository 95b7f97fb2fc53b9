#pragma once

#include "core/util/deadline.hpp"
#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"
#include "core/vault/client.hpp"
#include "core/vault/config.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace vsp::vault {

// How to read the secret_id file: a plain secret_id, or a wrapping token
// around one. `detect` takes a UUID for a plain secret_id and anything
// else for a wrapping token.
enum class SecretIdWrapping { detect, plain, wrapped };

// Where the plugin's own login comes from: files only, never variables
// that `docker plugin inspect` would show.
struct LoginConfig {
  std::string token_file;                // VSP_TOKEN_FILE
  std::string role_id_file;              // VSP_ROLE_ID_FILE
  std::string secret_id_file;            // VSP_SECRET_ID_FILE
  std::string approle_mount = "approle"; // VSP_APPROLE_MOUNT
  // The creation_path a wrapped secret_id must show
  // (VSP_SECRET_ID_WRAP_PATH); empty: auth/<mount>/role/<any>/secret-id.
  std::string secret_id_wrap_path;
  // VSP_SECRET_ID_WRAPPED=true|false; unset: detect.
  SecretIdWrapping secret_id_wrapping = SecretIdWrapping::detect;

  // Reads the variables above. Exactly one of VSP_TOKEN_FILE or the
  // VSP_ROLE_ID_FILE + VSP_SECRET_ID_FILE pair must be set.
  static Result<LoginConfig> from_env(const Getenv& getenv);

  // A warning for each credential file (the token, the secret_id) that
  // any user of the host may read; missing files are left to the login.
  std::vector<std::string> file_warnings() const;
};

// Holds the current Vault token for callers on any thread.
class TokenSource {
public:
  virtual ~TokenSource() = default;

  // The current token. Logs in first when there is none, it was
  // invalidated or it has expired; fails when that login fails before
  // `deadline` (concurrent callers share one login).
  virtual Result<SecretString> current(Deadline deadline) = 0;

  // Reports that Vault refused `token` as invalid (errc::invalid_token),
  // so the next current() logs in again. Ignored when `token` is no
  // longer the current one.
  virtual void invalidate(const SecretString& token) = 0;
};

// What a caller may see of the login; never the token.
struct LoginState {
  bool logged_in = false;
  std::string method; // "token-file", "approle", "cli"
  std::string accessor;
  Seconds ttl{0};       // as of the last login or renewal; 0: does not expire
  Seconds remaining{0}; // until it expires, now; 0 when ttl is 0
  bool renewable = false;
  std::uint64_t logins = 0;   // successful logins so far
  std::uint64_t renewals = 0; // successful renewals so far
  std::string last_error;
};

// The renewer's pacing; tests shrink it.
struct RenewPolicy {
  // Renew once this fraction of the TTL has passed.
  double renew_at = 2.0 / 3.0;
  // After failures: min * 2^(n-1), jittered down by up to half, capped.
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{60'000};
  // No two renewer actions closer than this: it never spins.
  std::chrono::milliseconds min_interval{1000};
  // Budget of one renewal or login.
  std::chrono::milliseconds budget{10'000};
};

class LoginMethod;

// A TokenSource that logs in with a token file, AppRole or the CLI's
// token, and (optionally) keeps the login alive in a background thread:
// it renews at renew_at of the TTL, logs in again (AppRole) or re-reads
// the file (token file) when renewal is refused or the TTL stops
// growing, and backs off while Vault is unreachable. `client` must
// outlive it.
class Auth final : public TokenSource {
public:
  // The token in `path`, re-read whenever Vault calls it invalid, so an
  // operator rotates it by rewriting the file.
  static std::unique_ptr<Auth>
  from_token_file(Client& client, std::string path, RenewPolicy policy = {});
  // AppRole from the files in `config`. A wrapped secret_id is looked up
  // first and unwrapped only when its creation_path is the expected one.
  static std::unique_ptr<Auth>
  from_approle(Client& client, LoginConfig config, RenewPolicy policy = {});
  // The plugin's login per `config`: token file or AppRole.
  static std::unique_ptr<Auth> from_config(Client& client,
                                           const LoginConfig& config,
                                           RenewPolicy policy = {});
  // The vault CLI's order: VAULT_TOKEN, then $HOME/.vault-token. Fails
  // with errc::invalid_argument when neither holds a token.
  static Result<std::unique_ptr<Auth>> for_cli(Client& client,
                                               const Getenv& getenv);

  Auth(Client& client, std::unique_ptr<LoginMethod> method, RenewPolicy policy);
  ~Auth() override;
  Auth(const Auth&) = delete;
  Auth& operator=(const Auth&) = delete;

  Result<SecretString> current(Deadline deadline) override;
  void invalidate(const SecretString& token) override;

  // Starts / stops the background renewer. Both are idempotent; the
  // destructor stops it.
  void start_renewer();
  void stop_renewer();

  LoginState state() const;

private:
  using Clock = std::chrono::steady_clock;
  struct Held;

  Result<SecretString> login(Deadline deadline);
  void renew_loop();
  void renew_once();

  Client& m_client;
  std::unique_ptr<LoginMethod> m_method;
  RenewPolicy m_policy;

  mutable std::mutex m_mutex; // guards everything below but the thread
  std::condition_variable m_wake;
  std::unique_ptr<Held> m_held; // null until the first login
  bool m_invalid = false;
  bool m_capped = false; // the TTL stopped growing: log in again
  bool m_stop = false;
  int m_failures = 0;
  Clock::time_point m_retry_at{};
  std::uint64_t m_logins = 0;
  std::uint64_t m_renewals = 0;
  std::string m_last_error;

  bool m_logging_in = false; // one login at a time; others wait on m_wake
  std::thread m_renewer;
};

// Reads a small credential file, trimming surrounding whitespace. Fails
// with errc::invalid_argument when it is missing, unreadable or empty.
Result<SecretString> read_credential_file(const std::string& path);

} // namespace vsp::vault
