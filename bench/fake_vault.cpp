// A Vault stand-in for the latency and cost benchmarks only: it answers
// after a fixed delay, so a comparison of "through the plugin" and "direct"
// measures the plugin and not a slow or jittery backend. It knows just
// enough of Vault's API for vsp's token kinds:
//
//   GET  /v1/auth/token/lookup-self       a non-expiring, non-renewable token
//   POST /v1/auth/token/create[/<role>]   a token, or with X-Vault-Wrap-TTL a
//                                         wrap_info around one
//   GET  /v1/sys/health                   active and unsealed
//   GET  /_stats                          {"requests": N, "connections": N}
//
// Tokens it hands out are unique but open nothing. One thread per
// connection, so the delay never queues requests behind each other. It
// listens on loopback only.
//
//   fake_vault --latency-ms MS --ready-file FILE [--port N]
//
// The ready file gets "http://127.0.0.1:PORT\n" once it listens; it runs
// until SIGTERM or SIGINT.
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

namespace {

struct Server {
  std::chrono::microseconds latency{0};
  std::atomic<long> requests{0};
  std::atomic<long> connections{0};
  std::atomic<long> serial{0};
};

struct Reply {
  unsigned status = 200;
  std::string body;
};

std::string next_id(Server& s, std::string_view prefix) {
  return fmt::format("{}{:024d}", prefix, ++s.serial);
}

Reply token_create(Server& s, bool wrapped, std::string_view path) {
  const std::string token = next_id(s, "hvs.fake");
  const std::string accessor = next_id(s, "acc");
  if (!wrapped) {
    return {200,
            fmt::format(R"({{"request_id":"r","lease_id":"","renewable":false,)"
                        R"("lease_duration":0,"data":null,"wrap_info":null,)"
                        R"("warnings":null,"auth":{{"client_token":"{}",)"
                        R"("accessor":"{}","policies":["app-read","default"],)"
                        R"("token_policies":["app-read","default"],)"
                        R"("metadata":{{}},"lease_duration":3600,)"
                        R"("renewable":true,"entity_id":"",)"
                        R"("token_type":"service","orphan":true}}}})"
                        "\n",
                        token,
                        accessor)};
  }
  return {200,
          fmt::format(R"({{"request_id":"","lease_id":"","renewable":false,)"
                      R"("lease_duration":0,"data":null,"wrap_info":{{)"
                      R"("token":"{}","accessor":"{}","ttl":600,)"
                      R"("creation_time":"2026-01-01T00:00:00Z",)"
                      R"("creation_path":"{}","wrapped_accessor":"{}"}},)"
                      R"("warnings":null,"auth":null}})"
                      "\n",
                      next_id(s, "hvs.wrap"),
                      next_id(s, "wacc"),
                      path,
                      accessor)};
}

Reply route(Server& s,
            std::string_view method,
            std::string_view url,
            bool wrapped) {
  if (url == "/_stats") {
    return {200,
            fmt::format(R"({{"requests":{},"connections":{}}})",
                        s.requests.load(),
                        s.connections.load())};
  }
  ++s.requests;
  std::this_thread::sleep_for(s.latency);
  const std::string_view path =
      url.substr(0, 4) == "/v1/" ? url.substr(4) : std::string_view();
  if (method == "GET" && path == "auth/token/lookup-self") {
    return {200,
            R"({"data":{"accessor":"acc-plugin","ttl":0,"creation_ttl":0,)"
            R"("renewable":false,"policies":["vsp-plugin"],"type":"service",)"
            R"("display_name":"token-vsp-plugin"}})"
            "\n"};
  }
  if (method == "POST" && path.substr(0, 17) == "auth/token/create") {
    return token_create(s, wrapped, path);
  }
  if (path.substr(0, 10) == "sys/health") {
    return {200,
            R"({"initialized":true,"sealed":false,"standby":false,)"
            R"("version":"fake"})"
            "\n"};
  }
  return {404, "{\"errors\":[]}\n"};
}

MHD_Result on_request(void* cls,
                      MHD_Connection* connection,
                      const char* url,
                      const char* method,
                      const char*,
                      const char*,
                      std::size_t* size,
                      void** context) {
  static int k_started;
  if (*context == nullptr) {
    *context = &k_started;
    return MHD_YES;
  }
  if (*size != 0) {
    *size = 0; // the body is read and ignored
    return MHD_YES;
  }
  auto& s = *static_cast<Server*>(cls);
  const char* wrap = MHD_lookup_connection_value(
      connection, MHD_HEADER_KIND, "X-Vault-Wrap-TTL");
  const Reply reply = route(s, method, url, wrap != nullptr && *wrap != '\0');
  MHD_Response* response =
      MHD_create_response_from_buffer(reply.body.size(),
                                      const_cast<char*>(reply.body.data()),
                                      MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(response, "Content-Type", "application/json");
  const MHD_Result r = MHD_queue_response(connection, reply.status, response);
  MHD_destroy_response(response);
  return r;
}

void on_connection(void* cls,
                   MHD_Connection*,
                   void**,
                   MHD_ConnectionNotificationCode code) {
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    ++static_cast<Server*>(cls)->connections;
  }
}

} // namespace

int main(int argc, char** argv) {
  Server server;
  std::string ready_file;
  unsigned port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--latency-ms") {
      server.latency = std::chrono::microseconds(
          static_cast<long>(std::atof(argv[i + 1]) * 1000));
    } else if (flag == "--ready-file") {
      ready_file = argv[i + 1];
    } else if (flag == "--port") {
      port = static_cast<unsigned>(std::atoi(argv[i + 1]));
    } else {
      std::cerr << "fake_vault: unknown flag " << flag << '\n';
      return 2;
    }
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  MHD_Daemon* daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
                                            MHD_USE_INTERNAL_POLLING_THREAD,
                                        0,
                                        nullptr,
                                        nullptr,
                                        &on_request,
                                        &server,
                                        MHD_OPTION_SOCK_ADDR,
                                        &addr,
                                        MHD_OPTION_NOTIFY_CONNECTION,
                                        &on_connection,
                                        &server,
                                        MHD_OPTION_CONNECTION_TIMEOUT,
                                        600u,
                                        MHD_OPTION_END);
  if (daemon == nullptr) {
    std::cerr << "fake_vault: cannot listen\n";
    return 1;
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
  const std::string tmp = ready_file + ".tmp";
  std::ofstream(tmp) << fmt::format("http://127.0.0.1:{}\n", info->port);
  if (std::rename(tmp.c_str(), ready_file.c_str()) != 0) {
    std::cerr << "fake_vault: cannot write " << ready_file << '\n';
    MHD_stop_daemon(daemon);
    return 1;
  }

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  MHD_stop_daemon(daemon);
  return 0;
}
