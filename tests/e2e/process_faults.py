#!/usr/bin/python3
"""Process faults of a real vsp-plugin against the Vault emulator:

  sigterm     requests in flight when SIGTERM arrives get their value, new
              ones are refused, the socket file is removed, exit status 0;
  stale       a socket file left by a killed plugin is replaced, the new
              socket is mode 0660 and owned by VSP_SOCKET_GROUP;
  disk-full   the ledger's file system fills up: GetSecret answers an Err
              naming the ledger, Vault's token is revoked, not handed out,
              and `vsp status` names the failing ledger (exit 2); once
              space is back, requests succeed again and the flag clears;
  read-only   the ledger's file system is read-only from the start: the
              plugin refuses to start and names the ledger.

The two disk scenarios need root: the script runs itself again in a mount
namespace of its own (unshare(1)) with a 2 MiB tmpfs, so no file system of
the machine is touched. Exits 0 when every check holds, 77 (skip) without
a vsp-plugin binary or without root for the disk scenarios.

    process_faults.py [VSP_PLUGIN]
"""

import grp
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import crash_ledger  # noqa: E402  (shares its Emulator and Plugin)
from vault_faults import get_secret  # noqa: E402

INSIDE = "VSP_PROCESS_FAULTS_NAMESPACE"


class Failed(Exception):
    pass


def expect(cond, what, detail=""):
    if not cond:
        raise Failed("%s %s" % (what, detail))


def started(work, env=None):
    emulator = crash_ledger.Emulator(work, True)
    plugin = crash_ledger.Plugin(work, emulator)
    plugin.env["VSP_DEADLINE"] = "3s"
    plugin.env.update(env or {})
    return emulator, plugin


def stop_all(emulator, plugin):
    if plugin.proc and plugin.proc.poll() is None:
        plugin.kill()
    emulator.stop()


def sigterm(base):
    work = tempfile.mkdtemp(prefix="sigterm-", dir=base)
    emulator, plugin = started(work)
    try:
        plugin.start()
        # Every Vault call takes 800 ms, so requests are still in flight
        # when the signal arrives.
        emulator.control("POST", "/_emulator/faults", {"latency_ms": 800})
        in_flight = [plugin.send("inflight-%d" % i) for i in range(5)]
        time.sleep(0.3)
        plugin.proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        try:
            late, _ = get_secret(plugin, "late")
            refused = "Err" in late and "Value" not in late
        except OSError:
            refused = True  # the socket is closed or gone: also refused
        values = 0
        for s in in_flight:
            s.settimeout(10)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"}\n") or data.endswith(b"}"):
                    break
            s.close()
            body = json.loads(data.partition(b"\r\n\r\n")[2])
            values += "Value" in body
        status = plugin.proc.wait(timeout=15)
        report = {"in_flight": len(in_flight), "values": values,
                  "late_refused": refused, "exit": status,
                  "socket_left": os.path.exists(plugin.socket)}
        expect(values == len(in_flight), "in-flight requests lost", report)
        expect(refused, "a request after SIGTERM was served", report)
        expect(status == 0 and not report["socket_left"],
               "unclean stop", report)
        return report
    finally:
        stop_all(emulator, plugin)


def stale(base):
    work = tempfile.mkdtemp(prefix="stale-", dir=base)
    group = grp.getgrnam("nogroup") if "nogroup" in [
        g.gr_name for g in grp.getgrall()] else grp.getgrgid(os.getgid())
    emulator, plugin = started(work, {"VSP_SOCKET_GROUP": group.gr_name})
    try:
        # A socket file nobody listens on, as a SIGKILLed plugin leaves.
        plugin.start()
        plugin.kill()
        expect(os.path.exists(plugin.socket), "no leftover socket")
        plugin.start()
        answer, _ = get_secret(plugin, "after-stale")
        st = os.stat(plugin.socket)
        report = {"mode": oct(stat.S_IMODE(st.st_mode)),
                  "group": grp.getgrgid(st.st_gid).gr_name,
                  "served": "Value" in answer}
        expect(report["served"], "not served after a stale socket", report)
        expect(report["mode"] == "0o660", "socket mode", report)
        expect(st.st_gid == group.gr_gid, "socket group", report)
        plugin.stop()
        return report
    finally:
        stop_all(emulator, plugin)


def fill(path):
    """Writes zeros to `path` until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def vsp_status(plugin):
    """What `vsp status --format json` says of the ledger, and its exit."""
    cli = os.path.join(os.path.dirname(os.path.dirname(crash_ledger.PLUGIN)),
                       "cli", "vsp")
    proc = subprocess.run([cli, "status", "--format", "json",
                           "--socket", plugin.socket],
                          capture_output=True, text=True, timeout=30)
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    human = subprocess.run([cli, "status", "--socket", plugin.socket],
                           capture_output=True, text=True, timeout=30)
    return {"exit": proc.returncode, "stderr": proc.stderr.strip(),
            "ledger": report.get("ledger", {}), "human": human.stdout}


def disk_full(base):
    work = tempfile.mkdtemp(prefix="full-", dir=base)
    disk = os.path.join(work, "disk")
    os.mkdir(disk)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk],
                   check=True)
    emulator, plugin = started(work, {"VSP_LEDGER":
                                      os.path.join(disk, "ledger.db")})
    plugin.ledger = os.path.join(disk, "ledger.db")
    try:
        plugin.start()
        first, _ = get_secret(plugin, "before-full")
        expect("Value" in first, "no value before the disk fills", first)
        fill(os.path.join(disk, "filler"))
        errs = []
        for i in range(5):
            answer, took = get_secret(plugin, "full-%d" % i)
            expect("Value" not in answer, "a value the ledger cannot hold")
            errs.append(answer.get("Err", ""))
            expect("ledger" in errs[-1], "Err does not name the ledger",
                   errs[-1])
            expect(took < 3.5, "past the deadline", took)
        full_status = vsp_status(plugin)
        expect(full_status["exit"] == 2, "vsp status exit while full",
               full_status)
        expect("disk full" in full_status["ledger"].get("write_error", ""),
               "vsp status does not show the failing ledger", full_status)
        expect("writes FAILING since " in full_status["human"] and
               "the ledger cannot be written" in full_status["stderr"],
               "vsp status says nothing of the ledger to a person",
               full_status)
        os.unlink(os.path.join(disk, "filler"))
        after, _ = get_secret(plugin, "after-full")
        expect("Value" in after, "no value once space is back", after)
        after_status = vsp_status(plugin)
        expect("write_error" not in after_status["ledger"],
               "vsp status still shows a failing ledger", after_status)
        # Tokens minted while full were revoked: none of those tasks
        # holds a live one.
        live = [t for t in emulator.control("GET", "/_emulator/tokens")
                ["tokens"] if (t.get("meta") or {}).get(
                    "vsp_task_id", "").startswith("full-")]
        report = {"requests_while_full": len(errs), "err": errs[0],
                  "status_while_full": full_status["ledger"]["write_error"],
                  "live_tokens_of_refused": len(live)}
        expect(not live, "a refused task holds a live token", report)
        plugin.stop()
        return report
    finally:
        stop_all(emulator, plugin)
        subprocess.run(["umount", "-l", disk], check=False)


def read_only(base):
    work = tempfile.mkdtemp(prefix="ro-", dir=base)
    disk = os.path.join(work, "disk")
    os.mkdir(disk)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk],
                   check=True)
    ledger = os.path.join(disk, "ledger.db")
    emulator, plugin = started(work, {"VSP_LEDGER": ledger})
    try:
        # A ledger made by an earlier run, then the disk turns read-only.
        plugin.start()
        plugin.stop()
        subprocess.run(["mount", "-o", "remount,ro", disk], check=True)
        proc = subprocess.run([crash_ledger.PLUGIN], env=plugin.env,
                              capture_output=True, text=True, timeout=30)
        out = proc.stdout + proc.stderr
        report = {"exit": proc.returncode, "message": out.strip()[-200:]}
        expect(proc.returncode != 0, "started on a read-only ledger", report)
        expect("ledger" in out, "exit message does not name the ledger",
               report)
        return report
    finally:
        stop_all(emulator, plugin)
        subprocess.run(["umount", "-l", disk], check=False)


def main():
    if len(sys.argv) > 1:
        crash_ledger.PLUGIN = sys.argv[1]
    if not os.access(crash_ledger.PLUGIN, os.X_OK):
        print("SKIP: no vsp-plugin at %s" % crash_ledger.PLUGIN)
        return 77
    if os.geteuid() != 0:
        print("SKIP: the disk scenarios need root (a mount namespace)")
        return 77
    if not os.environ.get(INSIDE):
        # Again, in a private mount namespace: the tmpfs mounts stay in it.
        env = dict(os.environ, **{INSIDE: "1"})
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private",
             sys.executable, os.path.abspath(__file__),
             crash_ledger.PLUGIN], env=env).returncode
    base = tempfile.mkdtemp(prefix="vsp-procfaults-")
    failed = False
    try:
        for scenario in (sigterm, stale, disk_full, read_only):
            try:
                print("%-10s %s" % (scenario.__name__,
                                    json.dumps(scenario(base))), flush=True)
            except Failed as e:
                print("FAIL: %s: %s" % (scenario.__name__, e), flush=True)
                failed = True
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
