#!/usr/bin/python3
"""Issued tokens never show where they should not.

A real vsp-plugin (debug logging) issues wrapped tokens through the Vault
emulator, with Vault-length (91 character) token ids, some requests
repeated, some failing under faults. Then every wrapping token handed out,
the token inside it (unwrapped here) and the plugin's own login are
searched for, raw and base64-encoded, in:

  - the plugin's stdout and stderr, the emulator's log,
  - the ledger's bytes (database, WAL and journal files),
  - every Err answered,
  - /proc/<pid>/cmdline and /proc/<pid>/environ of the plugin,
  - a core image of the running plugin taken with gcore once the reuse
    window has passed (root: the plugin is not dumpable and refuses
    core dumps of itself, which is also checked),
  - and `vsp unwrap TOKEN` warns that a token on the command line shows.

The plugin's own login token is needed in its memory for as long as it
runs, so the core image is searched for issued tokens only.

Exits 0 when nothing is found, 77 (skip) without the binaries, gdb or
root.

    secrets_stay_secret.py [VSP_PLUGIN [VSP]]
"""

import base64
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import crash_ledger  # noqa: E402
from vault_faults import get_secret  # noqa: E402

TASKS = 60
REUSE_WINDOW_S = 2


class LongTokens(crash_ledger.Emulator):
    """Tokens as long as Vault's own (hvs. and 91 characters)."""

    def __init__(self, work):
        real = crash_ledger.emulator_config

        def config(work, listing):
            c = real(work, listing)
            c["token_id_length"] = 91
            return c
        crash_ledger.emulator_config = config
        try:
            super().__init__(work, True)
        finally:
            crash_ledger.emulator_config = real


def unwrap(emulator, wrapping_token):
    req = urllib.request.Request(
        emulator.address + "/v1/sys/wrapping/unwrap", method="POST",
        data=b"{}", headers={"X-Vault-Token": wrapping_token})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)["auth"]["client_token"]


TOKEN = re.compile(rb"hv[sb]\.[A-Za-z0-9]{91}")
TOKEN_B64 = re.compile(rb"aHZ[a-zA-Z0-9+/]{125}")


def tokens_in(blob):
    """Every 91-character token in `blob`, raw or base64-encoded, found
    in one pass each (a core image is hundreds of megabytes)."""
    found = {m.group(0).decode() for m in TOKEN.finditer(blob)}
    for m in TOKEN_B64.finditer(blob):
        try:
            found.add(base64.b64decode(m.group(0)[:128]).decode())
        except (ValueError, UnicodeDecodeError):
            pass
    return found


def search(blob, secrets):
    return sorted(tokens_in(blob) & set(secrets))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def issue(emulator, plugin):
    """Issues and returns (wrapping tokens, inner tokens, Errs)."""
    wrapping, errs = [], []
    for i in range(TASKS):
        answer, _ = get_secret(plugin, "task-%d" % i)
        if i % 3 == 0:  # a repeat within the window: the same value
            again, _ = get_secret(plugin, "task-%d" % i)
            assert again.get("Value") == answer.get("Value"), again
        wrapping.append(base64.b64decode(answer["Value"]).decode())
    # Failures, so their Errs and log lines are searched too.
    for spec in ({"sealed": True}, {"reset": {"after_effect": True}},
                 {"error": {"status": 500, "after_effect": True}}):
        emulator.control("POST", "/_emulator/faults", spec)
        answer, _ = get_secret(plugin, "failing-%d" % len(errs))
        errs.append(answer["Err"])
    emulator.control("POST", "/_emulator/faults", {})
    inner = [unwrap(emulator, w) for w in wrapping]
    return wrapping, inner, errs


def core_image(pid, work):
    prefix = os.path.join(work, "core")
    subprocess.run(["gcore", "-o", prefix, str(pid)], check=True,
                   capture_output=True, timeout=120)
    return read("%s.%d" % (prefix, pid))


def cli_warns(vsp, emulator):
    proc = subprocess.run(
        [vsp, "unwrap", "hvs.CAAAAnot-a-real-wrapping-token"],
        env={"PATH": "/usr/bin:/bin", "VAULT_ADDR": emulator.address,
             "VAULT_TOKEN": ""},
        capture_output=True, text=True, timeout=30)
    return "on the command line shows in ps" in proc.stderr


def main():
    plugin_bin = sys.argv[1] if len(sys.argv) > 1 else crash_ledger.PLUGIN
    vsp = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.dirname(plugin_bin)), "cli", "vsp")
    crash_ledger.PLUGIN = plugin_bin
    for need in (plugin_bin, vsp):
        if not os.access(need, os.X_OK):
            print("SKIP: no %s" % need)
            return 77
    if os.geteuid() != 0 or not shutil.which("gcore"):
        print("SKIP: needs root and gcore (gdb)")
        return 77
    work = tempfile.mkdtemp(prefix="vsp-secrets-")
    emulator = LongTokens(work)
    plugin = crash_ledger.Plugin(work, emulator)
    plugin.env["VSP_LOG_LEVEL"] = "debug"
    plugin.env["VSP_REUSE_WINDOW"] = "%ds" % REUSE_WINDOW_S
    plugin.env["VSP_DEADLINE"] = "2s"
    found = {}
    try:
        plugin.start()
        wrapping, inner, errs = issue(emulator, plugin)
        issued = wrapping + inner
        login = read(os.path.join(work, "plugin.token")).decode().strip()
        # The reuse window ends; the plugin wipes what it kept.
        time.sleep(REUSE_WINDOW_S + 2)
        pid = plugin.proc.pid
        limits = read("/proc/%d/limits" % pid).decode()
        core = core_image(pid, work)
        for name, blob, secrets in [
                ("errs", "\n".join(errs).encode(), issued + [login]),
                ("cmdline", read("/proc/%d/cmdline" % pid), issued + [login]),
                ("environ", read("/proc/%d/environ" % pid), issued + [login]),
                ("core image", core, issued)]:
            hits = search(blob, secrets)
            if hits:
                found[name] = len(hits)
        plugin.stop()
        logs = read(os.path.join(work, "plugin.log")) + read(
            os.path.join(work, "emulator.log"))
        ledger = b"".join(read(p) for p in glob.glob(plugin.ledger + "*"))
        for name, blob in (("logs", logs), ("ledger", ledger)):
            hits = search(blob, issued + [login])
            if hits:
                found[name] = len(hits)
        no_core = "Max core file size        0" in limits
        warned = cli_warns(vsp, emulator)
        report = {"wrapping_tokens": len(wrapping), "inner_tokens": len(inner),
                  "errs": len(errs), "core_bytes": len(core),
                  "log_bytes": len(logs), "ledger_bytes": len(ledger),
                  "found": found, "core_dumps_off": no_core,
                  "cli_warns": warned}
        print(json.dumps(report, sort_keys=True))
        # The core image is real (it holds the plugin's login, which the
        # plugin needs) so a search that finds nothing means something.
        assert search(core, [login]), "the core image lacks the login"
        ok = not found and no_core and warned
    finally:
        if plugin.proc and plugin.proc.poll() is None:
            plugin.kill()
        emulator.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
