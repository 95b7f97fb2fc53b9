#!/usr/bin/python3
"""Vault HTTP API emulator for vsp's tests and demo. See README.md.

Run with Debian's /usr/bin/python3; standard library only."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vaultemu.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
