#include "core/vault/transport.hpp"

#include "core/util/log.hpp"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string_view>

namespace vsp::vault::detail {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Callback state of one transfer.
struct Transfer {
  HttpResult* result = nullptr;
  std::size_t max_body = 0;
  Minting minting = Minting::no;
  int prereq_calls = 0;
  bool too_large = false;
  bool replay_blocked = false;
  const std::atomic<bool>* cancelled = nullptr; // the transport's flag
  bool cut_off = false;        // aborted because the transport was cancelled
  bool cert_requested = false; // the server asked for a client certificate
  bool alert_received = false; // the server sent a TLS alert
};

// The transfer running on this thread. OpenSSL's message callback belongs
// to an SSL_CTX that outlives the transfer (the connection is reused), so
// it finds its transfer here rather than through a stored pointer.
thread_local Transfer* t_current = nullptr;

// Sees TLS records as OpenSSL handles them. With TLS 1.3 a server that
// wants a client certificate refuses after the client has finished its
// handshake, and its alert can lose the race against the connection reset;
// remembering the CertificateRequest keeps such a failure a TLS one.
void on_tls_message(int write_p,
                    int,
                    int content_type,
                    const void* buf,
                    std::size_t len,
                    SSL*,
                    void*) {
  Transfer* t = t_current;
  if (!t || write_p || len == 0) {
    return;
  }
  const auto first = static_cast<const unsigned char*>(buf)[0];
  if (content_type == SSL3_RT_HANDSHAKE &&
      first == SSL3_MT_CERTIFICATE_REQUEST) {
    t->cert_requested = true;
  } else if (content_type == SSL3_RT_ALERT && len >= 2 &&
             first == SSL3_AL_FATAL) {
    t->alert_received = true;
  }
}

CURLcode on_ssl_ctx(CURL*, void* ctx, void*) {
  auto* ssl_ctx = static_cast<SSL_CTX*>(ctx);
  SSL_CTX_set_msg_callback(ssl_ctx, &on_tls_message);
  // Replies carry tokens: OpenSSL wipes each decrypted record once read.
  SSL_CTX_set_options(ssl_ctx, SSL_OP_CLEANSE_PLAINTEXT);
  return CURLE_OK;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  const std::string_view line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after an interim 1xx): forget the previous headers.
    t->result->retry_after.clear();
    return len;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return len;
  }
  const std::string name = lower(trim(line.substr(0, colon)));
  const std::string_view value = trim(line.substr(colon + 1));
  if (name == "retry-after") {
    t->result->retry_after = std::string(value);
  } else if (name == "content-length") {
    std::size_t declared = 0;
    const auto [end, ec] =
        std::from_chars(value.data(), value.data() + value.size(), declared);
    if (ec == std::errc::result_out_of_range ||
        (ec == std::errc() && declared > t->max_body)) {
      // Refuse before reading a byte of it.
      t->too_large = true;
      return 0;
    }
    if (ec == std::errc()) {
      // One allocation, so no stale copies of a secret are left behind
      // by growing the buffer.
      t->result->body.reserve(declared);
    }
  }
  return len;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  if (t->result->body.size() + len > t->max_body) {
    t->too_large = true;
    return 0;
  }
  append_wiping(t->result->body, std::string_view(data, len));
  // `data` is libcurl's receive buffer, which the pooled handle keeps
  // until its next transfer: a token in it would outlive the call.
  wipe_bytes(data, len);
  return len;
}

int on_prereq(void* user, char*, char*, int, int) {
  auto* t = static_cast<Transfer*>(user);
  ++t->prereq_calls;
  t->result->sent = true;
  // A second call means libcurl is resending the request on a new
  // connection because a reused one died without an answer. The first
  // copy may have been acted on, so a minting request must not go again.
  if (t->prereq_calls > 1 && t->minting == Minting::yes) {
    t->replay_blocked = true;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

// libcurl calls this at least once a second during a transfer, even one
// that waits for a silent server: the place to notice a cancel.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancelled != nullptr && t->cancelled->load()) {
    t->cut_off = true;
    return 1;
  }
  return 0;
}

bool is_tls_code(CURLcode rc) {
  switch (rc) {
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
    return true;
  default:
    return false;
  }
}

Failure classify(CURLcode rc, const Transfer& t, std::string_view detail) {
  if (is_tls_code(rc)) {
    return Failure::tls;
  }
  switch (rc) {
  case CURLE_OK:
    return Failure::none;
  case CURLE_WRITE_ERROR:
    return t.too_large ? Failure::too_large : Failure::local;
  case CURLE_ABORTED_BY_CALLBACK:
    if (t.cut_off) {
      return Failure::cancelled;
    }
    return t.replay_blocked ? Failure::replay_blocked : Failure::local;
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
    return Failure::connect;
  case CURLE_OPERATION_TIMEDOUT:
    return Failure::timeout;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
    if (t.alert_received || lower(detail).find("alert") != std::string::npos) {
      return Failure::tls;
    }
    return Failure::connection_lost;
  case CURLE_PARTIAL_FILE:
    return Failure::truncated;
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return Failure::connection_lost;
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_UNSUPPORTED_PROTOCOL:
    return Failure::bad_reply;
  default:
    return Failure::local;
  }
}

const char* custom_method(Method m) {
  switch (m) {
  case Method::put:
    return "PUT";
  case Method::del:
    return "DELETE";
  default:
    return nullptr;
  }
}

// Frees a header list after overwriting its lines, one of which holds the
// token.
struct HeaderList {
  curl_slist* list = nullptr;
  HeaderList() = default;
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  ~HeaderList() {
    for (curl_slist* p = list; p; p = p->next) {
      OPENSSL_cleanse(p->data, std::strlen(p->data));
    }
    curl_slist_free_all(list);
  }
  bool add(const char* line) {
    curl_slist* next = curl_slist_append(list, line);
    if (!next) {
      return false;
    }
    list = next;
    return true;
  }
};

} // namespace

HttpResult& HttpResult::operator=(HttpResult&& other) noexcept {
  if (this != &other) {
    wipe(body);
    failure = other.failure;
    sent = other.sent;
    new_connection = other.new_connection;
    detail = std::move(other.detail);
    status = other.status;
    body = std::move(other.body);
    redirect_url = std::move(other.redirect_url);
    retry_after = std::move(other.retry_after);
    elapsed = other.elapsed;
  }
  return *this;
}

HttpResult::~HttpResult() {
  wipe(body);
}

struct Transport::Impl {
  TlsOptions tls;
  std::string proxy;
  std::size_t max_body = 0;
  // Idle handles kept for reuse. Each holds a live connection, so this
  // also bounds the connections a client keeps open while idle.
  std::size_t max_idle = 0;

  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;

  std::mutex pool_mutex;
  std::vector<CURL*> idle;

  std::atomic<bool> cancelled{false};
  std::mutex cancel_mutex; // with cancel_wake, for wait_unless_cancelled
  std::condition_variable cancel_wake;

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->share_locks[data].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Impl*>(user)->share_locks[data].unlock();
  }

  CURL* acquire() {
    {
      const std::lock_guard<std::mutex> guard(pool_mutex);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void release(CURL* h) {
    {
      const std::lock_guard<std::mutex> guard(pool_mutex);
      if (idle.size() < max_idle) {
        idle.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }

  void set_tls(CURL* h) const;
  bool set_headers(const HttpRequest& r, HeaderList& headers) const;
  void set_method(CURL* h, const HttpRequest& r) const;
};

void Transport::Impl::set_tls(CURL* h) const {
  curl_easy_setopt(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, &on_ssl_ctx);
  if (!tls.ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(tls.ca_pem.data()),
                   tls.ca_pem.size(),
                   CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  } else if (!tls.ca_cert.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_cert.c_str());
  } else if (!tls.ca_path.empty()) {
    curl_easy_setopt(h, CURLOPT_CAPATH, tls.ca_path.c_str());
  }
  if (!tls.client_cert.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, tls.client_cert.c_str());
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY, tls.client_key.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (tls.skip_verify == SkipVerify::yes) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

bool Transport::Impl::set_headers(const HttpRequest& r,
                                  HeaderList& headers) const {
  // "Expect:" stops libcurl from waiting for a 100-continue on bodies.
  bool ok = headers.add("Expect:");
  for (const auto& line : r.headers) {
    ok = ok && headers.add(line.c_str());
  }
  if (r.body) {
    ok = ok && headers.add("Content-Type: application/json");
  }
  if (r.token && !r.token->empty()) {
    std::string line = "X-Vault-Token: ";
    line += r.token->reveal();
    ok = ok && headers.add(line.c_str());
    wipe(line);
  }
  return ok;
}

void Transport::Impl::set_method(CURL* h, const HttpRequest& r) const {
  if (r.method == Method::head) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (r.method == Method::post || r.body) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
  if (const char* verb = custom_method(r.method)) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, verb);
  }
  if (r.body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body->c_str());
    curl_easy_setopt(h,
                     CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(r.body->size()));
  } else if (r.method == Method::post || r.method == Method::put) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
  }
}

Transport::Transport(TlsOptions tls,
                     std::string proxy,
                     std::size_t max_body,
                     std::size_t max_idle)
    : m_impl(std::make_unique<Impl>()) {
  global_init();
  m_impl->tls = std::move(tls);
  m_impl->proxy = std::move(proxy);
  m_impl->max_body = max_body;
  m_impl->max_idle = max_idle;
  m_impl->idle.reserve(max_idle);
  m_impl->share = curl_share_init();
  if (m_impl->share) {
    curl_share_setopt(m_impl->share, CURLSHOPT_LOCKFUNC, &Impl::lock);
    curl_share_setopt(m_impl->share, CURLSHOPT_UNLOCKFUNC, &Impl::unlock);
    curl_share_setopt(m_impl->share, CURLSHOPT_USERDATA, m_impl.get());
    curl_share_setopt(m_impl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(
        m_impl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
}

Transport::~Transport() {
  for (CURL* h : m_impl->idle) {
    curl_easy_cleanup(h);
  }
  if (m_impl->share) {
    curl_share_cleanup(m_impl->share);
  }
}

void Transport::cancel() {
  {
    const std::lock_guard<std::mutex> guard(m_impl->cancel_mutex);
    m_impl->cancelled = true;
  }
  m_impl->cancel_wake.notify_all();
}

bool Transport::wait_unless_cancelled(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(m_impl->cancel_mutex);
  return !m_impl->cancel_wake.wait_for(
      lock, wait, [this] { return m_impl->cancelled.load(); });
}

HttpResult Transport::perform(const HttpRequest& r) {
  HttpResult result;
  if (m_impl->cancelled) {
    result.failure = Failure::cancelled;
    result.detail = "cancelled: the process is stopping";
    return result;
  }
  CURL* h = m_impl->acquire();
  if (!h) {
    result.failure = Failure::local;
    result.detail = "cannot create a libcurl handle";
    return result;
  }
  // Reset keeps the handle's live connection, drops every option.
  curl_easy_reset(h);

  Transfer transfer;
  transfer.result = &result;
  transfer.max_body = m_impl->max_body;
  transfer.minting = r.minting;
  transfer.cancelled = &m_impl->cancelled;
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  HeaderList headers;
  curl_slist* connect_to = nullptr;

  curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf.data());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
  curl_easy_setopt(h,
                   CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(r.connect_timeout.count()));
  if (m_impl->share) {
    curl_easy_setopt(h, CURLOPT_SHARE, m_impl->share);
  }
  if (!r.unix_socket.empty()) {
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, r.unix_socket.c_str());
    curl_easy_setopt(h, CURLOPT_PROXY, "");
  } else if (!m_impl->proxy.empty()) {
    curl_easy_setopt(h, CURLOPT_PROXY, m_impl->proxy.c_str());
  }
  if (!r.connect_to.empty()) {
    connect_to = curl_slist_append(nullptr, r.connect_to.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
  }
  m_impl->set_tls(h);
  if (!m_impl->set_headers(r, headers)) {
    curl_slist_free_all(connect_to);
    m_impl->release(h);
    result.failure = Failure::local;
    result.detail = "out of memory building headers";
    return result;
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);
  m_impl->set_method(h, r);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, &on_prereq);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_PREREQDATA, &transfer);

  t_current = &transfer;
  const CURLcode rc = curl_easy_perform(h);
  t_current = nullptr;

  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  result.new_connection = connects > 0;
  curl_off_t total_us = 0;
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
  result.elapsed = std::chrono::milliseconds(total_us / 1000);
  if (rc == CURLE_OK) {
    char* location = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
        location) {
      result.redirect_url = location;
    }
  } else {
    result.detail = errbuf[0] ? errbuf.data() : curl_easy_strerror(rc);
    while (!result.detail.empty() && result.detail.back() == '\n') {
      result.detail.pop_back();
    }
    result.failure = classify(rc, transfer, result.detail);
    // Asked for a certificate, sent none, dropped before any answer: the
    // server requires one, whether its alert or its reset arrived first.
    const bool no_cert_sent =
        transfer.cert_requested && m_impl->tls.client_cert.empty();
    if (no_cert_sent && result.status == 0 &&
        (result.failure == Failure::connection_lost ||
         result.failure == Failure::tls)) {
      result.failure = Failure::tls;
      result.detail = "the server requires a client certificate and none is "
                      "configured (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY)";
    }
    if (result.failure == Failure::local) {
      result.detail += " (libcurl error " + std::to_string(rc) + ")";
    }
    wipe(result.body); // a partial body is of no use, and may be a secret
  }
  // The option values point into `r`, `headers` and `errbuf`; clear them
  // so the pooled handle keeps no dangling pointer.
  curl_easy_reset(h);
  curl_slist_free_all(connect_to);
  m_impl->release(h);
  return result;
}

} // namespace vsp::vault::detail
