"""Test support: start an emulator on a free port, talk to it, stop it by
PID. Shared by the test_*.py suites (not part of the emulator)."""

import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "vault_emulator.py")
PYTHON = "/usr/bin/python3"

BASE_CONFIG = {
    "policies": {
        "app-read": {"path": {"secret/data/app/*": {"capabilities": ["read"]},
                              "kv1/*": {"capabilities": ["read", "list"]}}},
        "app-write": {"path": {"secret/data/app/*": {
            "capabilities": ["create", "update", "read"]}}},
        "db-read": {"path": {"database/creds/*": {"capabilities": ["read"]}}},
        "vsp-plugin": {"path": {
            "auth/token/create/vsp-task": {"capabilities": ["update"]},
            "database/creds/*": {"capabilities": ["read"]},
            "sys/wrapping/*": {"capabilities": ["update"],
                               "min_wrapping_ttl": "1s",
                               "max_wrapping_ttl": "1h"}}},
        "wrapped-only": {"path": {"secret/data/wrapped/*": {
            "capabilities": ["read"], "min_wrapping_ttl": "10s",
            "max_wrapping_ttl": "1h"}}},
        "sudo-create": {"path": {"auth/token/create*": {
            "capabilities": ["update", "sudo"]}}},
        "plain-create": {"path": {"auth/token/create*": {
            "capabilities": ["update"]}}},
    },
    "token_roles": {
        "vsp-task": {"allowed_policies": ["app-read", "app-write", "db-read"],
                     "orphan": True, "renewable": True,
                     "token_explicit_max_ttl": 0, "token_period": 0,
                     "disallowed_policies": []},
        "fixed": {"renewable": False, "orphan": True},
        "periodic": {"token_period": "1h", "orphan": False},
        "glob": {"allowed_policies_glob": ["team-*"],
                 "disallowed_policies": ["team-secret"]},
    },
    "mounts": {
        "secret/": {"type": "kv", "options": {"version": "2"}},
        "kv1/": {"type": "kv", "options": {"version": "1"}},
        "database/": {"type": "database", "roles": {
            "readonly": {"default_ttl": "1h", "max_ttl": "24h"}}},
        "pki/": {"type": "pki", "roles": {"web": {
            "allowed_domains": ["example.test"], "allow_subdomains": True,
            "max_ttl": "72h", "generate_lease": True}}},
    },
    "kv": {"secret/app/db": {"password": "s3cr3t-db"},
           "secret/wrapped/x": {"w": "1"},
           "kv1/legacy": {"user": "legacy-user"}},
    "approle": {"roles": {"vsp-plugin": {
        "role_id": "fixed-role-id", "token_policies": ["vsp-plugin"],
        "token_ttl": "1h", "token_max_ttl": "4h", "secret_id_ttl": "0",
        "secret_id_num_uses": 0}}},
}


class Emulator:
    """A running emulator process. Use as a context manager or call
    start()/stop()."""

    def __init__(self, config=None, extra_args=(), root_token=None):
        self.config = BASE_CONFIG if config is None else config
        self.extra_args = list(extra_args)
        self.root_token_arg = root_token
        self.dir = None
        self.proc = None

    def start(self, timeout=10):
        self.dir = tempfile.mkdtemp(prefix="vault-emu-test-")
        cfg = os.path.join(self.dir, "config.json")
        with open(cfg, "w") as f:
            json.dump(self.config, f)
        self.ready_file = os.path.join(self.dir, "ready.json")
        self.audit_file = os.path.join(self.dir, "audit.jsonl")
        args = [PYTHON, EMULATOR, "--listen", "127.0.0.1:0", "--config", cfg,
                "--ready-file", self.ready_file, "--audit-log",
                self.audit_file] + self.extra_args
        if self.root_token_arg:
            args += ["--root-token", self.root_token_arg]
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None:
                raise RuntimeError("emulator exited: %s" % self.stderr())
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("emulator did not become ready")
            time.sleep(0.02)
        with open(self.ready_file) as f:
            self.ready = json.load(f)
        self.address = self.ready["address"]
        self.root_token = self.ready["root_token"]
        host_port = self.address.split("://", 1)[1]
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        return self

    def stderr(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM by PID; returns the exit status."""
        status = None
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                status = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                status = self.proc.wait()
        elif self.proc is not None:
            status = self.proc.returncode
        if getattr(self, "_stderr", None):
            self._stderr.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return status

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- HTTP ----------------------------------------------------------------

    def connection(self, timeout=10):
        return http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout)

    def call(self, method, path, token=None, body=None, headers=None,
             conn=None, raw_body=None):
        """(status, headers, parsed JSON or raw bytes or None)."""
        own = conn is None
        conn = conn or self.connection()
        hdrs = dict(headers or {})
        if token:
            hdrs["X-Vault-Token"] = token
        payload = raw_body
        if body is not None:
            payload = json.dumps(body).encode()
        try:
            conn.request(method, path, body=payload, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            parsed = None
            if data:
                try:
                    parsed = json.loads(data)
                except ValueError:
                    parsed = data
            return resp.status, resp, parsed
        finally:
            if own:
                conn.close()

    def api(self, method, path, token=None, body=None, headers=None,
            conn=None):
        return self.call(method, "/v1/" + path.lstrip("/"), token, body,
                         headers, conn)

    def control(self, method, sub, body=None):
        status, _, parsed = self.call(method, "/_emulator/" + sub,
                                      self.root_token, body)
        if status != 200:
            raise AssertionError("control %s %s -> %s %r"
                                 % (method, sub, status, parsed))
        return parsed

    def set_faults(self, faults):
        return self.control("POST", "faults", faults)

    def advance(self, seconds):
        return self.control("POST", "clock", {"advance": seconds})

    def create_token(self, token=None, path="auth/token/create", **body):
        status, _, out = self.api("POST", path, token or self.root_token,
                                  body)
        if status != 200:
            raise AssertionError("create -> %s %r" % (status, out))
        return out["auth"]
