#!/usr/bin/python3
"""Load: 1,000 concurrent GetSecret requests over the plugin's socket.

A real vsp-plugin and the Vault emulator, both on this machine (a Unix
socket and loopback only). Each run opens 1,000 connections at once, each
asking for a new task's wrapped token, so every request mints in Vault and
writes the ledger. Four identical runs; each must have no failure and no
answer past the deadline, and the plugin's resident memory, measured once
the plugin is idle again, may not grow from one run to the next after the
first (which warms pools and caches) by more than 1 MiB beyond what
SQLite's page cache took (vsp_ledger_memory_bytes: the cache fills up to
its cap of about 2 MB over the first few thousand rows, then stays put).

Prints one JSON line per run (served, failures, slowest, percentiles, RSS
busy and once idle again) and exits 0 when every check holds, 77 (skip)
without a vsp-plugin binary.

    load_getsecret.py [VSP_PLUGIN] [--requests 1000] [--runs 4]
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import shutil
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import crash_ledger  # noqa: E402

DEADLINE_S = 5.0
# The plugin enforces its deadline from the moment it reads a request, and
# a request it cannot finish in time gets an Err, counted as a failure.
# The client's clock also runs while its connection waits to be accepted
# and while this one Python process schedules 1,000 connections, so an
# answer counts as late only past a generous margin on top.
LATE_S = 2 * DEADLINE_S
RSS_GROWTH_LIMIT_KIB = 1024
LEDGER_MEMORY_LIMIT_KIB = 4096
REUSE_WINDOW_S = 1


async def one(path, task):
    """(answer, seconds) of one GetSecret on its own connection."""
    started = time.monotonic()
    reader, writer = await asyncio.open_unix_connection(path)
    body = json.dumps({"SecretName": "app-db", "ServiceName": "web",
                       "ServiceID": "svc", "TaskID": task,
                       "TaskName": "web.1." + task,
                       "NodeID": "node"}).encode()
    writer.write(b"POST /SecretProvider.GetSecret HTTP/1.1\r\nHost: plugin\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    answer = json.loads(await reader.readexactly(length))
    writer.close()
    await writer.wait_closed()
    return answer, time.monotonic() - started


async def run(path, prefix, n):
    tasks = [one(path, "%s-%d" % (prefix, i)) for i in range(n)]
    started = time.monotonic()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    wall = time.monotonic() - started
    failures = [r for r in results
                if isinstance(r, BaseException) or "Value" not in r[0]]
    times = sorted(r[1] for r in results if not isinstance(r, BaseException))
    return {"requests": n, "served": n - len(failures),
            "failures": len(failures),
            "first_failure": str(failures[0])[:200] if failures else None,
            "past_deadline": sum(t > LATE_S for t in times),
            "p50_ms": int(times[len(times) // 2] * 1000) if times else None,
            "p99_ms": int(times[int(len(times) * 0.99)] * 1000)
            if times else None,
            "max_ms": int(times[-1] * 1000) if times else None,
            "wall_s": round(wall, 2)}


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def ledger_memory_kib(socket_path):
    """vsp_ledger_memory_bytes from the plugin's /metrics, in KiB."""
    async def scrape():
        reader, writer = await asyncio.open_unix_connection(socket_path)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: plugin\r\n"
                     b"Connection: close\r\n\r\n")
        await writer.drain()
        text = (await reader.read()).decode()
        writer.close()
        return text
    for line in asyncio.run(scrape()).splitlines():
        if line.startswith("vsp_ledger_memory_bytes "):
            return int(float(line.split()[1])) // 1024
    raise RuntimeError("no vsp_ledger_memory_bytes in /metrics")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("plugin", nargs="?", default=crash_ledger.PLUGIN)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    crash_ledger.PLUGIN = args.plugin
    if not os.access(args.plugin, os.X_OK):
        print("SKIP: no vsp-plugin at %s" % args.plugin)
        return 77
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="vsp-load-")
    emulator = crash_ledger.Emulator(work, True)
    plugin = crash_ledger.Plugin(work, emulator)
    plugin.env["VSP_DEADLINE"] = "%ds" % DEADLINE_S
    plugin.env["VSP_LOG_LEVEL"] = "warn"
    # Values are kept for the reuse window; a short one, waited out
    # between runs, leaves each run the same state to start from.
    plugin.env["VSP_REUSE_WINDOW"] = "%ds" % REUSE_WINDOW_S
    reports = []
    try:
        plugin.start()
        for i in range(args.runs):
            report = asyncio.run(run(plugin.socket, "run%d" % i,
                                     args.requests))
            report["rss_kib_busy"] = rss_kib(plugin.proc.pid)
            # Idle again: the values' window is over and the plugin has
            # had a second to give freed memory back.
            time.sleep(REUSE_WINDOW_S + 1.5)
            report["rss_kib"] = rss_kib(plugin.proc.pid)
            report["ledger_kib"] = ledger_memory_kib(plugin.socket)
            reports.append(report)
            print(json.dumps(report, sort_keys=True), flush=True)
        rows = len(plugin.rows())
        plugin.stop()
    finally:
        if plugin.proc and plugin.proc.poll() is None:
            plugin.kill()
        emulator.stop()
        shutil.rmtree(work, ignore_errors=True)
    total = sum(r["requests"] for r in reports)
    ok = all(r["failures"] == 0 and r["past_deadline"] == 0
             for r in reports)
    growth = max(((b["rss_kib"] - a["rss_kib"])
                  - (b["ledger_kib"] - a["ledger_kib"])
                  for a, b in zip(reports[1:], reports[2:])), default=0)
    ledger_kib = max(r["ledger_kib"] for r in reports)
    ok = (ok and growth <= RSS_GROWTH_LIMIT_KIB
          and ledger_kib <= LEDGER_MEMORY_LIMIT_KIB and rows == total)
    print("load: %d requests, %d failures, %d ledger rows; idle RSS %s KiB, "
          "of which SQLite %s KiB; largest growth after the first run, "
          "SQLite's cache aside: %d KiB" % (
              total, sum(r["failures"] for r in reports), rows,
              " ".join(str(r["rss_kib"]) for r in reports),
              " ".join(str(r["ledger_kib"]) for r in reports), growth))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
