// vsp simulate: one GetSecret request, decided from the rules without
// Vault (--dry-run), carried out in-process against Vault as the plugin
// would, or sent to a running plugin exactly as Docker's Swarm leader
// sends it (--socket). Shows the decision, the answer, DoNotReuse and,
// with --unwrap, what a wrapped value holds.
#include "cli/command.hpp"
#include "cli/decision_view.hpp"
#include "cli/option_checks.hpp"
#include "cli/request_input.hpp"
#include "cli/rules_input.hpp"
#include "cli/table.hpp"
#include "cli/unwrapped.hpp"

#include "core/docker/plugin_caller.hpp"
#include "core/issuer/issuer.hpp"
#include "core/issuer/render.hpp"
#include "core/util/env.hpp"
#include "core/vault/client.hpp"
#include "core/vault/login.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

namespace vsp::cli {
namespace {

using json = nlohmann::json;

struct SimulateOptions {
  RequestInput request;
  std::string socket;
  std::string rules_file;
  bool dry_run = false;
  bool show_value = false;
  bool unwrap = false;
  double timeout_seconds = 30;
  OutputFormat format = OutputFormat::human;
};

// What one simulation found; printed once at the end.
struct Outcome {
  std::string mode; // "dry-run", "in-process", "socket"
  std::optional<docker::SecretRequest> request;
  std::string rules_file;
  std::optional<rules::RuleSet> rules;
  std::optional<rules::Decision> decision;
  std::optional<docker::SecretAnswer> answer;
  std::optional<issuer::Issued> issued;
  std::string vault_error; // in-process: the rules allowed, Vault failed
  json unwrapped;
};

std::chrono::milliseconds budget(const SimulateOptions& o) {
  return std::chrono::milliseconds(
      static_cast<long long>(o.timeout_seconds * 1000));
}

vault::Client vault_client() {
  auto config = vault::Config::from_env(process_env);
  if (!config) {
    throw CommandError(k_exit_usage, config.error().message);
  }
  return vault::Client(*config);
}

docker::SecretAnswer refusal(const std::string& message) {
  docker::SecretAnswer a;
  a.err = "vsp: " + message;
  return a;
}

// Issues the decision with the CLI's own Vault login, as the plugin does.
void issue_in_process(const SimulateOptions& o, Outcome& out) {
  vault::Client client = vault_client();
  auto login = vault::Auth::for_cli(client, process_env);
  if (!login) {
    throw CommandError(k_exit_usage, login.error().message);
  }
  issuer::Issuer issuer(client, **login, issuer::IssuerOptions{});
  auto issued =
      issuer.issue(*out.request, *out.decision, Deadline::after(budget(o)));
  if (!issued) {
    out.answer = refusal(issued.error().message);
    out.vault_error = issued.error().message;
    return;
  }
  docker::SecretAnswer a;
  a.ok = true;
  a.value = issued->value;
  a.do_not_reuse = issued->do_not_reuse;
  out.answer = std::move(a);
  out.issued = std::move(*issued);
}

void unwrap_value(const SimulateOptions& o, Outcome& out) {
  if (!out.answer || !out.answer->ok) {
    return;
  }
  if (out.decision && out.decision->wrap_ttl.count() == 0) {
    out.unwrapped = {{"note", "the value is not wrapped"}};
    return;
  }
  vault::Client client = vault_client();
  auto inner = client.unwrap(out.answer->value, Deadline::after(budget(o)));
  if (!inner) {
    const auto& e = inner.error();
    const bool not_wrapping = e.code == vault::errc::invalid_token ||
                              e.code == vault::errc::wrapping_token_invalid;
    out.unwrapped = {{"error",
                      not_wrapping
                          ? fmt::format("the value is not a wrapping token, or "
                                        "it was used already ({})",
                                        e.message)
                          : e.message}};
    return;
  }
  out.unwrapped = describe_unwrapped(
      *inner, o.show_value ? ShowSecret::yes : ShowSecret::no);
}

json issued_json(const issuer::Issued& i) {
  json out{{"kind", rules::to_string(i.kind)},
           {"accessor", i.accessor},
           {"wrapping_accessor", i.wrapping_accessor},
           {"lease_id", i.lease_id},
           {"ttl", i.ttl.count()},
           {"issuance_id", i.issuance_id}};
  if (i.expires_at.time_since_epoch().count() > 0) {
    out["expires_at"] = issuer::utc_text(i.expires_at);
  }
  return out;
}

void print_outcome_json(const SimulateOptions& o, const Outcome& out) {
  json j{{"mode", out.mode}};
  if (out.request) {
    j["request"] = docker::to_json(*out.request);
  }
  if (out.mode != "socket") {
    j["allowed"] = out.decision.has_value();
    j["decision"] = out.decision ? decision_json(*out.decision) : json();
  }
  if (out.answer) {
    const auto& a = *out.answer;
    j["ok"] = a.ok;
    if (a.ok) {
      j["do_not_reuse"] = a.do_not_reuse;
      j["value_bytes"] = a.value.size();
      if (o.show_value) {
        j["value"] = std::string(a.value.reveal());
      }
    } else {
      j["err"] = a.err;
    }
  } else {
    j["ok"] = out.decision.has_value();
    if (out.decision) {
      j["do_not_reuse"] = out.decision->do_not_reuse;
    }
  }
  if (out.issued) {
    j["issued"] = issued_json(*out.issued);
    // The plugin records what it issues; this process has no ledger.
    j["issued"]["recorded"] = out.mode == "socket";
  }
  if (!out.unwrapped.is_null()) {
    j["unwrapped"] = out.unwrapped;
  }
  print_json(std::cout, j);
}

void print_answer(const SimulateOptions& o,
                  const Outcome& out,
                  Colouring colour) {
  const auto& a = *out.answer;
  if (!a.ok) {
    std::cout << paint("answer:      Err", Colour::red, colour) << '\n'
              << "err:         " << a.err << '\n';
    return;
  }
  std::cout << paint("answer:      Value", Colour::green, colour) << '\n'
            << fmt::format("DoNotReuse:  {}\n", a.do_not_reuse);
  if (o.show_value) {
    std::cout << "value:       " << a.value.reveal() << '\n';
  } else {
    std::cout << fmt::format("value:       ({}, hidden; --show-value "
                             "prints it)\n",
                             counted(a.value.size(), "byte"));
  }
  if (out.issued) {
    const auto& i = *out.issued;
    const std::pair<const char*, const std::string*> receipts[] = {
        {"accessor:    ", &i.accessor},
        {"wrapping:    ", &i.wrapping_accessor},
        {"lease:       ", &i.lease_id}};
    for (const auto& [name, value] : receipts) {
      if (!value->empty()) {
        std::cout << name << *value << '\n';
      }
    }
    if (out.mode == "in-process") {
      // A dynamic secret's accessor is its lease holder's: revoking the
      // holder ends the lease too.
      const bool by_lease = i.accessor.empty();
      std::cout << fmt::format(
          "ledger:      not recorded (in-process: no plugin, no task "
          "watcher); it lives until its TTL ends or `vsp revoke --{} {}`\n",
          by_lease ? "lease" : "accessor",
          by_lease ? i.lease_id : i.accessor);
    }
  }
}

void print_human(const SimulateOptions& o, const Outcome& out) {
  const Colouring colour = colour_on_stdout();
  if (out.request) {
    std::cout << "request:     " << request_summary(*out.request) << '\n';
  }
  if (out.mode != "socket") {
    if (out.decision) {
      std::cout << "decision:\n";
      print_decision(std::cout, *out.decision, out.rules_file, *out.rules);
    } else {
      std::cout << paint("decision:    refused", Colour::red, colour) << '\n';
    }
  }
  if (out.mode == "dry-run" && out.decision) {
    std::cout << fmt::format("DoNotReuse:  {}\nvalue:       (not issued: "
                             "--dry-run asks no Vault)\n",
                             out.decision->do_not_reuse);
  }
  if (out.answer) {
    print_answer(o, out, colour);
  }
  if (!out.unwrapped.is_null()) {
    std::cout << "unwrapped:\n";
    if (out.unwrapped.contains("kind")) {
      std::ostringstream lines;
      print_unwrapped(lines, out.unwrapped, "--show-value");
      std::istringstream in(lines.str());
      for (std::string line; std::getline(in, line);) {
        std::cout << "  " << line << '\n';
      }
    } else {
      std::cout << "  " << out.unwrapped.begin().value().get<std::string>()
                << '\n';
    }
  }
}

// Through a running plugin, byte for byte as Docker sends it.
void simulate_socket(const SimulateOptions& o,
                     const std::string& body,
                     Outcome& out) {
  out.mode = "socket";
  if (auto parsed = docker::parse_secret_request(body); parsed) {
    out.request = std::move(*parsed);
  } else {
    // Sent anyway: the point may be to see how the plugin refuses it.
    std::cerr << fmt::format("vsp: warning: the request is not valid: {}\n",
                             parsed.error().message);
  }
  auto answer =
      docker::call_get_secret(o.socket, body, Deadline::after(budget(o)));
  if (!answer) {
    throw CommandError(k_exit_remote, answer.error().message);
  }
  out.answer = std::move(*answer);
}

void simulate_here(const SimulateOptions& o,
                   const std::string& body,
                   Outcome& out) {
  out.mode = o.dry_run ? "dry-run" : "in-process";
  out.request = parse_request(body);
  out.rules_file = rules_path(o.rules_file);
  out.rules = load_rules(out.rules_file);
  auto decision = out.rules->decide(*out.request);
  if (!decision) {
    out.answer = refusal(decision.error().message);
    return;
  }
  out.decision = std::move(*decision);
  if (!o.dry_run) {
    issue_in_process(o, out);
  }
}

void run(const SimulateOptions& o) {
  if (o.dry_run && !o.socket.empty()) {
    throw CommandError(k_exit_usage,
                       "--dry-run decides from the rules alone; it cannot "
                       "go with --socket");
  }
  if (o.dry_run && o.unwrap) {
    throw CommandError(k_exit_usage,
                       "--dry-run issues nothing, so there is nothing to "
                       "--unwrap");
  }
  const std::string body = request_body(o.request);
  Outcome out;
  if (!o.socket.empty()) {
    simulate_socket(o, body, out);
  } else {
    simulate_here(o, body, out);
  }
  if (o.unwrap) {
    unwrap_value(o, out);
  }

  if (o.format == OutputFormat::json) {
    print_outcome_json(o, out);
  } else {
    print_human(o, out);
  }
  if (!out.vault_error.empty()) {
    throw CommandError(k_exit_remote,
                       fmt::format("not issued: the rules allow it but Vault "
                                   "failed, asked with the operator's own "
                                   "token (VAULT_TOKEN, else ~/.vault-token): "
                                   "{}",
                                   out.vault_error));
  }
  if (out.answer && !out.answer->ok) {
    throw CommandError(
        k_exit_denied,
        out.mode == "socket"
            ? fmt::format("the plugin refused: {}", out.answer->err)
            : fmt::format("refused: {}", out.answer->err));
  }
}

} // namespace

void add_simulate(CLI::App& app) {
  auto o = std::make_shared<SimulateOptions>();
  auto* cmd = app.add_subcommand(
      "simulate",
      "Carry out one GetSecret request: from the rules alone (--dry-run), "
      "in-process against Vault (VAULT_ADDR, VAULT_TOKEN or "
      "~/.vault-token), or through a running plugin (--socket)");
  add_request_options(*cmd, o->request);
  cmd->add_option("--socket",
                  o->socket,
                  "Send the request to the plugin on this Unix socket");
  cmd->add_option("--rules",
                  o->rules_file,
                  "The rules file, without --socket (default: $VSP_RULES, "
                  "else /etc/vsp/rules.yaml)")
      ->check(input_file(DashIsStdin::no));
  cmd->add_flag(
      "--dry-run", o->dry_run, "Decide from the rules without asking Vault");
  cmd->add_flag("--show-value", o->show_value, "Print the secret value");
  cmd->add_flag("--unwrap",
                o->unwrap,
                "Open a wrapped value and show what it holds (this uses "
                "the wrapping token up)");
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait")
      ->check(timeout_seconds());
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run(*o); });
}

} // namespace vsp::cli
