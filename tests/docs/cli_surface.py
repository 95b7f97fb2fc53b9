#!/usr/bin/python3
"""What `vsp --help` says the CLI is: every command path, its subcommands,
options and positionals, read from the help text of each (sub)command.

  cli_surface.py VSP_BIN        prints it as JSON

The completion and man page tests compare their own sources with this,
so a subcommand or flag added to the CLI fails them until it is covered.
"""

import json
import re
import subprocess
import sys

SECTION = re.compile(r"^(\w[\w ]*):$")
ITEM = re.compile(r"^  (\S+)(.*)$")


def help_text(vsp, path):
    return subprocess.run([vsp] + path + ["--help"], check=True,
                          capture_output=True, text=True, timeout=30).stdout


def parse(text):
    """{"subcommands": {name: description}, "options": {--name: [...]},
    "positionals": [names]} from CLI11's help layout."""
    command = {"subcommands": {}, "options": {}, "positionals": []}
    section = None
    for line in text.splitlines():
        m = SECTION.match(line)
        if m:
            section = m.group(1)
            continue
        m = ITEM.match(line)
        if not m or section is None:
            continue
        first, rest = m.group(1), m.group(2).strip()
        if section == "Subcommands":
            command["subcommands"][first] = rest
        elif section == "Positionals":
            command["positionals"].append(first)
        elif first.startswith("-"):  # "Options" or a named option group
            names = first.split(",")
            longs = [n for n in names if n.startswith("--")]
            key = longs[0] if longs else names[0]
            command["options"][key] = names
    return command


def surface(vsp):
    """{"": root, "simulate": ..., "rules check": ...}"""
    out = {}
    todo = [[]]
    while todo:
        path = todo.pop(0)
        command = parse(help_text(vsp, path))
        out[" ".join(path)] = command
        todo.extend(path + [sub] for sub in command["subcommands"])
    return out


if __name__ == "__main__":
    print(json.dumps(surface(sys.argv[1]), indent=2, sort_keys=True))
