#!/usr/bin/python3
"""Crash test of the issuance ledger: SIGKILL vsp-plugin during issuances,
each kill timed by the Vault emulator's audit log so that it lands between
Vault issuing a token and the plugin recording it, then compare the audit
log (what Vault issued) with the ledger (what vsp knows).

Two phases, each with its own emulator and ledger:
  with    the plugin's login may list accessors (sudo on
          auth/token/accessors): every token Vault issued must end up in
          the ledger, issued or revoked;
  without it may not: every issued token is recorded, or its row is marked
          unknown and the token expires with its TTL (checked by moving
          the emulator's clock past it: hashicorp/vault#6492).

Prints how many kills landed in the window and exits 0 when every token is
accounted for; 77 (skip) without a vsp-plugin binary.

    crash_ledger.py [VSP_PLUGIN] [--issuances 200] [--without 50]
"""

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
PLUGIN = os.path.join(SOURCE, "build", "plugin", "vsp-plugin")
EMULATOR = os.path.join(SOURCE, "tests", "emulator", "vault_emulator.py")
CREATE_PATH = "auth/token/create/vsp-task"
TTL_S = 3600

RULES = """defaults:
  token_role: vsp-task
  wrap_ttl: 10m
rules:
  - name: app
    match: {secret: "app-*"}
    allowed_policies: [app-read]
    policies: [app-read]
    ttl: 1h
"""


def emulator_config(work, listing):
    paths = {
        CREATE_PATH: {"capabilities": ["update"]},
        "auth/token/revoke-accessor": {"capabilities": ["update"]},
        "sys/leases/revoke": {"capabilities": ["update"]},
    }
    if listing:
        paths["auth/token/accessors"] = {"capabilities": ["list", "sudo"]}
        paths["auth/token/lookup-accessor"] = {"capabilities": ["update"]}
    return {
        "policies": {
            "app-read": {"path": {"secret/data/app/*": {
                "capabilities": ["read"]}}},
            "vsp-plugin": {"path": paths}},
        "token_roles": {"vsp-task": {"allowed_policies": ["app-read"],
                                     "orphan": True, "renewable": True}},
        "tokens": [{"policies": ["vsp-plugin"], "ttl": "2h",
                    "display_name": "vsp-plugin",
                    "write_to": os.path.join(work, "plugin.token")}],
    }


class Emulator:
    def __init__(self, work, listing):
        self.work = work
        self.audit_log = os.path.join(work, "audit.jsonl")
        config = os.path.join(work, "emulator.json")
        with open(config, "w") as f:
            json.dump(emulator_config(work, listing), f)
        ready = os.path.join(work, "ready.json")
        self.log = open(os.path.join(work, "emulator.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, EMULATOR, "--listen", "127.0.0.1:0",
             "--config", config, "--audit-log", self.audit_log,
             "--ready-file", ready],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(150):
            if os.path.exists(ready) and os.path.getsize(ready) > 0:
                break
            time.sleep(0.1)
        with open(ready) as f:
            info = json.load(f)
        self.address = info["address"]
        self.root = info["root_token"]

    def control(self, method, path, body=None):
        import urllib.request
        req = urllib.request.Request(
            self.address + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-Vault-Token": self.root})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def issued(self):
        """Inner-token accessors of every successful create, in order."""
        out = []
        with open(self.audit_log) as f:
            for line in f:
                e = json.loads(line)
                if e["path"] == CREATE_PATH and e["status"] == 200:
                    out.append(e["issued"]["wrapped_accessor"])
        return out

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.log.close()


class Plugin:
    def __init__(self, work, emulator):
        self.work = work
        self.socket = os.path.join(work, "vsp.sock")
        self.ledger = os.path.join(work, "ledger.db")
        with open(os.path.join(work, "rules.yaml"), "w") as f:
            f.write(RULES)
        self.env = {
            "PATH": "/usr/bin:/bin",
            "VSP_SOCKET": self.socket,
            "VSP_RULES": os.path.join(work, "rules.yaml"),
            "VSP_TOKEN_FILE": os.path.join(work, "plugin.token"),
            "VSP_LEDGER": self.ledger,
            # No Engine API: nothing may revoke these made-up tasks but
            # the settling under test.
            "VSP_DOCKER_SOCKET": os.path.join(work, "no-docker.sock"),
            "VAULT_ADDR": emulator.address,
            "VSP_LOG_LEVEL": "info",
        }
        self.log = open(os.path.join(work, "plugin.log"), "a")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([PLUGIN], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for _ in range(500):
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(self.socket)
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("vsp-plugin did not listen")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)

    def send(self, task):
        """Sends a GetSecret for `task` and does not wait for the answer."""
        body = json.dumps({"SecretName": "app-db", "ServiceName": "web",
                           "ServiceID": "svc", "TaskID": task,
                           "TaskName": "web.1." + task,
                           "NodeID": "node"}).encode() + b"\n"
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.socket)
        s.sendall(b"POST /SecretProvider.GetSecret HTTP/1.1\r\n"
                  b"Host: plugin\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + body)
        return s

    def task_state(self, task):
        # Read-write, with the plugin dead: a read-only connection cannot
        # recover the WAL index a killed writer left, and may read an older
        # snapshot without the last commit.
        db = sqlite3.connect(self.ledger, timeout=10)
        try:
            row = db.execute("SELECT state FROM issuance WHERE task_id = ?",
                             (task,)).fetchone()
            return row[0] if row else None
        finally:
            db.close()

    def rows(self, state=None):
        db = sqlite3.connect("file:%s?mode=ro" % self.ledger, uri=True)
        try:
            q = "SELECT id, accessor, state FROM issuance"
            if state:
                return db.execute(q + " WHERE state = ?", (state,)).fetchall()
            return db.execute(q).fetchall()
        finally:
            db.close()


def wait_for_create(audit, offset, timeout=10):
    """Returns once the audit log shows a successful create past `offset`,
    with the new offset; polls every 0.1 ms."""
    end = time.monotonic() + timeout
    with open(audit, "rb") as f:
        f.seek(offset)
        pending = b""
        while time.monotonic() < end:
            chunk = f.read()
            if chunk:
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    offset += len(line) + 1
                    e = json.loads(line)
                    if e["path"] == CREATE_PATH and e["status"] == 200:
                        return offset
            else:
                time.sleep(0.0001)
    raise RuntimeError("no token create in the audit log")


def wait_settled(plugin, timeout=60):
    end = time.monotonic() + timeout
    while plugin.rows("pending") and time.monotonic() < end:
        time.sleep(0.05)
    assert not plugin.rows("pending"), "open intents were not settled"


def run_phase(name, count, listing, base):
    work = tempfile.mkdtemp(prefix="crash-%s-" % name, dir=base)
    emulator = Emulator(work, listing)
    plugin = Plugin(work, emulator)
    landed = 0
    offset = 0
    try:
        plugin.start()
        for i in range(count):
            task = "task-%s-%d" % (name, i)
            conn = plugin.send(task)
            offset = wait_for_create(emulator.audit_log, offset)
            plugin.kill()
            conn.close()
            # Still pending: Vault issued, the ledger had not recorded.
            landed += plugin.task_state(task) == "pending"
            plugin.start()
        wait_settled(plugin)
        plugin.stop()
        return check_phase(name, count, listing, emulator, plugin, landed)
    finally:
        if plugin.proc and plugin.proc.poll() is None:
            plugin.kill()
        emulator.stop()


def check_phase(name, count, listing, emulator, plugin, landed):
    issued = emulator.issued()
    rows = plugin.rows()
    by_accessor = {a: s for (_, a, s) in rows if a}
    states = {}
    for _, _, s in rows:
        states[s] = states.get(s, 0) + 1
    missing = [a for a in issued if a not in by_accessor]
    report = {"phase": name, "issuances": count, "vault_issued": len(issued),
              "kills": count, "kills_in_window": landed,
              "ledger_states": states, "not_in_ledger": len(missing)}
    assert len(issued) == count, report
    if listing:
        # Every token is recorded: issued (kill after recording) or
        # revoked (settled at start-up, never handed out).
        assert not missing, report
        assert all(by_accessor[a] in ("issued", "revoked") for a in issued)
        # Settled rows are revoked; a plugin killed while settling may
        # leave one recorded as issued, for the poller to end with its task.
        assert 0 < states.get("revoked", 0) <= landed, report
        assert "unknown" not in states, report
    else:
        # Those not recorded belong to rows marked unknown, by the
        # issuance ID in their metadata, and expire with their TTL.
        tokens = {t["accessor"]: t for t in
                  emulator.control("GET", "/_emulator/tokens")["tokens"]}
        unknown_ids = {i for (i, _, _) in plugin.rows("unknown")}
        for a in missing:
            meta = tokens[a]["meta"]
            assert meta["vsp_issuance_id"] in unknown_ids, (a, meta)
            assert tokens[a]["expire_time"], tokens[a]
        assert len(missing) == len(unknown_ids) == landed, report
        emulator.control("POST", "/_emulator/clock", {"advance": TTL_S + 1})
        live = [t for t in emulator.control("GET", "/_emulator/tokens")
                ["tokens"] if (t.get("meta") or {}).get("vsp_issuance_id")]
        report["live_after_ttl"] = len(live)
        assert not live, report
    return report


def main():
    global PLUGIN
    parser = argparse.ArgumentParser()
    parser.add_argument("plugin", nargs="?", default=PLUGIN)
    parser.add_argument("--issuances", type=int, default=200)
    parser.add_argument("--without", type=int, default=50)
    args = parser.parse_args()
    PLUGIN = args.plugin
    if not os.access(PLUGIN, os.X_OK):
        print("SKIP: no vsp-plugin at %s" % PLUGIN)
        return 77
    base = tempfile.mkdtemp(prefix="vsp-crash-")
    started = time.monotonic()
    reports = [run_phase("with", args.issuances, True, base)]
    if args.without:
        reports.append(run_phase("without", args.without, False, base))
    for r in reports:
        print(json.dumps(r, sort_keys=True))
    print("crash test: %d kills in %.0f s; %d landed between Vault issuing "
          "and the ledger recording" % (
              sum(r["kills"] for r in reports), time.monotonic() - started,
              sum(r["kills_in_window"] for r in reports)))
    subprocess.run(["rm", "-rf", base], check=False)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
