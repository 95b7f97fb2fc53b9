"""Asks Vault (the emulator, or any Vault) through python3-hvac, an
independent client, whether token accessors are live.

    VAULT_ADDR=... VAULT_TOKEN=... vault_check.py ACCESSOR...

Prints one JSON object: {"<accessor>": "live" | "gone", ...}; for a live
one also its metadata under "meta"."""

import json
import os
import sys

import hvac
import hvac.exceptions


def main():
    client = hvac.Client(url=os.environ["VAULT_ADDR"],
                         token=os.environ["VAULT_TOKEN"])
    out = {"meta": {}}
    for accessor in sys.argv[1:]:
        try:
            info = client.auth.token.lookup_accessor(accessor)
        except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden):
            out[accessor] = "gone"
            continue
        out[accessor] = "live"
        out["meta"][accessor] = info["data"].get("meta") or {}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
