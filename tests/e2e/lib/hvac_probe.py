#!/usr/bin/python3
"""Checks, with python3-hvac (a client independent of vsp), what a task got.

  hvac_probe.py unwrap --addr URL [--ca PEM] < wrapping-token
      Looks the wrapping token up, unwraps it, looks the new token up with
      itself, and prints JSON: creation_path, accessor, policies, meta,
      ttl, orphan, renewable. Never prints a token.
  hvac_probe.py lookup-accessor --addr URL [--ca PEM] --root-token T ACC
      Prints the token's state by accessor ({"live": false} when gone).
  hvac_probe.py audit --addr URL [--ca PEM] --root-token T [--path P]
      Prints the emulator's audit entries (optionally only paths
      starting with P), one JSON object a line.

Exit status 1 with a message on stderr when Vault refuses.
"""

import argparse
import json
import ssl
import sys
import urllib.request

import hvac


def client(args, token=None):
    verify = args.ca if args.ca else True
    return hvac.Client(url=args.addr, token=token, verify=verify)


def cmd_unwrap(args):
    wrapping = sys.stdin.read().strip()
    if not wrapping:
        sys.exit("hvac_probe: no wrapping token on stdin")
    # hvac 0.11 has no helper for sys/wrapping/lookup.
    info = client(args).adapter.post(
        "/v1/sys/wrapping/lookup", json={"token": wrapping})["data"]
    unwrapped = client(args, token=wrapping).sys.unwrap()
    token = unwrapped["auth"]["client_token"]
    me = client(args, token=token).auth.token.lookup_self()["data"]
    print(json.dumps({
        "creation_path": info["creation_path"],
        "accessor": me["accessor"],
        "policies": sorted(me["policies"]),
        "meta": me.get("meta") or {},
        "ttl": me["ttl"],
        "orphan": me["orphan"],
        "renewable": me["renewable"],
    }, sort_keys=True))


def cmd_lookup_accessor(args):
    vault = client(args, token=args.root_token)
    try:
        data = vault.auth.token.lookup_accessor(args.accessor)["data"]
    except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden):
        print(json.dumps({"live": False}))
        return
    print(json.dumps({"live": True, "ttl": data["ttl"],
                      "policies": sorted(data["policies"]),
                      "meta": data.get("meta") or {}}, sort_keys=True))


def cmd_audit(args):
    context = None
    if args.addr.startswith("https://"):
        context = ssl.create_default_context(cafile=args.ca)
    request = urllib.request.Request(
        args.addr + "/_emulator/audit",
        headers={"X-Vault-Token": args.root_token})
    with urllib.request.urlopen(request, context=context, timeout=10) as r:
        entries = json.load(r)["entries"]
    for entry in entries:
        if args.path and not entry["path"].startswith(args.path):
            continue
        print(json.dumps(entry, sort_keys=True))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("unwrap", "lookup-accessor", "audit"):
        p = sub.add_parser(name)
        p.add_argument("--addr", required=True)
        p.add_argument("--ca")
        if name != "unwrap":
            p.add_argument("--root-token", required=True)
        if name == "lookup-accessor":
            p.add_argument("accessor")
        if name == "audit":
            p.add_argument("--path")
    args = parser.parse_args()
    try:
        {"unwrap": cmd_unwrap, "lookup-accessor": cmd_lookup_accessor,
         "audit": cmd_audit}[args.command](args)
    except hvac.exceptions.VaultError as e:
        sys.exit("hvac_probe: %s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
