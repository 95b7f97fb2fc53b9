"""Reads wrapping tokens (one per line) from stdin, as tasks received them,
unwraps each through python3-hvac to learn the token inside, and searches
the ledger file, its WAL and shared-memory index for every one of them.

    VAULT_ADDR=... ledger_scan.py LEDGER_PATH < wrapping-tokens

Prints {"tokens": N, "found": [indexes of tokens found in the files]} and
exits 1 when any is found, or when a file is missing the accessors that
show it is really the ledger."""

import json
import os
import sys

import hvac


def main():
    ledger = sys.argv[1]
    held = []
    accessors = []
    for line in sys.stdin:
        wrapping = line.strip()
        if not wrapping:
            continue
        held.append(wrapping)
        # The wrapping token as the client token, as a task unwraps.
        inner = hvac.Client(url=os.environ["VAULT_ADDR"],
                            token=wrapping).sys.unwrap()
        held.append(inner["auth"]["client_token"])
        accessors.append(inner["auth"]["accessor"])
    data = b""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(ledger + suffix):
            with open(ledger + suffix, "rb") as f:
                data += f.read()
    found = [i for i, t in enumerate(held) if t.encode() in data]
    seen = [a for a in accessors if a.encode() in data]
    print(json.dumps({"tokens": len(held), "found": found,
                      "accessors_seen": len(seen)}))
    return 1 if found or len(seen) != len(accessors) else 0


if __name__ == "__main__":
    sys.exit(main())
