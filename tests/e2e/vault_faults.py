#!/usr/bin/python3
"""Vault faults against a real vsp-plugin process and the Vault emulator.

For each fault (sealed, standby, 429 with Retry-After, a 5xx burst, a 5xx
after the token was minted, latency past the deadline, a hang, connection
resets before and after the effect, a TLS failure, the plugin's own token
revoked or expired) a GetSecret must get an Err naming the fault within
the deadline, and the next GetSecret once Vault is back must get a value,
with no restart. At the end the emulator's audit log (every token Vault
minted) and the ledger must agree: each minted token is in the ledger, and
no task holds more than one live token.

Prints one line per fault with the Err and how long the answer took.
Exits 0 when every check holds, 77 (skip) without a vsp-plugin binary.

    vault_faults.py [VSP_PLUGIN]
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import crash_ledger  # noqa: E402  (shares its Emulator and Plugin)

DEADLINE_S = 2.0
# The answer may take the deadline plus the time to write it back.
MARGIN_S = 0.5
ROOT_TTL = 2 * 3600


def get_secret(plugin, task, timeout=DEADLINE_S * 5):
    """(answer as JSON, seconds taken) for one GetSecret of `task`."""
    started = time.monotonic()
    s = plugin.send(task)
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = [int(line.split(b":")[1]) for line in
                          head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(body) >= length[0]:
                    break
    finally:
        s.close()
    took = time.monotonic() - started
    body = data.partition(b"\r\n\r\n")[2]
    return json.loads(body), took


class Switch:
    """A TCP relay to the emulator's TLS port that can instead answer
    every connection with plain text, which fails the TLS handshake."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self._broken = False
        self.pipes = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def broken(self):
        return self._broken

    @broken.setter
    def broken(self, value):
        """Breaking also cuts the connections already open, so a client
        cannot keep using one it has pooled."""
        self._broken = value
        if value:
            for s in self.pipes:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.pipes = []

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.broken:
                client.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nplain\r\n")
                client.close()
                continue
            upstream = socket.create_connection(self.upstream)
            self.pipes += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def make_cert(work):
    cert = os.path.join(work, "vault.pem")
    key = os.path.join(work, "vault.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class TlsEmulator(crash_ledger.Emulator):
    """The emulator serving HTTPS with a certificate made for the test."""

    def __init__(self, work, cert, key):
        self._tls = ["--tls-cert", cert, "--tls-key", key]
        real_popen = subprocess.Popen

        def popen(args, **kw):
            return real_popen(args + self._tls, **kw)
        subprocess.Popen = popen
        try:
            super().__init__(work, True)
        finally:
            subprocess.Popen = real_popen
        self.cert = cert

    def control(self, method, path, body=None):
        import ssl
        ctx = ssl.create_default_context(cafile=self.cert)
        req = urllib.request.Request(
            self.address + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-Vault-Token": self.root})
        with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
            return json.load(r)


def new_plugin_token(emulator, work):
    """A fresh login for the plugin, written to its token file."""
    made = emulator.control("POST", "/v1/auth/token/create", {
        "policies": ["vsp-plugin"], "ttl": "2h", "no_parent": True,
        "display_name": "vsp-plugin"})
    with open(os.path.join(work, "plugin.token"), "w") as f:
        f.write(made["auth"]["client_token"])
    return made["auth"]["accessor"]


def plugin_accessor(emulator):
    for t in emulator.control("GET", "/_emulator/tokens")["tokens"]:
        if "vsp-plugin" in t["policies"]:
            return t["accessor"]
    raise RuntimeError("no plugin token")


def revoke_plugin_token(emulator, work):
    try:
        emulator.control("POST", "/v1/auth/token/revoke-accessor",
                         {"accessor": plugin_accessor(emulator)})
    except json.JSONDecodeError:
        pass  # 204: revoked, no body


def expire_plugin_token(emulator, work):
    # Past the plugin token's TTL; the tasks' tokens (1h) expire too,
    # which the check at the end allows for.
    emulator.control("POST", "/_emulator/clock", {"advance": ROOT_TTL + 60})


def faults(emulator, spec):
    emulator.control("POST", "/_emulator/faults", spec)


# name, how to break Vault, what the Err must contain, how to mend it.
# A fault set mends by being cleared.
SCENARIOS = [
    ("sealed", {"sealed": True}, "sealed"),
    ("standby", {"standby": {"active_address": "http://127.0.0.1:9"}},
     "standby"),
    ("429 Retry-After", {"rate_limit": {"retry_after": 1}}, "rate"),
    ("5xx burst", {"error": {"status": 502}}, "502"),
    ("5xx after minting", {"error": {"status": 500, "after_effect": True,
                                     "path_prefix": crash_ledger.CREATE_PATH}},
     "500"),
    ("latency past the deadline",
     {"latency_ms": {"ms": DEADLINE_S * 1000 + 1500}}, "deadline"),
    ("hang", {"hang": True}, "deadline"),
    ("connection reset", {"reset": True}, "died before an answer"),
    ("reset after minting", {"reset": {"after_effect": True,
                                       "path_prefix":
                                           crash_ledger.CREATE_PATH}},
     "died before an answer"),
]

LOGIN_SCENARIOS = [
    ("plugin token revoked", revoke_plugin_token, "invalid or expired"),
    ("plugin token expired", expire_plugin_token, "invalid or expired"),
]


class Run:
    def __init__(self, plugin):
        self.plugin = plugin
        self.n = 0
        self.failures = []
        self.rows = []

    def task(self):
        self.n += 1
        return "task-%d" % self.n

    def check(self, name, expect, mend):
        answer, took = get_secret(self.plugin, self.task())
        err = answer.get("Err", "")
        ok = expect.lower() in err.lower() and "Value" not in answer
        ok = ok and took <= DEADLINE_S + MARGIN_S
        mend()
        recovered, rtook = self.recover()
        self.rows.append({"fault": name, "err": err, "ms": int(took * 1000),
                          "recovered": recovered,
                          "recovery_ms": int(rtook * 1000)})
        print("%-26s %5d ms  recovered=%s  %s" % (
            name, took * 1000, recovered, err), flush=True)
        if not ok or not recovered:
            self.failures.append((name, answer, took, recovered))

    def recover(self):
        """Vault is back: a new task gets a value (the plugin is not
        restarted); tries for a few seconds, as Docker would retry."""
        started = time.monotonic()
        while time.monotonic() - started < 10:
            answer, _ = get_secret(self.plugin, self.task())
            if "Value" in answer:
                return True, time.monotonic() - started
            time.sleep(0.2)
        return False, time.monotonic() - started


def account(emulator, plugin):
    """Every token Vault minted is in the ledger; no task has two live."""
    issued = emulator.issued()
    rows = plugin.rows()
    by_accessor = {a: s for (_, a, s) in rows if a}
    missing = [a for a in issued if a not in by_accessor]
    live = {}
    for t in emulator.control("GET", "/_emulator/tokens")["tokens"]:
        task = (t.get("meta") or {}).get("vsp_task_id")
        if task:
            live.setdefault(task, []).append(t["accessor"])
    doubled = {k: v for k, v in live.items() if len(v) > 1}
    states = {}
    for _, _, s in rows:
        states[s] = states.get(s, 0) + 1
    return {"vault_minted": len(issued), "not_in_ledger": len(missing),
            "tasks_with_two_live": len(doubled), "ledger": states}


def run_plain(base):
    work = tempfile.mkdtemp(prefix="faults-", dir=base)
    emulator = crash_ledger.Emulator(work, True)
    plugin = crash_ledger.Plugin(work, emulator)
    plugin.env["VSP_DEADLINE"] = "%dms" % (DEADLINE_S * 1000)
    run = Run(plugin)
    try:
        plugin.start()
        ok, _ = run.recover()
        assert ok, "no value before any fault"
        for name, spec, expect in SCENARIOS:
            faults(emulator, spec)
            run.check(name, expect, lambda: faults(emulator, {}))
        for name, breaker, expect in LOGIN_SCENARIOS:
            breaker(emulator, work)
            run.check(name, expect,
                      lambda: new_plugin_token(emulator, work))
        crash_ledger.wait_settled(plugin)
        summary = account(emulator, plugin)
        plugin.stop()
        return run, summary
    finally:
        if plugin.proc and plugin.proc.poll() is None:
            plugin.kill()
        emulator.stop()


def run_tls(base):
    work = tempfile.mkdtemp(prefix="faults-tls-", dir=base)
    cert, key = make_cert(work)
    emulator = TlsEmulator(work, cert, key)
    port = int(emulator.address.rsplit(":", 1)[1])
    switch = Switch(port)
    plugin = crash_ledger.Plugin(work, emulator)
    plugin.env["VSP_DEADLINE"] = "%dms" % (DEADLINE_S * 1000)
    plugin.env["VAULT_ADDR"] = "https://127.0.0.1:%d" % switch.port
    plugin.env["VAULT_CACERT"] = cert
    run = Run(plugin)
    try:
        plugin.start()
        ok, _ = run.recover()
        assert ok, "no value over TLS before any fault"
        switch.broken = True

        def mend():
            switch.broken = False
        run.check("TLS handshake failure", "tls", mend)
        crash_ledger.wait_settled(plugin)
        summary = account(emulator, plugin)
        plugin.stop()
        return run, summary
    finally:
        if plugin.proc and plugin.proc.poll() is None:
            plugin.kill()
        emulator.stop()
        switch.listener.close()


def main():
    if len(sys.argv) > 1:
        crash_ledger.PLUGIN = sys.argv[1]
    if not os.access(crash_ledger.PLUGIN, os.X_OK):
        print("SKIP: no vsp-plugin at %s" % crash_ledger.PLUGIN)
        return 77
    base = tempfile.mkdtemp(prefix="vsp-faults-")
    failed = False
    try:
        for run, summary in (run_plain(base), run_tls(base)):
            print(json.dumps(summary, sort_keys=True))
            failed |= bool(run.failures)
            for f in run.failures:
                print("FAIL: %s: answer=%s took=%.2fs recovered=%s" % f)
            if summary["not_in_ledger"] or summary["tasks_with_two_live"]:
                print("FAIL: ledger and Vault disagree: %s" % summary)
                failed = True
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
