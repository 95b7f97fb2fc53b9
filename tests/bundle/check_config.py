#!/usr/bin/python3
"""Checks plugin/bundle/config.json against what vsp-plugin reads.

  check_config.py SOURCE_DIR

Every environment variable the plugin's code reads (a quoted VSP_*,
VAULT_* or DOCKER_* name in core/ or plugin/) must be declared in
config.json, settable and described, except the credentials Docker would
show in `docker plugin inspect` (VAULT_TOKEN), which must not be declared
at all; nothing may be declared that the code does not read. The
interface, network, capabilities and mounts must be what Docker and the
operator guide (vsp-plugin(8)) expect. Exit status 1 lists every problem.
"""

import json
import os
import re
import sys

# Read by core/ for the CLI only; the plugin refuses to start with it.
CREDENTIALS = {"VAULT_TOKEN"}
# Fixed by config.json: Docker dials interface.socket.
FIXED = {"VSP_SOCKET"}
MOUNTS = {
    "credentials": "/etc/vsp/credentials",
    "rules": "/etc/vsp/rules.yaml",
    "ledger": "/var/lib/vsp",
    "docker-socket": "/var/run/docker.sock",
}
NAME = re.compile(r'"((?:VSP|VAULT|DOCKER)_[A-Z0-9_]+)"')


def names_read(source_dir):
    """Environment variable names quoted in the plugin's C++ sources."""
    found = {}
    for top in ("core", "plugin"):
        for root, _, files in os.walk(os.path.join(source_dir, top)):
            for f in files:
                if not f.endswith((".cpp", ".hpp")):
                    continue
                path = os.path.join(root, f)
                with open(path, encoding="utf-8") as src:
                    for name in NAME.findall(src.read()):
                        found.setdefault(
                            name, os.path.relpath(path, source_dir))
    return found


def check(config, read):
    problems = []

    def expect(cond, message):
        if not cond:
            problems.append(message)

    expect(config.get("interface", {}).get("types")
           == ["docker.secretprovider/1.0"],
           "interface.types must be [\"docker.secretprovider/1.0\"]")
    socket = config.get("interface", {}).get("socket", "")
    expect(socket == "vsp.sock", "interface.socket must be vsp.sock")
    expect(config.get("network", {}).get("type") == "host",
           "network.type must be host (the only way to reach Vault)")
    expect(not config.get("linux", {}).get("capabilities"),
           "no capabilities: a secret provider needs none")
    for key in ("ipchost", "pidhost", "propagatedMount"):
        expect(not config.get(key), "%s must not be set" % key)
    expect(not config.get("linux", {}).get("allowAllDevices"),
           "allowAllDevices must not be set")
    expect(config.get("entrypoint") == ["/usr/bin/vsp-plugin"],
           "entrypoint must be [\"/usr/bin/vsp-plugin\"]")

    env = {e["name"]: e for e in config.get("env", [])}
    for name, where in sorted(read.items()):
        if name in CREDENTIALS:
            expect(name not in env,
                   "%s is a credential: it must not be declared "
                   "(`docker plugin inspect` shows env)" % name)
        else:
            expect(name in env, "%s is read by %s but not declared in "
                   "config.json env" % (name, where))
    for name, e in sorted(env.items()):
        expect(name in read, "%s is declared but the plugin never reads it"
               % name)
        expect(bool(e.get("description")), "%s has no description" % name)
        if name in FIXED:
            expect(not e.get("settable"), "%s must not be settable" % name)
        else:
            expect(e.get("settable") == ["value"],
                   "%s must be settable [\"value\"]" % name)
        value = e.get("value") or ""
        expect(not re.search(r"\b(hvs|hvb|s)\.[A-Za-z0-9]{8,}", value),
               "%s has a token-shaped default" % name)
    expect(env.get("VSP_SOCKET", {}).get("value")
           == "/run/docker/plugins/" + socket,
           "VSP_SOCKET must be /run/docker/plugins/<interface.socket>")

    mounts = {m["name"]: m for m in config.get("mounts", [])}
    expect(set(mounts) == set(MOUNTS),
           "mounts must be exactly %s" % sorted(MOUNTS))
    for name, m in sorted(mounts.items()):
        expect(m.get("destination") == MOUNTS.get(name),
               "mount %s must land at %s" % (name, MOUNTS.get(name)))
        expect(m.get("settable") == ["source"],
               "mount %s must be settable [\"source\"]" % name)
        expect(m.get("type") == "bind" and "rbind" in m.get("options", []),
               "mount %s must be a bind mount" % name)
        expect(bool(m.get("description")), "mount %s has no description"
               % name)
    for name in ("credentials", "rules"):
        expect("ro" in mounts.get(name, {}).get("options", []),
               "mount %s must be read-only" % name)
    expect(env.get("VSP_RULES", {}).get("value") == MOUNTS["rules"],
           "VSP_RULES must name the rules mount")
    ledger = env.get("VSP_LEDGER", {}).get("value", "")
    expect(ledger.startswith(MOUNTS["ledger"] + "/"),
           "VSP_LEDGER must be a file in the ledger mount")
    # The Engine API client looks at the docker-socket mount's destination
    # unless told otherwise: an empty default keeps it there.
    for name in ("VSP_DOCKER_SOCKET", "DOCKER_HOST"):
        expect(env.get(name, {}).get("value", "x") == "",
               "%s must default to empty (the docker-socket mount)" % name)
    token_file = env.get("VSP_TOKEN_FILE", {}).get("value", "")
    expect(token_file.startswith(MOUNTS["credentials"] + "/"),
           "VSP_TOKEN_FILE must be in the credentials mount")
    return problems


def load(source_dir):
    """plugin/bundle/config.json, its version placeholder filled in."""
    path = os.path.join(source_dir, "plugin", "bundle", "config.json")
    with open(path, encoding="utf-8") as f:
        return json.loads(f.read().replace("@VSP_VERSION@", "0"))


def main():
    source_dir = sys.argv[1]
    config = load(source_dir)
    problems = check(config, names_read(source_dir))
    # The mount lands where the Engine API client looks by default.
    with open(os.path.join(source_dir, "core", "docker",
                           "engine_client.cpp"), encoding="utf-8") as f:
        found = re.search(r'k_default_socket = "([^"]+)"', f.read())
    if not found or found.group(1) != MOUNTS["docker-socket"]:
        problems.append("the docker-socket mount must land at the Engine "
                        "API client's default socket (%s)"
                        % (found.group(1) if found else "not found"))
    for p in problems:
        print("config.json: " + p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("config.json: %d settings, %d mounts, all consistent"
          % (len(config["env"]), len(config["mounts"])))


if __name__ == "__main__":
    main()
