#include "core/docker/engine_client.hpp"

#include "tests/support/scripted_server.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <curl/curl.h>

#include <thread>

using namespace vsp;
using namespace vsp::docker;
using namespace std::chrono_literals;
using test::Reply;

namespace {

// Trimmed from what dockerd 20.10 answers.
constexpr const char* k_tasks = R"json([
 {"ID":"t1","ServiceID":"s1","NodeID":"n1","Slot":1,"DesiredState":"running",
  "Status":{"State":"running","Message":"started"}},
 {"ID":"t2","ServiceID":"s1","NodeID":"n1","Slot":2,"DesiredState":"shutdown",
  "Status":{"State":"shutdown","Err":""}},
 {"ID":"t3","ServiceID":"s1","NodeID":"n1","Slot":3,"DesiredState":"shutdown",
  "Status":{"State":"failed","Err":"task: non-zero exit (1)"}}])json";

constexpr const char* k_service = R"({"ID":"s1","Version":{"Index":42},
 "Spec":{"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"x"},
 "ForceUpdate":2},"Mode":{"Replicated":{"Replicas":3}}}})";

std::string decoded(const std::string& target) {
  int n = 0;
  char* raw = curl_easy_unescape(nullptr, target.c_str(), 0, &n);
  std::string out(raw, static_cast<std::size_t>(n));
  curl_free(raw);
  return out;
}

} // namespace

TEST_CASE("EngineClient reads tasks, services and info over a socket",
          "[docker]") {
  test::TempDir dir;
  test::ScriptedServer engine(
      [](const test::SeenRequest& r) {
        if (r.target.rfind("/v1.41/tasks", 0) == 0) {
          return Reply::json(200, k_tasks);
        }
        if (r.target == "/v1.41/services/web") {
          return Reply::json(200, k_service);
        }
        if (r.target == "/v1.41/services/s1/update?version=42") {
          return Reply::json(200, R"({"Warnings":null})");
        }
        if (r.target == "/v1.41/services/s1/update?version=41") {
          return Reply::json(409, R"({"message":"update out of sequence"})");
        }
        if (r.target == "/v1.41/info") {
          return Reply::json(
              200,
              R"({"ServerVersion":"20.10.24","Swarm":{"NodeID":"n1",)"
              R"("LocalNodeState":"active","ControlAvailable":true}})");
        }
        return Reply::json(404, R"({"message":"page not found"})");
      },
      dir.file("docker.sock"));
  EngineClient client({dir.file("docker.sock"), "http://localhost"});

  SECTION("tasks, with filters in Docker's query form") {
    TaskFilter filter;
    filter.service = "web";
    filter.desired_state = "running";
    auto tasks = client.tasks(filter, Deadline::after(5s));
    REQUIRE(tasks.ok());
    REQUIRE(tasks->size() == 3);
    CHECK(tasks->at(0).state == "running");
    CHECK(tasks->at(2).error == "task: non-zero exit (1)");
    CHECK(tasks->at(1).slot == 2);
    CHECK(decoded(engine.seen().back().target) ==
          R"(/v1.41/tasks?filters={"desired-state":["running"],)"
          R"("service":["web"]})");
  }
  SECTION("a service, and a forced update at its version") {
    auto service = client.service("web", Deadline::after(5s));
    REQUIRE(service.ok());
    CHECK(service->id == "s1");
    CHECK(service->name == "web");
    CHECK(service->version == 42);
    const auto spec = with_forced_update(service->spec);
    CHECK(spec["TaskTemplate"]["ForceUpdate"] == 3);
    CHECK(spec["Mode"] == service->spec["Mode"]);
    REQUIRE(client.update_service(*service, spec, Deadline::after(5s)).ok());
    CHECK(nlohmann::json::parse(engine.seen().back().body) == spec);
    CHECK(engine.seen().back().method == "POST");

    auto stale = *service;
    stale.version = 41;
    auto refused = client.update_service(stale, spec, Deadline::after(5s));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "engine_conflict");
    CHECK(refused.error().message.find("update out of sequence") !=
          std::string::npos);
  }
  SECTION("an unknown service is not_found") {
    auto missing = client.service("nope", Deadline::after(5s));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == ErrorKind::not_found);
  }
  SECTION("info says whether this node is a manager") {
    auto info = client.info(Deadline::after(5s));
    REQUIRE(info.ok());
    CHECK(info->is_manager);
    CHECK(info->node_id == "n1");
    CHECK(info->server_version == "20.10.24");
  }
}

TEST_CASE("EngineClient reports a worker node and a dead socket", "[docker]") {
  test::TempDir dir;
  test::ScriptedServer worker(
      [](const test::SeenRequest&) {
        return Reply::json(
            503,
            R"({"message":"This node is not a swarm manager. Worker nodes )"
            R"(can't be used to view or modify cluster state."})");
      },
      dir.file("worker.sock"));
  EngineClient client({dir.file("worker.sock"), "http://localhost"});
  auto tasks = client.tasks({}, Deadline::after(5s));
  REQUIRE_FALSE(tasks.ok());
  CHECK(tasks.error().code == "engine_not_manager");

  EngineClient nobody({dir.file("missing.sock"), "http://localhost"});
  auto refused = nobody.tasks({}, Deadline::after(5s));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::unavailable);
  CHECK(refused.error().message.find(dir.file("missing.sock")) !=
        std::string::npos);

  SECTION("a hung engine is bounded by the deadline") {
    test::ScriptedServer hung(
        [](const test::SeenRequest&) {
          return Reply::act(Reply::Action::hang);
        },
        dir.file("hung.sock"));
    EngineClient slow({dir.file("hung.sock"), "http://localhost"});
    const auto started = std::chrono::steady_clock::now();
    auto late = slow.tasks({}, Deadline::after(300ms));
    CHECK(late.error().kind == ErrorKind::timeout);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
  }
}

TEST_CASE("EngineClient::cancel cuts off a call to a hung engine", "[docker]") {
  test::TempDir dir;
  test::ScriptedServer hung(
      [](const test::SeenRequest&) { return Reply::act(Reply::Action::hang); },
      dir.file("hung.sock"));
  EngineClient client({dir.file("hung.sock"), "http://localhost"});

  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    client.cancel();
  });
  const auto started = std::chrono::steady_clock::now();
  auto cut = client.tasks({}, Deadline::after(30s));
  const auto took = std::chrono::steady_clock::now() - started;
  stopper.join();
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error().code == "engine_cancelled");
  CHECK(cut.error().message ==
        "docker engine at unix://" + dir.file("hung.sock") +
            ": GET /tasks cut off, the plugin is stopping");
  // libcurl looks at least once a second; the rest is margin.
  CHECK(took < 5s);

  // Later calls fail at once, without a connection.
  const int seen = hung.requests();
  CHECK(client.info(Deadline::after(30s)).error().code == "engine_cancelled");
  CHECK(hung.requests() == seen);
}

TEST_CASE("find_engine picks DOCKER_HOST, then the plugin's socket",
          "[docker]") {
  std::map<std::string, std::string> env;
  const auto getenv = [&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt
                           : std::optional<std::string>(it->second);
  };
  env["DOCKER_HOST"] = "unix:///tmp/x/docker.sock";
  env["VSP_DOCKER_SOCKET"] = "/run/other.sock";
  CHECK(find_engine(getenv)->value().unix_socket == "/tmp/x/docker.sock");
  env["DOCKER_HOST"] = "tcp://127.0.0.1:2375";
  CHECK(find_engine(getenv)->value().base_url == "http://127.0.0.1:2375");
  env["DOCKER_HOST"] = "tcp://10.0.0.5:2376";
  CHECK(find_engine(getenv).error().code == "invalid_config");
  env.erase("DOCKER_HOST");
  CHECK(find_engine(getenv)->value().unix_socket == "/run/other.sock");
}

TEST_CASE("is_terminal_task_state", "[docker]") {
  for (const char* s :
       {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}) {
    CHECK(is_terminal_task_state(s));
  }
  for (const char* s :
       {"new", "assigned", "preparing", "starting", "running"}) {
    CHECK_FALSE(is_terminal_task_state(s));
  }
}
