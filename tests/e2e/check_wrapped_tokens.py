"""Checks, with python3-hvac, the wrapped tokens Swarm tasks received.

usage: check_wrapped_tokens.py VAULT_ADDR VALUES_DIR TASKS_FILE PLUGIN_LOG
                               ROLE POLICIES

VALUES_DIR holds one file per running task, named by its task ID, with the
content of its /run/secrets file. TASKS_FILE lists the service's task IDs
(`docker service ps`). PLUGIN_LOG is the plugin's stdout, whose "issued"
lines give the wrapped_accessor Vault returned with each wrapping token.
POLICIES is the comma-separated exact policy set.
Every check uses hvac only, an independent Vault client, never vsp's.
"""

import os
import re
import sys

import hvac
import hvac.exceptions


def fail(message):
    print(f"check_wrapped_tokens: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def wrapped_accessors(plugin_log):
    """task ID -> the accessor the plugin logged for its wrapped token."""
    out = {}
    for line in open(plugin_log):
        m = re.search(r" issued task=(\S+) .* accessor=(\S+) ", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def main():
    address, values_dir, tasks_file, plugin_log, role, policies = \
        sys.argv[1:7]
    logged = wrapped_accessors(plugin_log)
    want_policies = sorted(policies.split(","))
    service_tasks = set(open(tasks_file).read().split())
    values = {}
    for task in sorted(os.listdir(values_dir)):
        with open(os.path.join(values_dir, task)) as f:
            values[task] = f.read()
    if len(set(values.values())) != len(values):
        fail("tasks share a value; each must get its own token")

    for task, wrapping in values.items():
        client = hvac.Client(url=address)
        # hvac 0.11 has no helper for sys/wrapping/lookup; its adapter
        # still makes the call. It does not consume the token.
        info = client.adapter.post("/v1/sys/wrapping/lookup",
                                   json={"token": wrapping})["data"]
        if info["creation_path"] != f"auth/token/create/{role}":
            fail(f"{task}: creation_path {info['creation_path']!r}")

        # Unwrap as the task would: the wrapping token is the client token.
        client.token = wrapping
        inner = client.sys.unwrap()
        auth = inner["auth"]
        if sorted(auth["policies"]) != want_policies:
            fail(f"{task}: policies {auth['policies']} != {want_policies}")
        if logged.get(task) != auth["accessor"]:
            fail(f"{task}: wrapped_accessor {logged.get(task)!r} is not the "
                 f"inner token's accessor {auth['accessor']!r}")
        if not auth["orphan"]:
            fail(f"{task}: the token is not an orphan")
        meta = auth["metadata"] or {}
        if meta.get("vsp_task_id") != task:
            fail(f"{task}: metadata names task {meta.get('vsp_task_id')!r}")
        if meta["vsp_task_id"] not in service_tasks:
            fail(f"{task}: task not listed by docker service ps")
        for key in ("vsp_task_name", "vsp_service_id", "vsp_service_name",
                    "vsp_node_id", "vsp_secret", "vsp_rule",
                    "vsp_issuance_id"):
            if not meta.get(key):
                fail(f"{task}: metadata lacks {key}")

        # The inner token works and is the one wrap_info named.
        token_client = hvac.Client(url=address, token=auth["client_token"])
        me = token_client.auth.token.lookup_self()["data"]
        if me["accessor"] != auth["accessor"]:
            fail(f"{task}: lookup-self shows another accessor")
        if me["path"] != f"auth/token/create/{role}":
            fail(f"{task}: token path {me['path']!r}")

        # A wrapping token opens once.
        try:
            hvac.Client(url=address, token=wrapping).sys.unwrap()
            fail(f"{task}: the wrapping token opened twice")
        except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden):
            pass
        print(f"task {task}: policies {','.join(want_policies)}, "
              f"orphan, accessor {auth['accessor']} (= wrapped_accessor), "
              "unwrapped once")


if __name__ == "__main__":
    main()
