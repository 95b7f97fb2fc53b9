#pragma once

#include "core/util/deadline.hpp"
#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsp::docker {

// One Swarm task as GET /tasks describes it.
struct Task {
  std::string id;
  std::string service_id;
  std::string node_id;
  std::int64_t slot = 0;
  std::string state;         // Status.State: "running", "shutdown", ...
  std::string desired_state; // DesiredState
  std::string error;         // Status.Err
};

// Whether a task state is one a task never leaves: complete, failed,
// shutdown, rejected, orphaned, remove.
bool is_terminal_task_state(std::string_view state);

struct Service {
  std::string id;
  std::string name;
  std::uint64_t version = 0; // Version.Index, for updates
  nlohmann::json spec;       // Spec, as the engine returned it
};

// What GET /info says about this engine's place in the swarm.
struct EngineInfo {
  std::string node_id;
  std::string swarm_state; // "active", "inactive", "pending", ...
  bool is_manager = false;
  std::string server_version;
};

// Filters for GET /tasks (Docker's `filters` query); empty ones are left
// out.
struct TaskFilter {
  std::string service; // ID or name
  std::string node;
  std::string desired_state;
};

// Where the Engine API is, from the plugin's or the CLI's environment.
struct EngineEndpoint {
  std::string unix_socket; // path; empty when `base_url` is TCP
  std::string base_url;    // "http://localhost" for a socket
};

// DOCKER_HOST (unix:// or tcp:// on loopback) first, then `socket`
// (VSP_DOCKER_SOCKET) or /var/run/docker.sock when that exists. nullopt
// when none is given and the default socket is missing; an error for a
// DOCKER_HOST it cannot use (ssh://, TLS, another host).
Result<std::optional<EngineEndpoint>> find_engine(
    const std::function<std::optional<std::string>(const char*)>& getenv);

// A small client of Docker's Engine API (version 1.41, Docker 20.10),
// over a Unix socket or loopback TCP, for what vsp needs of Swarm:
// tasks, services, a forced rolling update, and whether this node is a
// manager. Every call is bounded by its deadline and by `call_timeout`;
// nothing it logs or returns holds a secret (the engine's replies hold
// none vsp asks for). Thread-safe: each call uses its own connection.
class EngineClient {
public:
  explicit EngineClient(EngineEndpoint endpoint,
                        std::chrono::milliseconds call_timeout =
                            std::chrono::milliseconds(10'000));

  const EngineEndpoint& endpoint() const { return m_endpoint; }
  // "unix:///var/run/docker.sock" or the TCP URL, for messages.
  std::string describe() const;

  // GET /v1.41/info.
  Result<EngineInfo> info(Deadline deadline) const;
  // GET /v1.41/tasks with `filter`. Fails with unavailable (code
  // engine_not_manager) on a node that is not a swarm manager.
  Result<std::vector<Task>> tasks(const TaskFilter& filter,
                                  Deadline deadline) const;
  // GET /v1.41/services/{id or name}; not_found when there is none.
  Result<Service> service(std::string_view id_or_name, Deadline deadline) const;
  // POST /v1.41/services/{id}/update?version=N with `spec`. A stale
  // version fails with invalid_input (code engine_conflict).
  Status update_service(const Service& service,
                        const nlohmann::json& spec,
                        Deadline deadline) const;

  // Ends calls in flight within about a second and fails every later one
  // at once (unavailable, engine_cancelled): the plugin is stopping, and a
  // hung Docker socket must not hold its exit for a call's whole budget.
  void cancel() { m_cancelled = true; }

private:
  struct Reply {
    long status = 0;
    nlohmann::json body;
  };
  Result<Reply> call(std::string_view method,
                     const std::string& path,
                     const nlohmann::json* body,
                     Deadline deadline) const;
  Error error_for(const std::string& what, const Reply& reply) const;

  EngineEndpoint m_endpoint;
  std::chrono::milliseconds m_call_timeout;
  std::atomic<bool> m_cancelled{false};
};

// Parsers, exposed for tests: each fails with invalid_input when the
// engine's JSON lacks what vsp reads.
Result<std::vector<Task>> parse_tasks(const nlohmann::json& body);
Result<Service> parse_service(const nlohmann::json& body);
Result<EngineInfo> parse_info(const nlohmann::json& body);

// `spec` with TaskTemplate.ForceUpdate raised by one: the change that makes
// Swarm replace every task of the service (`docker service update
// --force`).
nlohmann::json with_forced_update(const nlohmann::json& spec);

} // namespace vsp::docker
