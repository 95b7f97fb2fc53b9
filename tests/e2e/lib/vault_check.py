"""Asks Vault (the emulator, or any Vault) through python3-hvac, an
independent client, whether token accessors are live.

    vault_check.py ADDR ROOT_TOKEN_FILE ACCESSOR...

Prints one JSON object: {"<accessor>": "live" | "gone", ...}; for a live
one also its metadata under "meta"."""

import json
import sys

import hvac
import hvac.exceptions


def main():
    addr, token_file, accessors = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(token_file) as f:
        client = hvac.Client(url=addr, token=f.read().strip())
    out = {"meta": {}}
    for accessor in accessors:
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
