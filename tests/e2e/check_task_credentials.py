"""Accounts for every credential vsp handed to a Swarm service's tasks,
from four sources that must agree: the plugin's log (one line per
GetSecret answered), its ledger (`vsp audit --format json`), the Vault
emulator's audit log (every token and lease Vault minted) and Vault itself,
asked through python3-hvac, an independent client.

usage: check_task_credentials.py [options]   (VAULT_ADDR, VAULT_TOKEN set)

  --plugin-out FILE    the plugin's stdout ("issued"/"reissued" lines)
  --plugin-err FILE    its stderr ("refused" lines)
  --ledger FILE        `vsp audit --service S --format json`
  --vault-audit FILE   the emulator's JSON-lines audit log
  --running FILE       IDs of the service's running tasks, one a line
  --secrets A,B        the secret names each task holds
  --window S           the plugin's reuse window in seconds
  --expect-running N   how many tasks must be running
  --require-repeats    fail unless some task asked again for a secret
  --report FILE        write the figures as JSON there

Checks: no request refused; per task and secret at most one credential
minted within the window, and every repeat answered with it; ledger, Vault
audit and plugin log name the same tokens and leases; every running task
holds exactly one live credential per secret; no ended task holds a live
one. Prints figures; never prints a token (accessors and lease IDs only).
Per-task lines are printed for up to 30 tasks. Exit 1 with FAIL lines on
any violation.
"""

import argparse
import collections
import datetime
import json
import os
import re
import sys

import hvac
import hvac.exceptions

CREATE_PATH = "auth/token/create/vsp-task"
LINE = re.compile(
    r" (issued|reissued) task=(\S+) .*?secret=(\S+) .* accessor=(\S+) "
    r"lease=(\S+) ")
REFUSED = re.compile(r" refused (?:task=(\S+))?")
MS = re.compile(r" ms=(\d+)")

problems = []


def fail(message):
    problems.append(message)
    print(f"check_task_credentials: FAIL: {message}", file=sys.stderr)


def parse_args():
    p = argparse.ArgumentParser()
    for name in ("plugin-out", "plugin-err", "ledger", "vault-audit",
                 "running", "secrets"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--window", type=int, required=True)
    p.add_argument("--expect-running", type=int, required=True)
    p.add_argument("--require-repeats", action="store_true")
    p.add_argument("--report")
    return p.parse_args()


def plugin_answers(path):
    """[(verb, task, secret, accessor, lease)] in log order."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                out.append(m.groups())
    return out


def answer_ms(path):
    """How long the plugin took for each answer with a value, in ms."""
    with open(path, errors="replace") as f:
        return sorted(int(m.group(1)) for line in f if LINE.search(line)
                      for m in [MS.search(line)] if m)


def refusals(path):
    with open(path, errors="replace") as f:
        return [m.group(1) or "?" for m in map(REFUSED.search, f) if m]


def vault_minted(path):
    """Token accessors and lease IDs Vault handed out, from its audit log."""
    tokens, leases = [], []
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if e["status"] != 200 or not e.get("issued"):
                continue
            issued = e["issued"]
            if e["path"] == CREATE_PATH:
                tokens.append(issued.get("wrapped_accessor")
                              or issued.get("accessor"))
            elif e["path"].startswith("database/creds/"):
                lease_id = issued.get("lease_id")
                if lease_id:
                    leases.append(lease_id)
    return tokens, leases


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def token_live(client, accessor):
    try:
        info = client.auth.token.lookup_accessor(accessor)["data"]
    except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden):
        return None
    return info.get("meta") or {}


def lease_live(client, lease_id):
    try:
        client.sys.read_lease(lease_id)
    except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden):
        return False
    return True


def main():
    args = parse_args()
    secrets = args.secrets.split(",")
    running = set(open(args.running).read().split())
    answers = plugin_answers(args.plugin_out)
    refused = refusals(args.plugin_err)
    entries = json.load(open(args.ledger))["entries"]
    minted_tokens, minted_leases = vault_minted(args.vault_audit)
    client = hvac.Client(url=os.environ["VAULT_ADDR"],
                         token=os.environ["VAULT_TOKEN"])

    # Requests: every one answered with a value, none refused.
    if refused:
        fail(f"{len(refused)} requests refused (tasks {sorted(set(refused))})")
    requests = collections.Counter((a[1], a[2]) for a in answers)
    minted_log = collections.defaultdict(list)  # (task, secret) -> accessors
    for verb, task, secret, accessor, _lease in answers:
        if verb == "issued":
            minted_log[(task, secret)].append(accessor)
    for verb, task, secret, accessor, _lease in answers:
        first = minted_log.get((task, secret), [None])[0]
        if verb == "reissued" and accessor != first:
            fail(f"task {task} secret {secret}: a repeat got {accessor}, "
                 f"not the first credential {first}")
    tasks = sorted({t for t, _ in requests})

    # Ledger rows, one per credential minted.
    rows = collections.defaultdict(list)
    for e in entries:
        rows[(e["task_id"], e["secret"])].append(e)
        if e["state"] not in ("issued", "revoked"):
            fail(f"ledger row of task {e['task_id']} is {e['state']} "
                 f"({e['reason']})")
    for key, group in rows.items():
        created = sorted(parse_time(e["created"]) for e in group)
        for a, b in zip(created, created[1:]):
            if (b - a).total_seconds() < args.window:
                fail(f"task {key[0]} secret {key[1]}: two credentials "
                     f"minted {(b - a).total_seconds():.1f} s apart, "
                     f"inside the {args.window} s reuse window")
    for key in requests:
        if key not in rows:
            fail(f"task {key[0]} secret {key[1]} was answered but has no "
                 "ledger row")

    # The three records name the same credentials.
    ledger_tokens = sorted(e["accessor"] for e in entries if e["accessor"])
    ledger_leases = sorted(e["lease_id"] for e in entries if e["lease_id"])
    log_tokens = sorted(a for acc in minted_log.values() for a in acc)
    if sorted(minted_tokens) != ledger_tokens:
        fail(f"Vault minted {len(minted_tokens)} tokens, the ledger holds "
             f"{len(ledger_tokens)}; not in the ledger: "
             f"{sorted(set(minted_tokens) - set(ledger_tokens))}")
    if sorted(minted_leases) != ledger_leases:
        fail(f"Vault issued {len(minted_leases)} leases, the ledger holds "
             f"{len(ledger_leases)}")
    if log_tokens != ledger_tokens:
        fail(f"the plugin logged {len(log_tokens)} mints, the ledger holds "
             f"{len(ledger_tokens)}")
    if len(set(ledger_tokens)) != len(ledger_tokens):
        fail("two ledger rows share a token")

    # Vault now: running tasks hold one live credential per secret, ended
    # tasks none.
    live = collections.Counter()
    for e in entries:
        meta = token_live(client, e["accessor"]) if e["accessor"] else None
        token_ok = meta is not None
        if token_ok and meta.get("vsp_task_id") != e["task_id"]:
            fail(f"token {e['accessor']} names task "
                 f"{meta.get('vsp_task_id')!r}, the ledger {e['task_id']}")
        lease_ok = bool(e["lease_id"]) and lease_live(client, e["lease_id"])
        if token_ok or lease_ok:
            live[(e["task_id"], e["secret"])] += 1
        if (token_ok or lease_ok) and e["task_id"] not in running:
            fail(f"task {e['task_id']} has ended but its {e['secret']} "
                 f"credential is live (ledger state {e['state']})")
        if e["lease_id"] and token_ok != lease_ok:
            fail(f"task {e['task_id']}: lease live={lease_ok}, its holder "
                 f"token live={token_ok}")
    if len(running) != args.expect_running:
        fail(f"{len(running)} tasks running, expected {args.expect_running}")
    for task in sorted(running):
        for secret in secrets:
            if live[(task, secret)] != 1:
                fail(f"running task {task} holds {live[(task, secret)]} live "
                     f"{secret} credentials, expected 1")

    repeated = {k: n for k, n in requests.items() if n > 1}
    if args.require_repeats and not repeated:
        fail("no task asked twice for a secret: the scenario did not happen")

    per_task = collections.Counter(n for n in requests.values())
    took = answer_ms(args.plugin_out)
    figures = {
        "tasks_asking": len(tasks),
        "tasks_running": len(running),
        "requests": sum(requests.values()),
        "requests_refused": len(refused),
        "requests_per_task_and_secret": {
            str(k): v for k, v in sorted(per_task.items())},
        "repeats": sum(n - 1 for n in requests.values()),
        "minted_tokens": len(minted_tokens),
        "minted_leases": len(minted_leases),
        "ledger_rows": len(entries),
        "ledger_states": dict(collections.Counter(
            e["state"] for e in entries)),
        "max_minted_per_task_and_secret": max(
            (len(g) for g in rows.values()), default=0),
        "live_per_running_task_and_secret": sorted(
            {live[(t, s)] for t in running for s in secrets}),
        "answer_ms_p50": took[len(took) // 2] if took else None,
        "answer_ms_max": took[-1] if took else None,
        "live_of_ended_tasks": sum(
            n for (t, _), n in live.items() if t not in running),
    }
    for task in tasks if len(tasks) <= 30 else []:
        counts = ", ".join(f"{s} x{requests[(task, s)]}" for s in secrets
                           if requests[(task, s)])
        state = "running" if task in running else "ended"
        print(f"task {task} ({state}): asked {counts}; minted "
              f"{sum(len(rows[(task, s)]) for s in secrets)}; live now "
              f"{sum(live[(task, s)] for s in secrets)}")
    print(json.dumps(figures, sort_keys=True))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(figures, f, indent=1, sort_keys=True)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
