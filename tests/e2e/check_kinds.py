"""Checks, with python3-hvac, the KV and database secrets Swarm tasks got.

usage: check_kinds.py VAULT_ADDR ROOT_TOKEN VALUES_DIR PLUGIN_LOG KV_VALUE
                      DB_ROLE_PATH

VALUES_DIR holds, per running task, <task>.kv and <task>.db: the content
of its KV secret file and of its database credential file. PLUGIN_LOG is
the plugin's stdout, whose "issued" lines give, per task, the lease holder
accessor and the lease ID. Every check uses hvac only, an independent
Vault client, never vsp's.
"""

import os
import re
import sys

import hvac


def fail(message):
    print(f"check_kinds: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def dynamic_issues(plugin_log):
    """task ID -> (accessor, lease) from the plugin's dynamic lines."""
    out = {}
    for line in open(plugin_log):
        m = re.search(r" issued task=(\S+) .* kind=dynamic accessor=(\S+) "
                      r"lease=(\S+) ", line)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
    return out


def main():
    address, root, values_dir, plugin_log, kv_value, db_path = sys.argv[1:7]
    client = hvac.Client(url=address, token=root)
    issued = dynamic_issues(plugin_log)
    tasks = sorted({name.rsplit(".", 1)[0] for name in os.listdir(values_dir)})
    if len(tasks) < 2:
        fail(f"expected at least 2 tasks, got {tasks}")

    creds = {}
    for task in tasks:
        with open(os.path.join(values_dir, task + ".kv")) as f:
            kv = f.read()
        if kv != kv_value:
            fail(f"{task}: KV secret is {kv!r}, not {kv_value!r}")
        with open(os.path.join(values_dir, task + ".db")) as f:
            creds[task] = f.read()
        user, sep, password = creds[task].partition(":")
        if not sep or not user.startswith("v-") or len(password) < 8:
            fail(f"{task}: database credential is not user:password")

        if task not in issued:
            fail(f"{task}: the plugin logged no dynamic issuance")
        accessor, lease_id = issued[task]
        if not lease_id.startswith(db_path + "/"):
            fail(f"{task}: lease {lease_id!r} is not under {db_path}")
        lease = client.sys.read_lease(lease_id)["data"]
        if lease["id"] != lease_id or lease["ttl"] <= 0:
            fail(f"{task}: lease {lease_id} is not live: {lease}")
        holder = client.auth.token.lookup_accessor(accessor)["data"]
        meta = holder.get("meta") or {}
        if meta.get("vsp_task_id") != task or not holder["orphan"]:
            fail(f"{task}: the lease holder {accessor} is not an orphan "
                 f"tagged with the task: {meta}")
        if holder["ttl"] < lease["ttl"]:
            fail(f"{task}: the holder ({holder['ttl']}s) would end before "
                 f"the lease ({lease['ttl']}s)")
        print(f"task {task}: KV value as stored; credentials {user}, lease "
              f"{lease_id} ({lease['ttl']}s) held by orphan {accessor}")

    if len(set(creds.values())) != len(creds):
        fail("tasks share database credentials; each must get its own")


if __name__ == "__main__":
    main()
