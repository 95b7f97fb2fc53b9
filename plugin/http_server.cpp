#include "plugin/http_server.hpp"

#include "core/util/deadline.hpp"
#include "core/util/log.hpp"
#include "core/util/secret_string.hpp"

#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <new>
#include <string_view>
#include <system_error>
#include <thread>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vsp::plugin {
namespace {

constexpr std::string_view k_component = "http";
// libmicrohttpd's per-connection pool (request line, headers, I/O buffers).
constexpr std::size_t k_connection_memory = std::size_t{32} * 1024;
// How long the 503s given at the end of a drain get to be sent.
constexpr std::chrono::milliseconds k_abandon_grace{1000};
constexpr std::string_view k_internal_error = "internal error";
constexpr std::string_view k_stopping = "plugin is stopping, try again";

// Where one request stands. `receiving` belongs to the daemon thread; the
// rest are changed under the server's mutex.
enum class Phase {
  receiving, // headers in, body arriving
  queued,    // connection suspended, waiting for a worker
  running,   // a worker runs the handler
  ready,     // response set, connection resumed (or being resumed)
  refused,   // to be answered 503 (stopping), connection resumed
  answered,  // response handed to libmicrohttpd
};

enum class Reuse { keep_alive, close };

// One request and its response, shared by the daemon thread (through the
// request's context pointer) and the worker running it, because stop() may
// answer a request whose handler is still running. `request` is written by
// the daemon thread before the exchange is queued and read by its worker
// after; `phase` and `response` are guarded by the server's mutex.
struct Exchange {
  explicit Exchange(MHD_Connection* c) : connection(c) {}

  MHD_Connection* const connection;
  HttpRequest request;
  bool dispatched = false; // daemon thread only
  // Why the request is answered 400 without reaching the handler; empty
  // for a well-formed one. Daemon thread only.
  std::string malformed;
  Phase phase = Phase::receiving;
  HttpResponse response;
};

// Per connection, in libmicrohttpd's socket context.
struct ConnectionState {
  // Accepted, no request begun yet: its first request is likely on its way,
  // so a drain waits for it.
  bool fresh = true;
};

HttpResponse error_response(int status, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.body = fmt::format(R"({{"Err":"{}"}})", message);
  return response;
}

// libmicrohttpd frames the body by the first Content-Length it sees; a
// second one (RFC 9112 6.3) leaves the framing ambiguous, the stuff of
// request smuggling, so such a request is refused rather than read.
std::size_t content_length_headers(MHD_Connection* connection) {
  std::size_t count = 0;
  MHD_get_connection_values(
      connection,
      MHD_HEADER_KIND,
      [](void* cls, MHD_ValueKind, const char* key, const char*) {
        if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
          ++*static_cast<std::size_t*>(cls);
        }
        return MHD_YES;
      },
      &count);
  return count;
}

bool is_valid_status(int status) {
  return status >= 100 && status <= 599;
}

// For paths an exception must not leave (callbacks, catch blocks): a line
// that cannot be formatted is dropped.
template <typename... Args>
void log_noexcept(log::Level level,
                  fmt::format_string<Args...> format,
                  Args&&... args) noexcept {
  try {
    log::emit(level, k_component, format, std::forward<Args>(args)...);
  } catch (...) {
  }
}

const char* termination_name(MHD_RequestTerminationCode code) {
  switch (code) {
  case MHD_REQUEST_TERMINATED_COMPLETED_OK:
    return "completed";
  case MHD_REQUEST_TERMINATED_WITH_ERROR:
    return "error";
  case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
    return "timeout";
  case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
    return "shutdown";
  case MHD_REQUEST_TERMINATED_READ_ERROR:
    return "read_error";
  case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
    return "client_abort";
  }
  return "unknown";
}

// Whether two fds refer to the same open socket.
bool same_socket(int a, int b) {
  struct stat sa {};
  struct stat sb {};
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

} // namespace

class HttpServer::Impl {
public:
  Impl(UnixListener listener, Handler handler, ServerOptions options)
      : m_listener(std::move(listener)), m_handler(std::move(handler)),
        m_options(options) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { stop(); }

  void start_workers();
  Status start_daemon();
  void stop() noexcept;
  ServerStats stats() const;

  // libmicrohttpd callbacks; none lets an exception out.
  MHD_Result on_request(MHD_Connection* connection,
                        const char* method,
                        const char* url,
                        const char* data,
                        std::size_t* size,
                        void** context) noexcept;
  void on_completed(void** context, MHD_RequestTerminationCode code) noexcept;
  void on_connection(void** socket_context,
                     MHD_ConnectionNotificationCode code) noexcept;
  MHD_Result on_accept() noexcept;

private:
  // Daemon thread.
  Exchange*
  begin(MHD_Connection* connection, const char* method, const char* url);
  void append_body(Exchange& ex, const char* data, std::size_t size);
  MHD_Result dispatch(Exchange& ex);
  bool enqueue(Exchange& ex) noexcept;
  MHD_Result answer(Exchange& ex);
  static MHD_Result
  send(MHD_Connection* connection, const HttpResponse& r, Reuse reuse);

  // Workers.
  void add_worker();
  void work() noexcept;
  std::shared_ptr<Exchange> next_job();
  HttpResponse run_handler(const HttpRequest& request);
  void finish(Exchange& ex, HttpResponse response);

  // stop() steps.
  void stop_accepting();
  void adopt_backlog(int listen_fd);
  bool wait_until_idle(Deadline deadline);
  // From now on requests are answered 503 at once; those queued or
  // running get it now. Returns how many.
  std::size_t refuse_unanswered();
  void wait_for_resumes();
  void stop_workers();

  UnixListener m_listener;
  const Handler m_handler;
  const ServerOptions m_options;

  MHD_Daemon* m_daemon = nullptr;
  // libmicrohttpd gets a duplicate of the listener's fd, so whatever it does
  // with it (it closes it on stop unless quiesced) never closes ours.
  int m_daemon_fd = -1;
  int m_quiesced_fd = -1;
  std::vector<std::thread> m_workers;

  mutable std::mutex m_mutex;
  std::condition_variable m_work_ready; // queue or exit flag changed
  std::condition_variable m_progress;   // exchange ended or resume done
  std::deque<std::shared_ptr<Exchange>> m_queue;
  std::unordered_map<Exchange*, std::shared_ptr<Exchange>> m_exchanges;
  std::size_t m_fresh_connections = 0; // see ConnectionState::fresh
  std::size_t m_adopted_unstarted = 0; // see adopt_backlog()
  std::size_t m_resumes_pending = 0;   // MHD_resume_connection calls under way
  std::size_t m_idle_workers = 0;      // waiting in next_job()
  bool m_draining = false;             // responses close their connection
  bool m_refusing = false;             // requests are answered 503 at once
  bool m_workers_exit = false;

  std::atomic<std::uint64_t> m_served{0};
  std::atomic<std::size_t> m_connections{0};
  std::atomic<std::size_t> m_worker_count{0};

  std::mutex m_stop_mutex;
  bool m_stopped = false;
};

namespace {

using Impl = HttpServer::Impl;

MHD_Result access_callback(void* cls,
                           MHD_Connection* connection,
                           const char* url,
                           const char* method,
                           const char* /*version*/,
                           const char* data,
                           std::size_t* size,
                           void** context) noexcept {
  return static_cast<Impl*>(cls)->on_request(
      connection, method, url, data, size, context);
}

void completed_callback(void* cls,
                        MHD_Connection* /*connection*/,
                        void** context,
                        MHD_RequestTerminationCode code) noexcept {
  static_cast<Impl*>(cls)->on_completed(context, code);
}

void connection_callback(void* cls,
                         MHD_Connection* /*connection*/,
                         void** socket_context,
                         MHD_ConnectionNotificationCode code) noexcept {
  static_cast<Impl*>(cls)->on_connection(socket_context, code);
}

MHD_Result accept_callback(void* cls,
                           const sockaddr* /*addr*/,
                           socklen_t /*addrlen*/) noexcept {
  return static_cast<Impl*>(cls)->on_accept();
}

// libmicrohttpd's own diagnostics (malformed requests, failed sends, ...)
// are connection-level noise: debug only.
[[gnu::format(printf, 2, 0)]] void
log_callback(void* /*cls*/, const char* format, va_list args) noexcept {
  if (!log::enabled(log::Level::debug)) {
    return;
  }
  char text[512];
  const int n = std::vsnprintf(text, sizeof text, format, args);
  if (n < 0) {
    return;
  }
  std::string_view line(text, std::min(sizeof text - 1, std::size_t(n)));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  log_noexcept(log::Level::debug, "libmicrohttpd: {}", line);
}

} // namespace

// ---- start and stop --------------------------------------------------------

void Impl::start_workers() {
  std::lock_guard lock(m_mutex);
  m_workers.reserve(m_options.workers);
  const unsigned first =
      std::clamp(m_options.min_workers, 1u, m_options.workers);
  for (unsigned i = 0; i < first; ++i) {
    add_worker();
  }
}

// Under m_mutex. Throws std::system_error when no thread can be made.
void Impl::add_worker() {
  m_workers.emplace_back([this] { work(); });
  ::pthread_setname_np(m_workers.back().native_handle(), "vsp-http");
  m_worker_count = m_workers.size();
}

Status Impl::start_daemon() {
  m_daemon_fd = ::fcntl(m_listener.fd(), F_DUPFD_CLOEXEC, 0);
  if (m_daemon_fd < 0) {
    return Error(ErrorKind::internal,
                 std::string("cannot duplicate the listening socket: ") +
                     std::strerror(errno));
  }
  // Our accept callback enforces max_connections with a log line; the
  // daemon's own limit, one higher, is only a backstop.
  const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  m_daemon =
      MHD_start_daemon(flags,
                       0,
                       &accept_callback,
                       this,
                       &access_callback,
                       this,
                       MHD_OPTION_EXTERNAL_LOGGER,
                       &log_callback,
                       this,
                       MHD_OPTION_LISTEN_SOCKET,
                       m_daemon_fd,
                       MHD_OPTION_CONNECTION_LIMIT,
                       m_options.max_connections + 1,
                       MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                       k_connection_memory,
                       MHD_OPTION_CONNECTION_TIMEOUT,
                       static_cast<unsigned>(m_options.idle_timeout.count()),
                       MHD_OPTION_NOTIFY_COMPLETED,
                       &completed_callback,
                       this,
                       MHD_OPTION_NOTIFY_CONNECTION,
                       &connection_callback,
                       this,
                       MHD_OPTION_END);
  if (m_daemon == nullptr) {
    // Whether a failed start closed the fd is not documented: close it only
    // if it is still our socket (the number may have been reused).
    if (same_socket(m_daemon_fd, m_listener.fd())) {
      ::close(m_daemon_fd);
    }
    m_daemon_fd = -1;
    return Error(ErrorKind::internal,
                 "libmicrohttpd could not start on " + m_listener.path());
  }
  log::info(k_component,
            "serving path={} workers={} max_connections={}",
            m_listener.path(),
            m_options.workers,
            m_options.max_connections);
  return ok_status();
}

void Impl::stop() noexcept {
  try {
    std::lock_guard guard(m_stop_mutex);
    if (m_stopped) {
      return;
    }
    m_stopped = true;

    if (m_daemon == nullptr) {
      m_listener.close();
      stop_workers();
      return;
    }
    stop_accepting();
    const bool drained =
        wait_until_idle(Deadline::after(m_options.drain_timeout));
    // Even when drained, a request may have come in on an open connection
    // since: the daemon must not stop with a connection suspended (it
    // aborts the process) or while a worker is in MHD_resume_connection().
    if (const std::size_t refused = refuse_unanswered(); refused > 0) {
      log::warn(k_component,
                "answering 503 to requests={} drain_timeout_passed={}",
                refused,
                !drained);
      wait_until_idle(Deadline::after(k_abandon_grace));
    }
    wait_for_resumes();
    MHD_stop_daemon(m_daemon);
    m_daemon = nullptr;
    if (m_quiesced_fd >= 0) {
      ::close(m_quiesced_fd);
    }
    const std::string path = m_listener.path();
    m_listener.close();
    stop_workers();
    log::info(k_component, "stopped path={} served={}", path, m_served.load());
  } catch (const std::exception& e) {
    log_noexcept(log::Level::error, "stop failed: {}", e.what());
  }
}

void Impl::stop_accepting() {
  {
    std::lock_guard lock(m_mutex);
    m_draining = true;
  }
  const MHD_socket fd = MHD_quiesce_daemon(m_daemon);
  if (fd == MHD_INVALID_SOCKET) {
    log::warn(k_component, "cannot quiesce; connections accepted until stop");
    return;
  }
  m_quiesced_fd = fd;
  // From here connect() fails with ECONNREFUSED, while connections already
  // in the backlog can still be accepted and served.
  ::shutdown(fd, SHUT_RDWR);
  adopt_backlog(fd);
}

// Hands the connections waiting in the listen backlog to the daemon, so
// they are served rather than reset. libmicrohttpd 0.9.75 starts a
// connection given to MHD_add_connection() later, on its own thread: until
// then the drain counts it as busy.
void Impl::adopt_backlog(int listen_fd) {
  for (;;) {
    sockaddr_storage addr{};
    socklen_t length = sizeof addr;
    const int fd = ::accept4(listen_fd,
                             reinterpret_cast<sockaddr*>(&addr),
                             &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return; // EAGAIN: the backlog is empty
    }
    {
      std::lock_guard lock(m_mutex);
      ++m_adopted_unstarted;
    }
    // libmicrohttpd owns (and on failure closes) the fd from here.
    if (MHD_add_connection(
            m_daemon, fd, reinterpret_cast<const sockaddr*>(&addr), length) ==
        MHD_YES) {
      log::debug(k_component, "took over a queued connection while stopping");
      continue;
    }
    {
      std::lock_guard lock(m_mutex);
      --m_adopted_unstarted;
    }
    log::warn(k_component, "dropped a queued connection while stopping");
  }
}

bool Impl::wait_until_idle(Deadline deadline) {
  std::unique_lock lock(m_mutex);
  return m_progress.wait_until(lock, deadline.at(), [this] {
    return m_exchanges.empty() && m_fresh_connections == 0 &&
           m_adopted_unstarted == 0;
  });
}

std::size_t Impl::refuse_unanswered() {
  std::vector<MHD_Connection*> suspended;
  {
    std::lock_guard lock(m_mutex);
    suspended.reserve(m_exchanges.size()); // the last step that may throw
    m_refusing = true;
    m_queue.clear();
    for (auto& [raw, ex] : m_exchanges) {
      if (ex->phase == Phase::queued || ex->phase == Phase::running) {
        ex->phase = Phase::refused;
        suspended.push_back(ex->connection);
      }
    }
  }
  // Only we can resume these now: their workers see they lost the answer.
  for (MHD_Connection* connection : suspended) {
    MHD_resume_connection(connection);
  }
  return suspended.size();
}

void Impl::wait_for_resumes() {
  std::unique_lock lock(m_mutex);
  m_progress.wait(lock, [this] { return m_resumes_pending == 0; });
}

void Impl::stop_workers() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(m_mutex);
    m_workers_exit = true;
    workers.swap(m_workers);
  }
  m_work_ready.notify_all();
  for (std::thread& worker : workers) {
    if (worker.joinable()) {
      worker.join();
    }
  }
}

ServerStats Impl::stats() const {
  ServerStats stats;
  stats.requests_served = m_served.load();
  stats.connections_open = m_connections.load();
  stats.workers = m_worker_count.load();
  std::lock_guard lock(m_mutex);
  stats.in_flight = m_exchanges.size();
  return stats;
}

// ---- daemon thread ---------------------------------------------------------

// libmicrohttpd calls this once when the headers are in, once per piece of
// body, once when the request is complete, and again after a resume.
MHD_Result Impl::on_request(MHD_Connection* connection,
                            const char* method,
                            const char* url,
                            const char* data,
                            std::size_t* size,
                            void** context) noexcept {
  try {
    if (*context == nullptr) {
      Exchange* ex = begin(connection, method, url);
      *context = ex;
      if (content_length_headers(connection) > 1) {
        ex->malformed = "vsp: the request has more than one Content-Length";
      }
      return MHD_YES;
    }
    Exchange& ex = *static_cast<Exchange*>(*context);
    if (*size != 0) {
      append_body(ex, data, *size);
      *size = 0;
      return MHD_YES;
    }
    return ex.dispatched ? answer(ex) : dispatch(ex);
  } catch (const std::exception& e) {
    log_noexcept(log::Level::warn,
                 "closing connection: request failed exception={}",
                 typeid(e).name());
  } catch (...) {
    log_noexcept(log::Level::warn, "closing connection: request failed");
  }
  return MHD_NO;
}

Exchange*
Impl::begin(MHD_Connection* connection, const char* method, const char* url) {
  auto ex = std::make_shared<Exchange>(connection);
  ex->request.method = method;
  ex->request.path = url;
  Exchange* raw = ex.get();
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  auto* state = info != nullptr
                    ? static_cast<ConnectionState*>(info->socket_context)
                    : nullptr;
  std::lock_guard lock(m_mutex);
  m_exchanges.emplace(raw, std::move(ex));
  if (state != nullptr && state->fresh) {
    state->fresh = false;
    --m_fresh_connections;
  }
  return raw;
}

void Impl::append_body(Exchange& ex, const char* data, std::size_t size) {
  HttpRequest& request = ex.request;
  if (request.body_too_large) {
    return; // read and dropped
  }
  if (size > m_options.max_body_bytes - request.body.size()) {
    request.body_too_large = true;
    std::string().swap(request.body);
    return;
  }
  request.body.append(data, size);
}

MHD_Result Impl::dispatch(Exchange& ex) {
  ex.dispatched = true;
  if (!ex.malformed.empty()) {
    log::warn(k_component,
              "refused path={}: {}",
              log::value(ex.request.path),
              ex.malformed);
    {
      std::lock_guard lock(m_mutex);
      ex.phase = Phase::answered;
    }
    ex.response = error_response(400, ex.malformed);
    return send(ex.connection, ex.response, Reuse::close);
  }
  // No worker may see the exchange before its connection is suspended:
  // resuming a connection that is not suspended is undefined behaviour.
  MHD_suspend_connection(ex.connection);
  if (!enqueue(ex)) {
    MHD_resume_connection(ex.connection); // to be answered 503 at once
  }
  return MHD_YES;
}

bool Impl::enqueue(Exchange& ex) noexcept {
  std::lock_guard lock(m_mutex);
  if (!m_refusing) {
    try {
      m_queue.push_back(m_exchanges.at(&ex));
      ex.phase = Phase::queued;
      if (m_queue.size() > m_idle_workers &&
          m_workers.size() < m_options.workers && !m_workers_exit) {
        try {
          add_worker();
        } catch (const std::exception& e) {
          log_noexcept(log::Level::warn,
                       "cannot start another worker, workers={}: {}",
                       m_workers.size(),
                       e.what());
        }
      }
      m_work_ready.notify_one();
      return true;
    } catch (...) {
      log_noexcept(log::Level::error, "cannot queue a request; refusing it");
    }
  }
  ex.phase = Phase::refused;
  return false;
}

MHD_Result Impl::answer(Exchange& ex) {
  Phase phase;
  Reuse reuse = Reuse::keep_alive;
  {
    std::lock_guard lock(m_mutex);
    phase = std::exchange(ex.phase, Phase::answered);
    if (m_draining) {
      reuse = Reuse::close;
    }
  }
  // Once answered, ex.response is this thread's alone until on_completed.
  if (phase == Phase::refused) {
    ex.response = error_response(503, k_stopping);
  } else if (phase != Phase::ready) {
    log::error(k_component, "request resumed without a response");
    return MHD_NO;
  }
  return send(ex.connection, ex.response, reuse);
}

MHD_Result
Impl::send(MHD_Connection* connection, const HttpResponse& r, Reuse reuse) {
  unsigned status = static_cast<unsigned>(r.status);
  if (!is_valid_status(r.status)) {
    log::warn(k_component, "handler gave invalid status={}", r.status);
    status = 500;
  }
  // libmicrohttpd reads the body from `r` itself, which outlives the
  // sending and is wiped in on_completed: a copy would be freed unwiped.
  MHD_Response* response = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_PERSISTENT);
  if (response == nullptr) {
    log::warn(k_component, "closing connection: cannot build a response");
    return MHD_NO;
  }
  if (!r.content_type.empty()) {
    MHD_add_response_header(
        response, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  }
  if (reuse == Reuse::close) {
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  }
  const MHD_Result queued = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  if (queued != MHD_YES) {
    log::warn(k_component, "cannot queue a response status={}", status);
  }
  return queued;
}

void Impl::on_completed(void** context,
                        MHD_RequestTerminationCode code) noexcept {
  auto* raw = static_cast<Exchange*>(*context);
  if (raw == nullptr) {
    return;
  }
  *context = nullptr;
  try {
    std::shared_ptr<Exchange> ex; // released after the lock
    {
      std::lock_guard lock(m_mutex);
      auto it = m_exchanges.find(raw);
      if (it != m_exchanges.end()) {
        ex = std::move(it->second);
        m_exchanges.erase(it);
      }
    }
    m_progress.notify_all();
    if (ex != nullptr) {
      wipe(ex->response.body); // sent or abandoned: it may hold a secret
      wipe_registers();
    }
    if (code == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
      ++m_served;
    } else if (ex != nullptr) {
      log::debug(k_component,
                 "request ended unanswered method={} path={} reason={}",
                 ex->request.method,
                 ex->request.path,
                 termination_name(code));
    }
  } catch (...) {
  }
}

void Impl::on_connection(void** socket_context,
                         MHD_ConnectionNotificationCode code) noexcept {
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    ++m_connections;
    auto* state = new (std::nothrow) ConnectionState;
    *socket_context = state;
    std::lock_guard lock(m_mutex);
    if (state != nullptr) {
      ++m_fresh_connections;
    }
    if (m_adopted_unstarted > 0) {
      --m_adopted_unstarted;
    }
    return;
  }
  --m_connections;
  auto* state = static_cast<ConnectionState*>(*socket_context);
  *socket_context = nullptr;
  if (state != nullptr && state->fresh) {
    {
      std::lock_guard lock(m_mutex);
      --m_fresh_connections;
    }
    m_progress.notify_all();
  }
  delete state;
}

MHD_Result Impl::on_accept() noexcept {
  if (m_connections.load() < m_options.max_connections) {
    return MHD_YES;
  }
  log_noexcept(log::Level::warn,
               "refusing connection: limit reached max_connections={}",
               m_options.max_connections);
  return MHD_NO;
}

// ---- workers ---------------------------------------------------------------

void Impl::work() noexcept {
  try {
    while (std::shared_ptr<Exchange> ex = next_job()) {
      HttpResponse response = run_handler(ex->request);
      std::string().swap(ex->request.body); // the body's memory goes now
      finish(*ex, std::move(response));
      wipe_registers(); // the handler moved secrets through them
    }
  } catch (const std::exception& e) {
    log_noexcept(log::Level::error, "worker stopped: {}", e.what());
  }
}

// The next queued exchange, now running; null when the workers must exit.
std::shared_ptr<Exchange> Impl::next_job() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    ++m_idle_workers;
    m_work_ready.wait(lock,
                      [this] { return m_workers_exit || !m_queue.empty(); });
    --m_idle_workers;
    if (m_queue.empty()) {
      return nullptr;
    }
    std::shared_ptr<Exchange> ex = std::move(m_queue.front());
    m_queue.pop_front();
    if (ex->phase == Phase::queued) {
      ex->phase = Phase::running;
      return ex;
    }
  }
}

HttpResponse Impl::run_handler(const HttpRequest& request) {
  // The exception's text is not logged: it may quote the body (a JSON
  // parser's error does), and bodies can hold secrets.
  const char* type = "unknown";
  try {
    return m_handler(request);
  } catch (const std::exception& e) {
    type = typeid(e).name();
  } catch (...) {
  }
  log::warn(k_component,
            "handler threw method={} path={} exception={}",
            request.method,
            request.path,
            type);
  return error_response(500, k_internal_error);
}

void Impl::finish(Exchange& ex, HttpResponse response) {
  {
    std::lock_guard lock(m_mutex);
    if (ex.phase != Phase::running) {
      wipe(response.body);
      return; // stop() has answered it already
    }
    ex.response = std::move(response);
    ex.phase = Phase::ready;
    ++m_resumes_pending;
  }
  MHD_resume_connection(ex.connection);
  {
    std::lock_guard lock(m_mutex);
    --m_resumes_pending;
  }
  m_progress.notify_all();
}

// ---- HttpServer
// --------------------------------------------------------------

Result<std::unique_ptr<HttpServer>> HttpServer::start(UnixListener listener,
                                                      Handler handler,
                                                      ServerOptions options) {
  if (listener.fd() < 0) {
    return Error(ErrorKind::invalid_input, "listener is closed");
  }
  if (!handler) {
    return Error(ErrorKind::invalid_input, "no request handler");
  }
  if (options.workers == 0 || options.max_connections == 0) {
    return Error(ErrorKind::invalid_input,
                 "workers and max_connections must be at least 1");
  }
  auto impl =
      std::make_unique<Impl>(std::move(listener), std::move(handler), options);
  try {
    impl->start_workers();
  } catch (const std::system_error& e) {
    return Error(ErrorKind::internal,
                 std::string("cannot start worker threads: ") + e.what());
  }
  if (auto st = impl->start_daemon(); !st) {
    return st.error();
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::stop() {
  m_impl->stop();
}

ServerStats HttpServer::stats() const {
  return m_impl->stats();
}

} // namespace vsp::plugin
