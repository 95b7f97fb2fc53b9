#include "plugin/metrics_endpoint.hpp"

#include "core/ledger/ledger.hpp"
#include "core/util/log.hpp"
#include "core/vault/client.hpp"
#include "plugin/plugin.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

namespace vsp::plugin {
namespace {

constexpr const char* k_component = "metrics";
constexpr std::string_view k_metrics_path = "/metrics";
constexpr std::string_view k_status_path = "/status";
// A Vault that does not answer sys/health within this is reported so.
constexpr std::chrono::milliseconds k_status_budget{2000};
// Scrapers are few; more connections than this are refused.
constexpr unsigned k_tcp_connections = 16;

Error bad(const std::string& value, const std::string& why) {
  return Error(ErrorKind::invalid_input,
               "invalid_config",
               fmt::format("VSP_METRICS_ADDR=\"{}\": {}", value, why));
}

// A parsed listening address.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t length = 0;
  bool loopback = false;
  std::string text; // host:port as given back in logs
};

Result<Endpoint> parse_endpoint(const std::string& value) {
  std::string host;
  std::string port;
  if (!value.empty() && value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string::npos || close + 1 >= value.size() ||
        value[close + 1] != ':') {
      return bad(value, "expected [IPV6]:PORT");
    }
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else if (const auto colon = value.rfind(':'); colon != std::string::npos) {
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  } else {
    port = value;
  }
  char* end = nullptr;
  const long number = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || number < 0 || number > 65535) {
    return bad(value, "expected a port from 0 to 65535");
  }
  if (host.empty() || host == "localhost") {
    host = "127.0.0.1";
  }
  Endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(number));
    e.length = sizeof *v4;
    e.loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    e.text = fmt::format("{}:{}", host, number);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(number));
    e.length = sizeof *v6;
    e.loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ||
                 (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) &&
                  v6->sin6_addr.s6_addr[12] == 127);
    e.text = fmt::format("[{}]:{}", host, number);
  } else {
    // A name could resolve anywhere, and differently tomorrow.
    return bad(value, "the host must be an IP address or localhost");
  }
  return e;
}

bool truthy(const std::string& v) {
  return v == "1" || v == "true" || v == "yes";
}

HttpResponse text_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

} // namespace

// ---- MetricsSettings -------------------------------------------------------

Result<MetricsSettings> MetricsSettings::from_env(const vault::Getenv& getenv) {
  MetricsSettings s;
  if (auto v = getenv("VSP_METRICS_ALLOW_REMOTE"); v && !v->empty()) {
    if (!truthy(*v) && *v != "0" && *v != "false" && *v != "no") {
      return Error(ErrorKind::invalid_input,
                   "invalid_config",
                   fmt::format("VSP_METRICS_ALLOW_REMOTE=\"{}\": expected "
                               "true or false",
                               *v));
    }
    s.allow_remote = truthy(*v) ? AllowRemote::yes : AllowRemote::no;
  }
  if (auto v = getenv("VSP_METRICS_ADDR"); v && !v->empty()) {
    auto e = parse_endpoint(*v);
    if (!e) {
      return e.error();
    }
    if (!e->loopback && s.allow_remote == AllowRemote::no) {
      return bad(*v,
                 "not a loopback address; the metrics endpoint has no TLS "
                 "or authentication, so set VSP_METRICS_ALLOW_REMOTE=true "
                 "to expose it beyond this host");
    }
    s.address = *v;
  }
  return s;
}

// ---- MetricsServer ---------------------------------------------------------

class MetricsServer::Impl {
public:
  explicit Impl(const PluginMetrics& metrics) : m_metrics(metrics) {}
  ~Impl() {
    if (m_daemon != nullptr) {
      MHD_stop_daemon(m_daemon);
    }
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  static MHD_Result on_request(void* cls,
                               MHD_Connection* connection,
                               const char* url,
                               const char* method,
                               const char*,
                               const char*,
                               std::size_t* size,
                               void** context) noexcept;

  const PluginMetrics& m_metrics;
  MHD_Daemon* m_daemon = nullptr;
};

MHD_Result MetricsServer::Impl::on_request(void* cls,
                                           MHD_Connection* connection,
                                           const char* url,
                                           const char* method,
                                           const char*,
                                           const char*,
                                           std::size_t* size,
                                           void** context) noexcept {
  static int k_seen;
  if (*context == nullptr) {
    *context = &k_seen;
    return MHD_YES;
  }
  if (*size != 0) {
    *size = 0; // a body is read and ignored
    return MHD_YES;
  }
  try {
    const auto& self = *static_cast<const Impl*>(cls);
    const bool get =
        std::strcmp(method, "GET") == 0 || std::strcmp(method, "HEAD") == 0;
    const bool found = get && url == k_metrics_path;
    const std::string body =
        found ? self.m_metrics.render() : std::string("not found\n");
    MHD_Response* response = MHD_create_response_from_buffer(
        body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) {
      return MHD_NO;
    }
    MHD_add_response_header(
        response,
        MHD_HTTP_HEADER_CONTENT_TYPE,
        found ? std::string(metrics::Registry::k_content_type).c_str()
              : "text/plain; charset=utf-8");
    const MHD_Result r =
        MHD_queue_response(connection, found ? 200 : 404, response);
    MHD_destroy_response(response);
    return r;
  } catch (...) {
    return MHD_NO;
  }
}

Result<std::unique_ptr<MetricsServer>>
MetricsServer::start(const MetricsSettings& settings,
                     const PluginMetrics& metrics) {
  auto endpoint = parse_endpoint(settings.address);
  if (!endpoint) {
    return endpoint.error();
  }
  auto impl = std::make_unique<Impl>(metrics);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  if (endpoint->addr.ss_family == AF_INET6) {
    flags |= MHD_USE_IPv6;
  }
  impl->m_daemon = MHD_start_daemon(flags,
                                    0,
                                    nullptr,
                                    nullptr,
                                    &Impl::on_request,
                                    impl.get(),
                                    MHD_OPTION_SOCK_ADDR,
                                    &endpoint->addr,
                                    MHD_OPTION_CONNECTION_LIMIT,
                                    k_tcp_connections,
                                    MHD_OPTION_CONNECTION_TIMEOUT,
                                    10u,
                                    MHD_OPTION_END);
  if (impl->m_daemon == nullptr) {
    return Error(ErrorKind::unavailable,
                 fmt::format("cannot listen for metrics on {} (in use?)",
                             endpoint->text));
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(impl->m_daemon, MHD_DAEMON_INFO_BIND_PORT);
  std::string bound = endpoint->text;
  if (info != nullptr) {
    bound = bound.substr(0, bound.rfind(':') + 1) + std::to_string(info->port);
  }
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(impl), std::move(bound)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl, std::string address)
    : m_impl(std::move(impl)), m_address(std::move(address)) {}

MetricsServer::~MetricsServer() = default;

// ---- Observability ---------------------------------------------------------

Observability::Observability(MetricsSettings settings,
                             Plugin& app,
                             vault::Client& vault,
                             const vault::Auth& login)
    : m_settings(std::move(settings)), m_vault(vault) {
  m_vault.set_observer(&m_metrics);
  m_metrics.watch_login(login);
  app.set_metrics(&m_metrics);
  m_status.login = &login;
  m_status.plugin = &app;
  m_status.vault = &vault;
  m_status.metrics = &m_metrics;
}

Observability::~Observability() {
  stop();
  m_vault.set_observer(nullptr);
}

void Observability::watch_engine(const docker::EngineClient* engine) {
  m_status.engine = engine;
}

void Observability::watch_ledger(ledger::Ledger* ledger, std::string path) {
  m_status.ledger = ledger;
  m_status.ledger_path = std::move(path);
  if (ledger == nullptr) {
    return;
  }
  m_metrics.watch_ledger(
      [ledger]() -> std::optional<std::map<std::string, std::int64_t>> {
        auto stats = ledger->stats();
        if (!stats) {
          return std::nullopt;
        }
        std::map<std::string, std::int64_t> rows;
        for (const auto& [state, n] : stats->rows) {
          rows[ledger::to_string(state)] = n;
        }
        return rows;
      });
  m_metrics.watch_ledger_memory([ledger] { return ledger->memory_bytes(); });
}

Handler Observability::wrap(Handler next) {
  return [this, next = std::move(next)](const HttpRequest& r) {
    if (r.method == "GET" && r.path == k_metrics_path) {
      return answer_metrics();
    }
    if (r.method == "GET" && r.path == k_status_path) {
      return answer_status();
    }
    return next(r);
  };
}

HttpResponse Observability::answer_metrics() const {
  HttpResponse r = text_response(200, m_metrics.render());
  r.content_type = metrics::Registry::k_content_type;
  return r;
}

HttpResponse Observability::answer_status() const {
  HttpResponse r;
  // Paths in the report come from the environment, not always UTF-8.
  r.body = status_report(m_status, Deadline::after(k_status_budget))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
  return r;
}

Status Observability::start(const HttpServer& server) {
  m_metrics.watch_server(server);
  m_status.server = &server;
  if (m_settings.address.empty()) {
    return ok_status();
  }
  auto tcp = MetricsServer::start(m_settings, m_metrics);
  if (!tcp) {
    return tcp.error();
  }
  m_tcp = std::move(tcp).value();
  log::info(k_component,
            "serving /metrics on {}{}",
            m_tcp->address(),
            m_settings.allow_remote == AllowRemote::yes
                ? " (remote scrapers allowed)"
                : "");
  return ok_status();
}

void Observability::stop() {
  m_tcp.reset();
  m_status.server = nullptr;
}

} // namespace vsp::plugin
