#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// A loopback HTTP/1.1 server whose every answer a test scripts: status,
// headers and body, or misbehaviour (reset, hang, close, endless body).
// It counts connections and requests so tests can check reuse and
// retries without the Vault emulator.
namespace vsp::test {

struct SeenRequest {
  std::string method;
  std::string target;                         // path and query
  std::map<std::string, std::string> headers; // names lower-cased
  std::string body;
  int connection = 0; // 1-based, in accept order
};

struct Reply {
  enum class Action {
    respond, // status, headers, body
    reset,   // close with RST, no answer
    close,   // close cleanly, no answer
    hang,    // keep the connection and never answer
    stream,  // headers, then `stream_bytes` of body (chunked if 0)
    truncate // declare `body` longer than it is, send it, close
  };
  Action action = Action::respond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::uint64_t stream_bytes = 0;
  std::chrono::milliseconds delay{0}; // before answering
  bool keep_alive = true;

  static Reply json(int status, std::string body);
  static Reply empty(int status);
  static Reply act(Action action);
};

class ScriptedServer {
public:
  using Handler = std::function<Reply(const SeenRequest&)>;

  // Listens on 127.0.0.1 on a free port.
  explicit ScriptedServer(Handler handler);
  // Listens on a Unix socket at `path`.
  ScriptedServer(Handler handler, const std::string& unix_path);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  // "http://127.0.0.1:<port>" or "unix://<path>".
  std::string address() const;
  int port() const { return m_port; }

  int connections() const { return m_connections.load(); }
  int requests() const { return m_requests.load(); }
  std::uint64_t bytes_streamed() const { return m_streamed.load(); }
  std::vector<SeenRequest> seen() const;

private:
  void accept_loop();
  void serve(int fd, int index);
  bool wait_readable(int fd) const;

  Handler m_handler;
  int m_listen = -1;
  int m_port = 0;
  std::string m_unix_path;
  int m_stop_pipe[2] = {-1, -1};
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_connections{0};
  std::atomic<int> m_requests{0};
  std::atomic<std::uint64_t> m_streamed{0};

  mutable std::mutex m_mutex;
  std::vector<SeenRequest> m_seen;
  std::vector<int> m_fds;
  std::vector<std::thread> m_threads;
  std::thread m_acceptor;
};

} // namespace vsp::test
