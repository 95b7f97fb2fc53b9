#include "cli/complete.hpp"

#include "core/ledger/ledger.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace vsp;
using namespace vsp::cli;

namespace {

// A command tree shaped like vsp's: options with choices, a value taking
// a rule, ledger-backed values, paths, a nested subcommand, a positional.
struct Tree {
  CLI::App root{"test", "vsp"};
  std::string text;
  std::vector<std::string> many;
  bool flag = false;

  Tree() {
    root.set_version_flag("--version", "1");
    auto* simulate = root.add_subcommand("simulate", "Send a request");
    simulate->add_option("--socket", text, "The plugin's socket");
    simulate->add_option("--format", text, "Output format")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, int>{{"human", 0}, {"json", 1}}));
    simulate->add_option("--task-id", text, "Task ID");
    simulate->add_option("--secret-label", many, "Secret label K=V");
    simulate->add_flag("--show-value", flag, "Print it");
    simulate->add_option("--state", many, "Ledger state (repeatable)");
    auto* rules = root.add_subcommand("rules", "Rules");
    auto* check = rules->add_subcommand("check", "Validate");
    check->add_option("file", text, "Rules file");
    auto* explain = rules->add_subcommand("explain", "Explain");
    explain->add_option("--rules", text, "Rules file");
    explain->add_option("--rule", text, "Only this rule");
    explain->add_option("--ledger", text, "Ledger file");
    explain->add_option("--service", text, "Service name");
    root.add_subcommand("__complete", "hidden")->group("");
  }
};

// Sources that answer from fixed lists and remember which files they
// were asked to read.
struct FakeSources {
  std::string rules_path;
  std::string ledger_path;
  std::map<std::string, std::string> env;

  CompletionSources get() {
    return {
        [this](const std::string& path) {
          rules_path = path;
          return std::vector<Candidate>{{"web", ""}, {"api", ""}};
        },
        [this](const std::string& path, LedgerField field) {
          ledger_path = path;
          if (field == LedgerField::task) {
            return std::vector<Candidate>{{"t1", "web db issued"}};
          }
          return std::vector<Candidate>{{"shop_web", "service"}};
        },
        [this](const char* name) -> std::optional<std::string> {
          auto it = env.find(name);
          if (it == env.end()) {
            return std::nullopt;
          }
          return it->second;
        },
    };
  }
};

std::vector<std::string> values(const Completion& c) {
  std::vector<std::string> out;
  for (const auto& w : c.words) {
    out.push_back(w.value);
  }
  return out;
}

Completion ask(Tree& tree, FakeSources& fake, std::vector<std::string> w) {
  return complete(tree.root, w, fake.get());
}

} // namespace

TEST_CASE("complete offers subcommands and options from the tree",
          "[cli][complete]") {
  Tree tree;
  FakeSources fake;

  SECTION("subcommands, hidden ones left out, with descriptions") {
    auto c = ask(tree, fake, {""});
    CHECK(c.mode == Completion::Mode::words);
    CHECK(values(c) == std::vector<std::string>{"simulate", "rules"});
    CHECK(c.words[0].description == "Send a request");
  }
  SECTION("a prefix") {
    CHECK(values(ask(tree, fake, {"si"})) ==
          std::vector<std::string>{"simulate"});
  }
  SECTION("nested subcommands") {
    CHECK(values(ask(tree, fake, {"rules", ""})) ==
          std::vector<std::string>{"check", "explain"});
  }
  SECTION("long options of the command under the cursor") {
    CHECK(values(ask(tree, fake, {"simulate", "--s"})) ==
          std::vector<std::string>{
              "--socket", "--secret-label", "--show-value", "--state"});
    CHECK(values(ask(tree, fake, {"--"})) ==
          std::vector<std::string>{"--help", "--version"});
  }
  SECTION("a lone dash also offers short names") {
    auto names = values(ask(tree, fake, {"simulate", "-"}));
    CHECK(std::find(names.begin(), names.end(), "-h") != names.end());
  }
  SECTION("options when a command takes no more words") {
    auto names = values(ask(tree, fake, {"simulate", ""}));
    CHECK(names.front() == "--help");
    CHECK(names.size() == 7);
  }
  SECTION("values and flags already typed are skipped over") {
    CHECK(values(
              ask(tree,
                  fake,
                  {"simulate", "--socket", "rules", "--show-value", "--fo"})) ==
          std::vector<std::string>{"--format"});
  }
}

TEST_CASE("complete offers an option's values", "[cli][complete]") {
  Tree tree;
  FakeSources fake;

  SECTION("listed choices") {
    CHECK(values(ask(tree, fake, {"simulate", "--format", ""})) ==
          std::vector<std::string>{"human", "json"});
    CHECK(values(ask(tree, fake, {"simulate", "--format", "j"})) ==
          std::vector<std::string>{"json"});
  }
  SECTION("--flag=value keeps the flag in front") {
    CHECK(values(ask(tree, fake, {"simulate", "--format=h"})) ==
          std::vector<std::string>{"--format=human"});
  }
  SECTION("paths go to the shell's file completion") {
    CHECK(ask(tree, fake, {"simulate", "--socket", ""}).mode ==
          Completion::Mode::files);
    CHECK(ask(tree, fake, {"rules", "check", ""}).mode ==
          Completion::Mode::files);
  }
  SECTION("ledger states") {
    CHECK(values(ask(tree, fake, {"simulate", "--state", "e"})) ==
          std::vector<std::string>{"expired"});
  }
  SECTION("free text offers nothing") {
    auto c = ask(tree, fake, {"simulate", "--secret-label", ""});
    CHECK(c.mode == Completion::Mode::words);
    CHECK(c.words.empty());
  }
}

TEST_CASE("complete reads rule names and ledger values from the right file",
          "[cli][complete]") {
  Tree tree;
  FakeSources fake;

  SECTION("rules: the default path") {
    CHECK(values(ask(tree, fake, {"rules", "explain", "--rule", ""})) ==
          std::vector<std::string>{"web", "api"});
    CHECK(fake.rules_path == "/etc/vsp/rules.yaml");
  }
  SECTION("rules: VSP_RULES, then --rules on the line") {
    fake.env["VSP_RULES"] = "/env/rules.yaml";
    ask(tree, fake, {"rules", "explain", "--rule", "w"});
    CHECK(fake.rules_path == "/env/rules.yaml");
    CHECK(values(
              ask(tree,
                  fake,
                  {"rules", "explain", "--rules", "/x.yaml", "--rule", "w"})) ==
          std::vector<std::string>{"web"});
    CHECK(fake.rules_path == "/x.yaml");
    ask(tree, fake, {"rules", "explain", "--rules=/y.yaml", "--rule", ""});
    CHECK(fake.rules_path == "/y.yaml");
  }
  SECTION("ledger: tasks and services, from VSP_LEDGER or --ledger") {
    fake.env["VSP_LEDGER"] = "/env/ledger.db";
    auto tasks = ask(tree, fake, {"simulate", "--task-id", ""});
    CHECK(values(tasks) == std::vector<std::string>{"t1"});
    CHECK(tasks.words[0].description == "web db issued");
    CHECK(fake.ledger_path == "/env/ledger.db");
    CHECK(
        values(ask(
            tree,
            fake,
            {"rules", "explain", "--ledger", "/l.db", "--service", "shop"})) ==
        std::vector<std::string>{"shop_web"});
    CHECK(fake.ledger_path == "/l.db");
  }
}

TEST_CASE("disk_sources reads a rules file and a ledger", "[cli][complete]") {
  test::TempDir dir;
  const auto sources = disk_sources();

  SECTION("rule names of a valid file; nothing for a missing one") {
    const auto path = dir.write("rules.yaml",
                                "rules:\n"
                                "  - name: web\n"
                                "    allowed_policies: [a]\n"
                                "  - name: api\n"
                                "    allowed_policies: [b]\n");
    auto names = sources.rules(path);
    REQUIRE(names.size() == 2);
    CHECK(names[0].value == "web");
    CHECK(names[1].value == "api");
    CHECK(sources.rules(dir.file("missing.yaml")).empty());
  }
  SECTION("ledger tasks, newest first, once each; nothing when missing") {
    const auto path = dir.file("ledger.db");
    {
      auto ledger = ledger::Ledger::open(path, ledger::Access::read_write);
      REQUIRE(ledger);
      int n = 0;
      for (const char* task : {"task-a", "task-b", "task-a"}) {
        ledger::Issuance row;
        row.id = "0a0b0c0d" + std::to_string(n);
        row.created_ms = 1'000 + n++;
        row.task_id = task;
        row.service_name = "shop_web";
        row.secret = "db";
        row.node_id = "node-1";
        row.kind = "wrapped-token";
        REQUIRE((*ledger)->record_intent(row));
      }
    }
    auto tasks = sources.ledger(path, LedgerField::task);
    REQUIRE(tasks.size() == 2);
    CHECK(tasks[0].value == "task-a");
    CHECK(tasks[0].description == "shop_web db pending");
    CHECK(tasks[1].value == "task-b");
    auto services = sources.ledger(path, LedgerField::service);
    REQUIRE(services.size() == 1);
    CHECK(services[0].value == "shop_web");
    auto nodes = sources.ledger(path, LedgerField::node);
    REQUIRE(nodes.size() == 1);
    CHECK(nodes[0].value == "node-1");
    CHECK(sources.ledger(path, LedgerField::accessor).empty()); // pending
    CHECK(sources.ledger(dir.file("none.db"), LedgerField::task).empty());
  }
}

TEST_CASE("to_protocol writes the mode, then value and description lines",
          "[cli][complete]") {
  Completion c;
  c.words = {{"json", ""}, {"--socket", "The socket"}};
  CHECK(to_protocol(c) == "words\njson\t\n--socket\tThe socket\n");
  CHECK(to_protocol({Completion::Mode::files, {}}) == "files\n");
}
