#include "tests/support/vault_emulator.hpp"

#include <curl/curl.h>

#include <fcntl.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace vsp::test {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string env(const char* name) {
  const char* v = std::getenv(name); // NOLINT(concurrency-mt-unsafe)
  return v ? std::string(v) : std::string();
}

} // namespace

std::string VaultEmulator::script_path() {
  if (auto over = env("VSP_EMULATOR"); !over.empty()) {
    return over;
  }
  return std::string(VSP_SOURCE_DIR) + "/tests/emulator/vault_emulator.py";
}

std::unique_ptr<VaultEmulator>
VaultEmulator::start(const EmulatorOptions& options, std::string* why) {
  const std::string script = script_path();
  if (::access(script.c_str(), R_OK) != 0) {
    *why = "the vault emulator is not at " + script +
           " (set VSP_EMULATOR to its path)";
    return nullptr;
  }
  std::unique_ptr<VaultEmulator> emu(new VaultEmulator());
  std::string tmpl =
      (env("TMPDIR").empty() ? std::string("/tmp") : env("TMPDIR")) +
      "/vsp-emu-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    *why = "cannot create a temporary directory";
    return nullptr;
  }
  emu->m_dir = tmpl;
  const std::string ready = emu->m_dir + "/ready.json";
  const std::string log = emu->m_dir + "/emulator.log";

  std::vector<std::string> args = {"/usr/bin/python3",
                                   script,
                                   "--listen",
                                   options.listen,
                                   "--ready-file",
                                   ready};
  if (!options.config.is_null()) {
    const std::string config = emu->m_dir + "/config.json";
    std::ofstream(config) << options.config.dump();
    args.insert(args.end(), {"--config", config});
  }
  if (!options.unix_path.empty()) {
    args.insert(args.end(), {"--unix", options.unix_path});
  }
  if (!options.tls_cert.empty()) {
    args.insert(args.end(),
                {"--tls-cert", options.tls_cert, "--tls-key", options.tls_key});
    emu->m_ca = options.tls_cert;
  }
  if (!options.tls_client_ca.empty()) {
    args.insert(args.end(), {"--tls-client-ca", options.tls_client_ca});
  }
  if (!options.audit_log.empty()) {
    args.insert(args.end(), {"--audit-log", options.audit_log});
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(
      &actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int rc = posix_spawn(
      &emu->m_pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    emu->m_pid = -1;
    *why = "cannot start /usr/bin/python3";
    return nullptr;
  }

  const auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(emu->m_pid, &status, WNOHANG) == emu->m_pid) {
      emu->m_pid = -1;
      *why = "the emulator exited early: " + read_file(log);
      return nullptr;
    }
    const std::string text = read_file(ready);
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("address")) {
      emu->m_address = j.value("address", "");
      emu->m_unix = j.value("unix", nlohmann::json()).is_string()
                        ? j.value("unix", "")
                        : "";
      emu->m_root_token = j.value("root_token", "");
      if (emu->m_address.rfind("http", 0) != 0) {
        emu->m_address = (options.tls_cert.empty() ? "http://" : "https://") +
                         emu->m_address;
      }
      return emu;
    }
    std::this_thread::sleep_for(20ms);
  }
  *why = "the emulator did not become ready in 15 s: " + read_file(log);
  return nullptr;
}

VaultEmulator::~VaultEmulator() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + 5s;
    int status = 0;
    bool gone = false;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
        gone = true;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (!gone) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, &status, 0);
    }
  }
  if (!m_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }
}

nlohmann::json VaultEmulator::request(const std::string& method,
                                      const std::string& path,
                                      const nlohmann::json& body) const {
  CURL* h = curl_easy_init();
  std::string out;
  const std::string url = m_address + path;
  const std::string token = "X-Vault-Token: " + m_root_token;
  curl_slist* headers = curl_slist_append(nullptr, token.c_str());
  headers = curl_slist_append(headers, "Content-Type: application/json");
  const std::string text = body.is_null() ? "" : body.dump();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10'000L);
  // The control channel talks to our own loopback emulator.
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  if (!body.is_null()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, text.c_str());
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK) {
    return {
        {"status", 0}, {"body", nullptr}, {"error", curl_easy_strerror(rc)}};
  }
  auto parsed = nlohmann::json::parse(out, nullptr, false);
  return {{"status", status},
          {"body", parsed.is_discarded() ? nlohmann::json(out) : parsed}};
}

bool VaultEmulator::faults(const nlohmann::json& spec) const {
  const auto r = request("POST", "/_emulator/faults", spec);
  const long s = r["status"].get<long>();
  return s >= 200 && s < 300;
}

bool VaultEmulator::reset_faults() const {
  return faults(nlohmann::json::object());
}

bool VaultEmulator::advance_clock(long seconds) const {
  const auto r = request("POST", "/_emulator/clock", {{"advance", seconds}});
  const long s = r["status"].get<long>();
  return s >= 200 && s < 300;
}

nlohmann::json VaultEmulator::stats() const {
  const auto r = request("GET", "/_emulator/stats");
  return r["status"] == 200 ? r["body"] : nlohmann::json();
}

nlohmann::json VaultEmulator::audit() const {
  const auto r = request("GET", "/_emulator/audit");
  return r["status"] == 200 ? r["body"] : nlohmann::json();
}

namespace {

// Finds the first integer under any of `keys`, searching nested objects.
long find_count(const nlohmann::json& j,
                std::initializer_list<const char*> keys) {
  if (!j.is_object()) {
    return -1;
  }
  for (const char* k : keys) {
    if (j.contains(k) && j[k].is_number_integer()) {
      return j[k].get<long>();
    }
  }
  for (const auto& [_, v] : j.items()) {
    if (v.is_object()) {
      if (const long n = find_count(v, keys); n >= 0) {
        return n;
      }
    }
  }
  return -1;
}

} // namespace

long VaultEmulator::connection_count() const {
  return find_count(stats(), {"connections"});
}

long VaultEmulator::request_count() const {
  return find_count(stats(), {"requests"});
}

std::string VaultEmulator::log() const {
  return read_file(m_dir + "/emulator.log");
}

std::unique_ptr<VaultTarget> vault_target(std::string* why,
                                          const EmulatorOptions& options) {
  auto target = std::make_unique<VaultTarget>();
  const std::string addr = env("VSP_TEST_VAULT_ADDR");
  const std::string token = env("VSP_TEST_VAULT_TOKEN");
  if (!addr.empty() && !token.empty()) {
    target->address = addr;
    target->token = token;
    return target;
  }
  target->emulator = VaultEmulator::start(options, why);
  if (!target->emulator) {
    return nullptr;
  }
  target->address = target->emulator->address();
  target->token = target->emulator->root_token();
  return target;
}

int run_shell(const std::string& command) {
  const int rc = std::system(command.c_str()); // NOLINT(cert-env33-c)
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

} // namespace vsp::test
