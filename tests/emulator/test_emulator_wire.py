"""Wire-level tests with raw http.client: the details a client library
hides (status codes, bodies, headers, connections), the public issues of
spec §10.2, every fault knob, the audit log and the control API.

Run: /usr/bin/python3 -m unittest -v test_emulator_wire"""

import http.client
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from emulator_harness import BASE_CONFIG, EMULATOR, PYTHON, Emulator

WRAP_INVALID = "wrapping token is not valid or does not exist"


class WireTestCase(unittest.TestCase):
    extra_args = ()
    emu = None

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator(extra_args=cls.extra_args).start()
        cls.root = cls.emu.root_token

    @classmethod
    def tearDownClass(cls):
        status = cls.emu.stop()
        assert status == 0, "emulator exit status %r" % status

    def setUp(self):
        self.emu.set_faults({})

    def api(self, method, path, token=None, body=None, headers=None,
            conn=None):
        return self.emu.api(method, path, token, body, headers, conn)

    def ok(self, method, path, token=None, body=None, headers=None):
        status, _, out = self.api(method, path, token or self.root, body,
                                  headers)
        self.assertEqual(status, 200, out)
        return out

    def token(self, path="auth/token/create", **body):
        return self.emu.create_token(self.root, path, **body)


class EnvelopeTests(WireTestCase):
    extra_args = ("--log-level", "debug")

    def test_envelope_shape_and_headers(self):
        conn = self.emu.connection()
        conn.request("GET", "/v1/auth/token/lookup-self",
                     headers={"X-Vault-Token": self.root})
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        self.assertEqual(resp.getheader("Cache-Control"), "no-store")
        self.assertTrue(raw.endswith(b"\n"))
        keys = list(json.loads(raw))
        self.assertEqual(keys[:8], ["request_id", "lease_id", "renewable",
                                    "lease_duration", "data", "wrap_info",
                                    "warnings", "auth"])

    def test_token_create_response(self):
        out = self.ok("POST", "auth/token/create", body={
            "policies": "web,stage", "meta": {"task": "t"}, "ttl": "90s"})
        auth = out["auth"]
        self.assertIsNone(out["data"])
        self.assertEqual(out["lease_duration"], 0)
        self.assertEqual(out["lease_id"], "")
        self.assertEqual(auth["policies"], ["default", "stage", "web"])
        self.assertEqual(auth["lease_duration"], 90)
        self.assertTrue(auth["client_token"].startswith("hvs."))
        self.assertEqual(len(auth["accessor"]), 24)
        self.assertEqual(auth["token_type"], "service")
        self.assertEqual(sorted(out["warnings"]),
                         ['Policy "stage" does not exist',
                          'Policy "web" does not exist'])

    def test_204_and_200(self):
        t = self.token(policies=["app-read"])
        status, resp, out = self.api("POST", "auth/token/revoke-self",
                                     t["client_token"])
        self.assertEqual((status, out), (204, None))
        status, _, out = self.api("PUT", "kv1/wire/a", self.root, {"x": "y"})
        self.assertEqual((status, out), (204, None))
        status, _, out = self.api("POST", "auth/token/roles/tmp", self.root,
                                  {"orphan": True})
        self.assertEqual(status, 204)
        status, _, out = self.api("DELETE", "auth/token/roles/tmp", self.root)
        self.assertEqual(status, 204)
        status, _, out = self.api("POST", "auth/token/tidy", self.root)
        self.assertEqual(status, 202)
        self.assertTrue(out["warnings"])

    def test_plain_404_and_empty_list(self):
        for method, path in (("GET", "secret/data/nope"),
                             ("GET", "kv1/nope"),
                             ("LIST", "kv1/empty-dir"),
                             ("GET", "kv1/empty-dir?list=true"),
                             ("LIST", "secret/metadata/none/"),
                             ("GET", "auth/token/roles/unknown")):
            with self.subTest(path=path):
                status, _, out = self.api(method, path, self.root)
                self.assertEqual((status, out), (404, {"errors": []}))

    def test_list_forms_agree(self):
        self.api("POST", "kv1/lst/a", self.root, {"v": 1})
        self.api("POST", "kv1/lst/sub/b", self.root, {"v": 1})
        outs = [self.ok(m, p)["data"]["keys"] for m, p in (
            ("LIST", "kv1/lst"), ("LIST", "kv1/lst/"),
            ("GET", "kv1/lst?list=true"))]
        self.assertEqual(outs, [["a", "sub/"]] * 3)

    def test_kv2_deleted_and_destroyed_envelopes(self):
        self.ok("POST", "secret/data/wire/del", body={"data": {"a": "1"}})
        self.ok("POST", "secret/data/wire/del", body={"data": {"a": "2"}})
        status, _, _ = self.api("DELETE", "secret/data/wire/del", self.root)
        self.assertEqual(status, 204)
        status, _, out = self.api("GET", "secret/data/wire/del", self.root)
        self.assertEqual(status, 404)
        self.assertIsNone(out["data"]["data"])
        self.assertTrue(out["data"]["metadata"]["deletion_time"])
        self.assertEqual(out["data"]["metadata"]["version"], 2)
        self.assertIn("request_id", out)
        status, _, _ = self.api("POST", "secret/destroy/wire/del", self.root,
                                {"versions": [1]})
        self.assertEqual(status, 204)
        status, _, out = self.api("GET", "secret/data/wire/del?version=1",
                                  self.root)
        self.assertEqual(status, 404)
        self.assertTrue(out["data"]["metadata"]["destroyed"])
        self.assertIsNone(out["data"]["data"])
        status, _, out = self.api("GET", "secret/data/wire/del?version=9",
                                  self.root)
        self.assertEqual((status, out), (404, {"errors": []}))

    def test_v1_path_on_v2_mount(self):
        status, _, out = self.api("GET", "secret/app/db", self.root)
        self.assertEqual(status, 404)
        self.assertIsNone(out["data"])
        self.assertTrue(out["warnings"][0].startswith(
            "Invalid path for a versioned K/V secrets engine."))

    def test_kv_version_detection(self):
        out = self.ok("GET", "sys/internal/ui/mounts/secret/app/db")
        self.assertEqual(out["data"]["path"], "secret/")
        self.assertEqual(out["data"]["options"], {"version": "2"})
        self.assertEqual(out["data"]["type"], "kv")
        self.assertNotIn("type", out)   # no sys injection on this path
        out = self.ok("GET", "sys/internal/ui/mounts/kv1/legacy")
        self.assertEqual(out["data"]["options"], {"version": "1"})
        t = self.token(policies=["app-read"])["client_token"]
        status, _, out = self.api("GET", "sys/internal/ui/mounts/secret/app",
                                  t)
        self.assertEqual(status, 200)
        status, _, out = self.api("GET", "sys/internal/ui/mounts/database/",
                                  t)
        self.assertEqual(status, 403)

    def test_kv_never_leases(self):
        out = self.ok("GET", "kv1/legacy")
        self.assertEqual(out["lease_id"], "")
        self.assertEqual(out["lease_duration"], 2764800)
        out = self.ok("GET", "secret/data/app/db")
        self.assertEqual((out["lease_id"], out["lease_duration"]), ("", 0))

    def test_sys_injection(self):
        out = self.ok("GET", "sys/mounts")
        self.assertIn("secret/", out)
        self.assertIn("secret/", out["data"])
        out = self.ok("POST", "sys/capabilities-self",
                      body={"paths": ["secret/data/x"]})
        self.assertEqual(out["capabilities"], ["root"])
        self.assertEqual(out["data"]["capabilities"], ["root"])
        out = self.ok("PUT", "sys/leases/lookup", body={
            "lease_id": self.ok("GET", "database/creds/readonly")
            ["lease_id"]})
        self.assertNotIn("ttl", out)
        self.assertIn("ttl", out["data"])

    def test_put_equals_post_and_bearer(self):
        out = self.ok("PUT", "auth/token/create", body={"policies": ["a"]})
        status, _, me = self.api(
            "GET", "auth/token/lookup-self",
            headers={"Authorization": "Bearer " + out["auth"]
                     ["client_token"]})
        self.assertEqual(status, 200)
        self.assertEqual(me["data"]["accessor"], out["auth"]["accessor"])

    def test_auth_errors(self):
        status, _, out = self.api("GET", "auth/token/lookup-self")
        self.assertEqual(status, 403)
        self.assertEqual(out["errors"],
                         ["1 error occurred:\n\t* permission denied\n\n"])
        status, _, out = self.api("GET", "auth/token/lookup-self",
                                  "hvs.garbage0000000000000000000")
        self.assertEqual(status, 403)
        self.assertIn("permission denied", out["errors"][0])
        self.assertIn("invalid token", out["errors"][0])
        t = self.token(policies=["app-read"])["client_token"]
        status, _, out = self.api("GET", "secret/data/other", t)
        self.assertEqual(status, 403)
        self.assertEqual(out["errors"],
                         ["1 error occurred:\n\t* permission denied\n\n"])
        status, _, out = self.api("POST", "auth/token/lookup", self.root,
                                  {"token": "hvs.nope0000000000000000000"})
        self.assertEqual((status, out["errors"]), (403, ["bad token"]))
        status, _, out = self.api("POST", "auth/token/lookup", self.root, {})
        self.assertEqual((status, out["errors"]), (400, ["missing token ID"]))

    def test_unknown_path_wrong_verb_and_bad_json(self):
        status, _, out = self.api("GET", "nosuchmount/x", self.root)
        self.assertEqual(status, 404)
        status, _, out = self.api("DELETE", "auth/token/create", self.root)
        self.assertEqual(status, 405)
        status, _, out = self.emu.call("POST", "/v1/auth/token/create",
                                       self.root, raw_body=b"{not json")
        self.assertEqual(status, 400)
        status, _, out = self.api("POST", "kv1/trailing/", self.root, {"a": 1})
        self.assertEqual(status, 400)
        self.assertIn("cannot write to a path ending in '/'", out["errors"][0])

    def test_body_too_large(self):
        sock = socket.create_connection((self.emu.host, self.emu.port), 10)
        sock.sendall(b"POST /v1/kv1/big HTTP/1.1\r\nHost: x\r\n"
                     b"X-Vault-Token: " + self.root.encode() + b"\r\n"
                     b"Content-Length: %d\r\n\r\n" % (33 * 1024 * 1024))
        head = sock.recv(4096)
        sock.close()
        self.assertTrue(head.startswith(b"HTTP/1.1 413"), head[:40])

    def test_namespace_header(self):
        status, _, out = self.api("GET", "secret/data/app/db", self.root,
                                  headers={"X-Vault-Namespace": "ns1/"})
        self.assertEqual(status, 403)
        self.assertIn("namespaces feature not enabled", out["errors"][0])
        status, _, _ = self.api("GET", "secret/data/app/db", self.root,
                                headers={"X-Vault-Namespace": "root",
                                         "X-Vault-Request": "true"})
        self.assertEqual(status, 200)

    def test_keep_alive_connection_counting(self):
        before = self.emu.control("GET", "stats")["connections"]
        conn = self.emu.connection()
        t0 = time.monotonic()
        for _ in range(50):
            status, _, _ = self.api("POST", "auth/token/create", self.root,
                                    {"ttl": "1m"}, conn=conn)
            self.assertEqual(status, 200)
        # With Nagle's algorithm on, each answer waited ~40 ms for the
        # client's delayed ACK (2 s here); it must stay far below that.
        self.assertLess(time.monotonic() - t0, 1.5)
        conn.close()
        after = self.emu.control("GET", "stats")["connections"]
        # The control call itself opens one more connection.
        self.assertEqual(after - before, 2)

    def test_concurrent_connections(self):
        errors = []

        def worker():
            conn = self.emu.connection()
            try:
                for _ in range(20):
                    status, _, _ = self.api("POST", "auth/token/create",
                                            self.root, {"ttl": "1m"},
                                            conn=conn)
                    if status != 200:
                        errors.append(status)
            finally:
                conn.close()
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])

    def test_stats(self):
        self.emu.control("POST", "stats/reset")
        self.ok("GET", "auth/token/lookup-self")
        self.ok("GET", "auth/token/lookup-self")
        self.ok("POST", "auth/token/create/vsp-task",
                body={"policies": ["app-read"]})
        stats = self.emu.control("GET", "stats")
        self.assertEqual(stats["requests"], 3)
        self.assertEqual(stats["by_path"]["auth/token/lookup-self"], 2)
        self.assertEqual(stats["by_path"]["auth/token/create/vsp-task"], 1)
        self.assertEqual(stats["by_operation"], {"read": 2, "update": 1})
        self.assertGreater(stats["live_tokens"], 0)
        self.assertIn("live_leases", stats)

    def test_control_api_requires_root(self):
        t = self.token(policies=["root"])["client_token"]
        for token in (None, t, "hvs.garbage"):
            for method, sub in (("GET", "stats"), ("POST", "clock"),
                                ("GET", "tokens"), ("POST", "faults")):
                with self.subTest(token=bool(token), sub=sub):
                    status, _, out = self.emu.call(
                        method, "/_emulator/" + sub, token, {})
                    self.assertEqual(status, 403)
        status, _, _ = self.emu.call(
            "GET", "/_emulator/stats",
            headers={"Authorization": "Bearer " + self.root})
        self.assertEqual(status, 200)

    def test_control_tokens_view_has_no_ids(self):
        t = self.token(path="auth/token/create/vsp-task",
                       policies=["app-read"], meta={"vsp_task_id": "task-9"})
        view = self.emu.control("GET", "tokens")
        text = json.dumps(view)
        self.assertNotIn(t["client_token"], text)
        self.assertNotIn(self.root, text)
        mine = [x for x in view["tokens"] if x["accessor"] == t["accessor"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["meta"], {"vsp_task_id": "task-9"})
        self.assertEqual(mine[0]["path"], "auth/token/create/vsp-task")
        self.assertTrue(mine[0]["orphan"])
        self.assertIsNone(mine[0]["parent_accessor"])

    def test_audit_never_holds_tokens_or_secrets(self):
        seq = max([e["seq"] for e in self.emu.control(
            "GET", "audit")["entries"]] or [0])
        created = self.token(policies=["app-read"], ttl="1h")
        wrapped = self.ok("POST", "auth/token/create/vsp-task",
                          body={"policies": ["app-read"]},
                          headers={"X-Vault-Wrap-TTL": "300"})
        self.ok("GET", "secret/data/app/db")
        self.ok("POST", "sys/wrapping/unwrap",
                body={"token": wrapped["wrap_info"]["token"]})
        self.api("POST", "auth/token/lookup", self.root,
                 {"token": created["client_token"]})
        self.api("GET", "auth/token/lookup/" + created["client_token"],
                 self.root)
        entries = self.emu.control("GET", "audit?since=%d" % seq)["entries"]
        self.assertGreaterEqual(len(entries), 6)
        self.assertTrue(all(e["seq"] > seq for e in entries))
        wrapped_entry = [e for e in entries if e["wrap_ttl"] == 300][0]
        self.assertEqual(wrapped_entry["issued"]["wrapping_accessor"],
                         wrapped["wrap_info"]["accessor"])
        self.assertEqual(wrapped_entry["issued"]["wrapped_accessor"],
                         wrapped["wrap_info"]["wrapped_accessor"])
        self.assertEqual(wrapped_entry["path"], "auth/token/create/vsp-task")
        self.assertEqual(wrapped_entry["operation"], "update")
        self.assertIsNotNone(wrapped_entry["accessor"])
        with open(self.emu.audit_file) as f:
            log = f.read()
        secrets = [self.root, created["client_token"],
                   wrapped["wrap_info"]["token"], "s3cr3t-db"]
        for s in secrets:
            self.assertNotIn(s, log)
            self.assertNotIn(s, self.emu.stderr())
        first = json.loads(log.splitlines()[0])
        self.assertEqual(sorted(first), sorted(
            ["time", "seq", "method", "operation", "path", "accessor",
             "wrap_ttl", "status", "issued", "remote", "connection"]))

    def test_wrap_ttl_header_parsing(self):
        for value, status in (("-5", 400), ("abc", 400), ("0", 200),
                              ("", 200)):
            with self.subTest(value=value):
                st, _, out = self.api("GET", "secret/data/app/db", self.root,
                                      headers={"X-Vault-Wrap-TTL": value})
                self.assertEqual(st, status, out)
                if status == 200:
                    self.assertIsNone(out["wrap_info"])
        st, _, out = self.api("GET", "secret/data/app/db", self.root,
                              headers={"X-Vault-Wrap-TTL": "-5"})
        self.assertIn("requested wrap ttl cannot be negative",
                      out["errors"][0])
        out = self.ok("GET", "secret/data/app/db",
                      headers={"X-Vault-Wrap-TTL": "2m"})
        self.assertEqual(out["wrap_info"]["ttl"], 120)
        self.assertEqual(out["request_id"], "")
        self.assertIsNone(out["data"])

    def test_errors_and_204_are_not_wrapped(self):
        st, _, out = self.api("GET", "secret/data/missing", self.root,
                              headers={"X-Vault-Wrap-TTL": "60"})
        self.assertEqual((st, out), (404, {"errors": []}))
        st, _, out = self.api("POST", "kv1/wrapped-write", self.root,
                              {"a": "b"}, headers={"X-Vault-Wrap-TTL": "60"})
        self.assertEqual((st, out), (204, None))


class WrappingIssueTests(WireTestCase):
    def test_vault_1983_doubled_unwrap_burns_token(self):
        w = self.ok("POST", "sys/wrapping/wrap", body={"payload": "p"},
                    headers={"X-Vault-Wrap-TTL": "60"})["wrap_info"]["token"]
        status, _, out = self.api("POST", "sys/wrapping/unwrap", w,
                                  {"token": w})
        self.assertEqual(status, 400)
        self.assertEqual(out["errors"], [WRAP_INVALID])
        status, _, out = self.api("POST", "sys/wrapping/unwrap", w)
        self.assertIn(status, (400, 403))
        status, _, out = self.api("POST", "sys/wrapping/lookup", None,
                                  {"token": w})
        self.assertEqual((status, out["errors"]), (400, [WRAP_INVALID]))

    def test_header_and_third_party_unwrap(self):
        wrap = {"X-Vault-Wrap-TTL": "60"}
        w = self.ok("POST", "sys/wrapping/wrap", body={"a": "b"},
                    headers=wrap)["wrap_info"]
        status, _, out = self.api("POST", "sys/wrapping/unwrap",
                                  w["token"])
        self.assertEqual(status, 200)
        self.assertEqual(out["data"], {"a": "b"})
        self.assertEqual(out["a"], "b")
        w = self.ok("POST", "sys/wrapping/wrap", body={"c": "d"},
                    headers=wrap)["wrap_info"]
        plain = self.token(policies=["app-read"])["client_token"]
        status, _, out = self.api("POST", "sys/wrapping/unwrap", plain,
                                  {"token": w["token"]})
        self.assertEqual((status, out["data"]), (200, {"c": "d"}))
        status, _, out = self.api("POST", "sys/wrapping/unwrap", plain,
                                  {"token": w["token"]})
        self.assertEqual((status, out["errors"]), (400, [WRAP_INVALID]))

    def test_unwrap_returns_original_body_verbatim(self):
        w = self.ok("GET", "secret/data/app/db",
                    headers={"X-Vault-Wrap-TTL": "60"})["wrap_info"]
        conn = self.emu.connection()
        conn.request("POST", "/v1/sys/wrapping/unwrap",
                     headers={"X-Vault-Token": w["token"]})
        raw = conn.getresponse().read()
        conn.close()
        out = json.loads(raw)
        self.assertTrue(out["request_id"])
        self.assertEqual(out["data"]["data"], {"password": "s3cr3t-db"})
        self.assertTrue(raw.endswith(b"\n"))

    def test_wrapping_token_properties(self):
        w = self.ok("POST", "auth/token/create", body={"policies": ["x"]},
                    headers={"X-Vault-Wrap-TTL": "5m"})["wrap_info"]
        out = self.ok("POST", "auth/token/lookup-accessor",
                      body={"accessor": w["accessor"]})["data"]
        self.assertEqual(out["policies"], ["response-wrapping"])
        self.assertEqual(out["num_uses"], 1)
        self.assertTrue(out["orphan"])
        self.assertFalse(out["renewable"])
        self.assertEqual(out["creation_ttl"], 300)
        self.assertEqual(out["explicit_max_ttl"], 300)

    def test_vault_13532_explicit_wrap_ttl_kept(self):
        out = self.ok("POST", "sys/wrapping/wrap", body={"k": "v"},
                      headers={"X-Vault-Wrap-TTL": "30"})
        self.assertEqual(out["wrap_info"]["ttl"], 30)
        status, _, out = self.api("POST", "sys/wrapping/wrap", self.root,
                                  {"k": "v"})
        self.assertEqual(status, 400)
        self.assertIn("endpoint requires response wrapping to be used",
                      out["errors"][0])

    def test_vault_14926_wrap_at_create_vs_rewrap(self):
        at_create = self.ok("POST", "auth/token/create/vsp-task",
                            body={"policies": ["app-read"]},
                            headers={"X-Vault-Wrap-TTL": "300"})["wrap_info"]
        self.assertEqual(at_create["creation_path"],
                         "auth/token/create/vsp-task")
        self.assertTrue(at_create["wrapped_accessor"])
        # The wrapped token exists already: its accessor can revoke it.
        looked = self.ok("POST", "auth/token/lookup-accessor", body={
            "accessor": at_create["wrapped_accessor"]})["data"]
        self.assertEqual(looked["path"], "auth/token/create/vsp-task")
        inner = self.ok("POST", "sys/wrapping/unwrap",
                        body={"token": at_create["token"]})
        after = self.ok("POST", "sys/wrapping/wrap", body=inner["auth"],
                        headers={"X-Vault-Wrap-TTL": "300"})["wrap_info"]
        self.assertEqual(after["creation_path"], "sys/wrapping/wrap")
        self.assertNotIn("wrapped_accessor", after)
        lookup = self.ok("POST", "sys/wrapping/lookup",
                         body={"token": after["token"]})
        self.assertEqual(lookup["data"]["creation_path"], "sys/wrapping/wrap")
        self.assertNotIn("creation_path", lookup)

    def test_rewrap_keeps_creation_path(self):
        w = self.ok("GET", "database/creds/readonly",
                    headers={"X-Vault-Wrap-TTL": "120"})["wrap_info"]
        new = self.ok("POST", "sys/wrapping/rewrap",
                      body={"token": w["token"]})["wrap_info"]
        self.assertEqual(new["creation_path"], "database/creds/readonly")
        self.assertEqual(new["ttl"], 120)
        status, _, _ = self.api("POST", "sys/wrapping/lookup", None,
                                {"token": w["token"]})
        self.assertEqual(status, 400)

    def test_approle_secret_id_wrapped_accessor(self):
        out = self.ok("POST", "auth/approle/role/vsp-plugin/secret-id",
                      headers={"X-Vault-Wrap-TTL": "60"})["wrap_info"]
        self.assertEqual(out["creation_path"],
                         "auth/approle/role/vsp-plugin/secret-id")
        inner = self.ok("POST", "sys/wrapping/unwrap",
                        body={"token": out["token"]})["data"]
        self.assertEqual(out["wrapped_accessor"], inner["secret_id_accessor"])
        login = self.api("POST", "auth/approle/login", None, {
            "role_id": "fixed-role-id", "secret_id": inner["secret_id"]},
            headers={"X-Vault-Wrap-TTL": "60"})[2]["wrap_info"]
        self.assertEqual(login["creation_path"], "auth/approle/login")
        self.assertTrue(login["wrapped_accessor"])


class LifecycleTests(WireTestCase):
    """Tests that move the clock; each uses its own tokens and leases."""

    def lease_alive(self, lease_id):
        status, _, _ = self.api("PUT", "sys/leases/lookup", self.root,
                                {"lease_id": lease_id})
        return status == 200

    def token_alive(self, accessor):
        status, _, _ = self.api("POST", "auth/token/lookup-accessor",
                                self.root, {"accessor": accessor})
        return status == 200

    def test_nomad_3643_non_renewable(self):
        for body, path in (({"renewable": False, "policies": ["a"]},
                            "auth/token/create"),
                           ({}, "auth/token/create/fixed")):
            with self.subTest(path=path):
                t = self.token(path=path, **body)
                self.assertFalse(t["renewable"])
                status, _, out = self.api("POST", "auth/token/renew-self",
                                          t["client_token"])
                self.assertEqual(status, 400)
                self.assertEqual(out["errors"], ["lease is not renewable"])

    def test_external_secrets_2198_lease_dies_with_token(self):
        t = self.token(policies=["db-read"], ttl="3m")
        creds = self.ok("GET", "database/creds/readonly", t["client_token"])
        self.assertEqual(creds["lease_duration"], 3600)
        self.assertTrue(self.lease_alive(creds["lease_id"]))
        self.emu.advance(181)
        self.assertFalse(self.lease_alive(creds["lease_id"]))
        self.assertFalse(self.token_alive(t["accessor"]))
        status, _, out = self.api("GET", "auth/token/lookup-self",
                                  t["client_token"])
        self.assertEqual(status, 403)
        self.assertIn("invalid token", out["errors"][0])

    def test_wrapped_creds_lease_owned_by_requester(self):
        t = self.token(policies=["db-read"], ttl="1h")
        w = self.ok("GET", "database/creds/readonly", t["client_token"],
                    headers={"X-Vault-Wrap-TTL": "600"})["wrap_info"]
        self.assertNotIn("wrapped_accessor", w)
        leases = self.emu.control("GET", "leases")["leases"]
        mine = [x for x in leases if x["owner_accessor"] == t["accessor"]]
        self.assertEqual(len(mine), 1)
        lease_id = mine[0]["lease_id"]
        self.assertTrue(lease_id.startswith("database/creds/readonly/"))
        audit = self.emu.control("GET", "audit")["entries"]
        self.assertEqual(audit[-1]["issued"]["lease_id"], lease_id)
        status, _, _ = self.api("POST", "auth/token/revoke-accessor",
                                self.root, {"accessor": t["accessor"]})
        self.assertEqual(status, 204)
        self.assertFalse(self.lease_alive(lease_id))
        # The wrapping token is an orphan: it still unwraps, but the lease
        # inside is gone.
        inner = self.api("POST", "sys/wrapping/unwrap", w["token"])[2]
        self.assertEqual(inner["lease_id"], lease_id)
        self.assertFalse(self.lease_alive(lease_id))

    def test_expiry_cascades_to_children(self):
        parent = self.token(policies=["plain-create", "app-read"], ttl="60s")
        child = self.emu.create_token(parent["client_token"],
                                      policies=["app-read"], ttl="1h")
        self.emu.advance(61)
        self.assertFalse(self.token_alive(child["accessor"]))
        self.assertFalse(self.token_alive(parent["accessor"]))

    def test_ttl_follows_clock_and_renew_caps(self):
        t = self.token(policies=["a"], ttl="10m", explicit_max_ttl="15m")
        self.emu.advance(300)
        out = self.ok("POST", "auth/token/lookup",
                      body={"token": t["client_token"]})["data"]
        self.assertAlmostEqual(out["ttl"], 300, delta=2)
        renewed = self.ok("POST", "auth/token/renew",
                          body={"token": t["client_token"],
                                "increment": "1h"})
        self.assertAlmostEqual(renewed["auth"]["lease_duration"], 600,
                               delta=2)
        self.assertTrue(renewed["warnings"])

    def test_real_time_expiry(self):
        t = self.token(policies=["a"], ttl=1)
        time.sleep(1.2)
        status, _, out = self.api("GET", "auth/token/lookup-self",
                                  t["client_token"])
        self.assertEqual(status, 403)

    def test_approle_token_max_ttl(self):
        sid = self.ok("POST", "auth/approle/role/vsp-plugin/secret-id")[
            "data"]["secret_id"]
        login = self.api("POST", "auth/approle/login", None, {
            "role_id": "fixed-role-id", "secret_id": sid})[2]["auth"]
        tok = login["client_token"]
        for _ in range(3):
            self.emu.advance(3000)
            out = self.ok("POST", "auth/token/renew-self", tok)
            self.assertEqual(out["auth"]["lease_duration"], 3600)
        self.emu.advance(3000)      # 12000 s of the 14400 s max
        out = self.ok("POST", "auth/token/renew-self", tok)
        self.assertAlmostEqual(out["auth"]["lease_duration"], 2400, delta=2)
        self.assertTrue(out["warnings"])
        self.emu.advance(2401)
        self.assertEqual(self.api("GET", "auth/token/lookup-self", tok)[0],
                         403)
        # The same secret ID logs in again (no use limit).
        status, _, _ = self.api("POST", "auth/approle/login", None, {
            "role_id": "fixed-role-id", "secret_id": sid})
        self.assertEqual(status, 200)

    def test_periodic_role_token(self):
        t = self.token(path="auth/token/create/periodic", policies=["a"])
        self.assertEqual(t["lease_duration"], 3600)
        self.emu.advance(1800)
        out = self.ok("POST", "auth/token/renew-self", t["client_token"],
                      body={"increment": 60})
        self.assertEqual(out["auth"]["lease_duration"], 3600)

    def test_num_uses(self):
        t = self.token(policies=["app-read", "plain-create"], num_uses=2)
        tok = t["client_token"]
        self.assertEqual(self.api("GET", "secret/data/app/db", tok)[0], 200)
        status, _, out = self.api("POST", "auth/token/create", tok, {})
        self.assertEqual(status, 400)
        self.assertIn("restricted use token cannot generate child tokens",
                      out["errors"][0])
        status, _, out = self.api("GET", "secret/data/app/db", tok)
        self.assertEqual(status, 403)

    def test_last_use_spent_on_a_failed_request(self):
        t = self.token(policies=["app-read"], num_uses=1)["client_token"]
        status, _, _ = self.api("GET", "secret/data/app/none", t)
        self.assertEqual(status, 404)
        status, _, out = self.api("GET", "secret/data/app/db", t)
        self.assertEqual(status, 403)
        self.assertIn("invalid token", out["errors"][0])

    def test_lease_revoke_sync_and_async(self):
        a = self.ok("GET", "database/creds/readonly")["lease_id"]
        b = self.ok("GET", "database/creds/readonly")["lease_id"]
        status, _, _ = self.api("PUT", "sys/leases/revoke", self.root,
                                {"lease_id": a})
        self.assertEqual(status, 204)
        status, _, _ = self.api("PUT", "sys/leases/revoke", self.root,
                                {"lease_id": b, "sync": False})
        self.assertEqual(status, 202)
        self.assertFalse(self.lease_alive(a) or self.lease_alive(b))
        status, _, _ = self.api("PUT", "sys/leases/revoke", self.root,
                                {"lease_id": "database/creds/readonly/nope"})
        self.assertEqual(status, 204)
        status, _, out = self.api("PUT", "sys/leases/renew", self.root,
                                  {"lease_id": "database/creds/readonly/x"})
        self.assertEqual(status, 400)

    def test_pki_lease_not_renewable(self):
        out = self.ok("POST", "pki/issue/web",
                      body={"common_name": "a.example.test"})
        status, _, err = self.api("PUT", "sys/leases/renew", self.root,
                                  {"lease_id": out["lease_id"]})
        self.assertEqual((status, err["errors"]),
                         (400, ["lease is not renewable"]))

    def test_clock_control(self):
        before = self.emu.control("GET", "clock")
        after = self.emu.control("POST", "clock", {"advance": 90})
        self.assertGreaterEqual(after["offset"] - before["offset"], 90)
        status, _, _ = self.emu.call("POST", "/_emulator/clock",
                                     self.root, {"advance": -5})
        self.assertEqual(status, 400)
        target = after["now"] + 1000
        out = self.emu.control("POST", "clock", {"set": target})
        self.assertAlmostEqual(out["now"], target, delta=2)


class FaultTests(WireTestCase):
    def test_sealed(self):
        self.emu.set_faults({"sealed": True})
        status, _, out = self.api("GET", "secret/data/app/db", self.root)
        self.assertEqual((status, out), (503, {"errors": ["Vault is sealed"]}))
        status, _, out = self.api("GET", "sys/health")
        self.assertEqual(status, 503)
        self.assertTrue(out["sealed"])
        status, _, _ = self.api("GET", "sys/health?sealedcode=200")
        self.assertEqual(status, 200)

    def test_standby(self):
        self.emu.set_faults({"standby": {"active_address":
                                         "http://127.0.0.1:8299"}})
        status, resp, out = self.api("GET", "secret/data/app/db?x=1",
                                     self.root)
        self.assertEqual(status, 307)
        self.assertEqual(resp.getheader("Location"),
                         "http://127.0.0.1:8299/v1/secret/data/app/db?x=1")
        status, _, out = self.api("GET", "sys/health")
        self.assertEqual(status, 429)
        self.assertTrue(out["standby"])
        self.assertEqual(self.api("GET", "sys/health?standbyok=true")[0], 200)
        self.assertEqual(self.api("HEAD", "sys/health")[0], 429)

    def test_rate_limit(self):
        self.emu.set_faults({"rate_limit": {"retry_after": 7}})
        status, resp, out = self.api("GET", "secret/data/app/db", self.root)
        self.assertEqual(status, 429)
        self.assertEqual(resp.getheader("Retry-After"), "7")
        self.assertTrue(out["errors"])

    def test_error_with_count_and_prefix(self):
        self.emu.set_faults({"error": {"status": 502, "count": 2,
                                       "path_prefix": "database/"}})
        self.assertEqual(self.api("GET", "secret/data/app/db",
                                  self.root)[0], 200)
        for _ in range(2):
            status, _, out = self.api("GET", "database/creds/readonly",
                                      self.root)
            self.assertEqual(status, 502)
            self.assertTrue(out["errors"])
        self.assertEqual(self.api("GET", "database/creds/readonly",
                                  self.root)[0], 200)
        self.assertEqual(self.emu.control("GET", "faults"), {})
        for code in (500, 503, 412):
            self.emu.set_faults({"error": {"status": code, "count": 1,
                                           "errors": ["boom"]}})
            status, _, out = self.api("GET", "sys/health")
            self.assertEqual((status, out), (code, {"errors": ["boom"]}))

    def test_error_after_effect_mints(self):
        self.emu.set_faults({"error": {"status": 500, "after_effect": True,
                                       "count": 1, "path_prefix":
                                       "auth/token/create/vsp-task"}})
        before = len(self.emu.control("GET", "tokens")["tokens"])
        status, _, out = self.api("POST", "auth/token/create/vsp-task",
                                  self.root, {"policies": ["app-read"],
                                              "meta": {"t": "dup"}})
        self.assertEqual(status, 500)
        tokens = self.emu.control("GET", "tokens")["tokens"]
        self.assertEqual(len(tokens), before + 1)
        minted = [t for t in tokens if t["meta"] == {"t": "dup"}]
        self.assertEqual(len(minted), 1)
        audit = self.emu.control("GET", "audit")["entries"]
        entry = [e for e in audit
                 if e["path"] == "auth/token/create/vsp-task"][-1]
        self.assertEqual(entry["status"], 500)
        self.assertEqual(entry["issued"]["accessor"], minted[0]["accessor"])

    def test_latency(self):
        self.emu.set_faults({"latency_ms": 300})
        t0 = time.monotonic()
        self.assertEqual(self.api("GET", "sys/health")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)

    def test_reset(self):
        self.emu.set_faults({"reset": {"count": 1}})
        conn = self.emu.connection()
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.api("GET", "sys/health", conn=conn)
        conn.close()
        self.assertEqual(self.api("GET", "sys/health")[0], 200)

    def test_hang_until_cleared(self):
        self.emu.set_faults({"hang": {"path_prefix": "sys/health"}})
        result = {}

        def call():
            result["status"] = self.api("GET", "sys/health")[0]
        th = threading.Thread(target=call)
        th.start()
        time.sleep(0.5)
        self.assertTrue(th.is_alive())
        self.assertEqual(self.api("GET", "secret/data/app/db",
                                  self.root)[0], 200)
        self.emu.set_faults({})
        th.join(5)
        self.assertEqual(result.get("status"), 200)

    def test_hang_client_timeout(self):
        self.emu.set_faults({"hang": {"count": 1}})
        conn = self.emu.connection(timeout=0.5)
        with self.assertRaises(socket.timeout):
            self.api("GET", "sys/health", conn=conn)
        conn.close()

    def test_raw_html_truncated_empty_huge(self):
        cases = [
            ({"status": 502, "headers": {"Content-Type": "text/html"},
              "body": "<html><body>Bad Gateway</body></html>"},
             502, b"<html><body>Bad Gateway</body></html>"),
            ({"status": 200, "headers": {"Content-Type": "application/json"},
              "body": '{"data": {"tru'}, 200, b'{"data": {"tru'),
            ({"status": 200}, 200, b""),
        ]
        for spec, status, body in cases:
            with self.subTest(spec=spec):
                self.emu.set_faults({"raw": dict(spec, count=1)})
                conn = self.emu.connection()
                conn.request("GET", "/v1/sys/health")
                resp = conn.getresponse()
                self.assertEqual(resp.status, status)
                self.assertEqual(resp.read(), body)
                conn.close()
        self.emu.set_faults({"raw": {"count": 1, "body": {
            "repeat": "ab", "size": 5 * 1024 * 1024}}})
        conn = self.emu.connection()
        conn.request("GET", "/v1/sys/health")
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.assertEqual(len(data), 5 * 1024 * 1024)
        self.assertEqual(data[:4], b"abab")

    def test_raw_lying_content_length(self):
        self.emu.set_faults({"raw": {"count": 1, "close": True,
                                     "headers": {"Content-Length": "100"},
                                     "body": '{"par'}})
        conn = self.emu.connection()
        conn.request("GET", "/v1/sys/health")
        resp = conn.getresponse()
        with self.assertRaises(http.client.IncompleteRead):
            resp.read()
        conn.close()

    def test_faults_apply_after_request_read(self):
        self.emu.set_faults({"error": {"status": 503, "count": 1}})
        conn = self.emu.connection()
        status, _, _ = self.api("POST", "kv1/after-read", self.root,
                                {"big": "x" * 100000}, conn=conn)
        self.assertEqual(status, 503)
        # The body was consumed: the same connection still works.
        status, _, _ = self.api("GET", "sys/health", conn=conn)
        self.assertEqual(status, 200)
        conn.close()

    def test_bad_fault_spec(self):
        status, _, out = self.emu.call("POST", "/_emulator/faults",
                                       self.root, {"nope": True})
        self.assertEqual(status, 400)


class ProcessTests(unittest.TestCase):
    """Start-up, listeners and shutdown of separate emulator processes."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vault-emu-proc-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_refuses_non_loopback(self):
        for addr in ("0.0.0.0:0", "192.0.2.10:8200", "[::]:0",
                     "example.com:80"):
            with self.subTest(addr=addr):
                proc = subprocess.run([PYTHON, EMULATOR, "--listen", addr],
                                      capture_output=True, text=True,
                                      timeout=10)
                self.assertEqual(proc.returncode, 2)
                self.assertIn("loopback", proc.stderr)

    def test_write_to_ready_file_and_sigterm(self):
        tok_file = os.path.join(self.dir, "plugin.token")
        sid_file = os.path.join(self.dir, "secret_id")
        cfg = dict(BASE_CONFIG)
        cfg["tokens"] = [{"id": "hvs.fixed-plugin-token",
                          "policies": ["vsp-plugin"], "ttl": "1h",
                          "display_name": "vsp-plugin",
                          "meta": {"who": "plugin"}, "write_to": tok_file}]
        cfg["approle"] = {"roles": {"r1": {
            "token_policies": ["app-read"],
            "secret_ids": [{"write_to": sid_file}]}}}
        emu = Emulator(config=cfg, root_token="root-for-test").start()
        try:
            self.assertEqual(emu.ready["pid"], emu.proc.pid)
            self.assertEqual(emu.root_token, "root-for-test")
            self.assertIsNone(emu.ready["unix"])
            with open(tok_file) as f:
                self.assertEqual(f.read(), "hvs.fixed-plugin-token")
            self.assertEqual(stat.S_IMODE(os.stat(tok_file).st_mode), 0o600)
            status, _, out = emu.api("GET", "auth/token/lookup-self",
                                     "hvs.fixed-plugin-token")
            self.assertEqual(out["data"]["policies"],
                             ["default", "vsp-plugin"])
            self.assertEqual(out["data"]["display_name"], "token-vsp-plugin")
            role_id = emu.api("GET", "auth/approle/role/r1/role-id",
                              "root-for-test")[2]["data"]["role_id"]
            with open(sid_file) as f:
                sid = f.read()
            status, _, out = emu.api("POST", "auth/approle/login", None,
                                     {"role_id": role_id, "secret_id": sid})
            self.assertEqual(status, 200)
            t0 = time.monotonic()
        finally:
            code = emu.stop()
        self.assertEqual(code, 0)
        self.assertLess(time.monotonic() - t0, 5)

    def test_example_config_and_root_token_file(self):
        root_file = os.path.join(self.dir, "root")
        with open(root_file, "w") as f:
            f.write("root-from-file\n")
        with open(os.path.join(os.path.dirname(EMULATOR),
                               "example-config.json")) as f:
            cfg = json.load(f)
        with Emulator(config=cfg, extra_args=["--root-token-file",
                                              root_file]) as emu:
            self.assertEqual(emu.root_token, "root-from-file")
            out = emu.api("GET", "secret/data/app/db", "root-from-file")[2]
            self.assertEqual(out["data"]["data"],
                             {"password": "demo-db-password"})
            tokens = emu.control("GET", "tokens")["tokens"]
            self.assertIn({"role": "plugin"}, [t["meta"] for t in tokens])

    def test_namespace_prefix_mode(self):
        cfg = {"namespaces": "prefix",
               "mounts": {"ns1/secret/": {"type": "kv",
                                          "options": {"version": "2"}}},
               "kv": {"ns1/secret/app": {"in": "ns1"},
                      "secret/app": {"in": "root"}}}
        with Emulator(config=cfg) as emu:
            ns = {"X-Vault-Namespace": "ns1/"}
            out = emu.api("GET", "secret/data/app", emu.root_token,
                          headers=ns)[2]
            self.assertEqual(out["data"]["data"], {"in": "ns1"})
            out = emu.api("GET", "secret/data/app", emu.root_token)[2]
            self.assertEqual(out["data"]["data"], {"in": "root"})
            status, _, _ = emu.api("GET", "auth/token/lookup-self",
                                   emu.root_token, headers=ns)
            self.assertEqual(status, 200)

    def test_unix_socket(self):
        sock_path = os.path.join(self.dir, "vault.sock")
        emu = Emulator(extra_args=["--unix", sock_path]).start()
        try:
            self.assertEqual(emu.ready["unix"], sock_path)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock_path)
            s.settimeout(5)
            s.sendall(b"GET /v1/auth/token/lookup-self HTTP/1.1\r\n"
                      b"Host: localhost\r\nX-Vault-Token: " +
                      emu.root_token.encode() + b"\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200"))
            audit = emu.control("GET", "audit")["entries"]
            self.assertEqual(audit[0]["remote"], "unix")
        finally:
            emu.stop()

    def test_ipv6_loopback(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        try:
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.close()
        except OSError:
            self.skipTest("::1 not available")
        proc = subprocess.Popen([PYTHON, EMULATOR, "--listen", "[::1]:0",
                                 "--ready-file",
                                 os.path.join(self.dir, "r.json")],
                                stderr=subprocess.DEVNULL)
        try:
            path = os.path.join(self.dir, "r.json")
            for _ in range(200):
                if os.path.exists(path):
                    break
                time.sleep(0.02)
            with open(path) as f:
                ready = json.load(f)
            self.assertTrue(ready["address"].startswith("http://[::1]:"))
            port = int(ready["address"].rsplit(":", 1)[1])
            conn = http.client.HTTPConnection("::1", port, timeout=5)
            conn.request("GET", "/v1/sys/health")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(10), 0)

    def _make_certs(self):
        if not shutil.which("openssl"):
            self.skipTest("openssl CLI not installed")
        d = self.dir

        def run(*args):
            subprocess.run(["openssl"] + list(args), check=True,
                           capture_output=True, cwd=d, timeout=30)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes"]
        run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=test-ca")
        for name, cn in (("server", "127.0.0.1"), ("client", "vsp-client")):
            run("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + cn)
            ext = os.path.join(d, name + ".ext")
            with open(ext, "w") as f:
                f.write("subjectAltName=IP:127.0.0.1\n" if name == "server"
                        else "extendedKeyUsage=clientAuth\n")
            run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".pem",
                "-days", "2", "-extfile", ext)
        return {n: os.path.join(d, n) for n in (
            "ca.pem", "server.pem", "server.key", "client.pem",
            "client.key")}

    def test_tls_with_client_certificate(self):
        c = self._make_certs()
        emu = Emulator(extra_args=[
            "--tls-cert", c["server.pem"], "--tls-key", c["server.key"],
            "--tls-client-ca", c["ca.pem"]]).start()
        try:
            self.assertTrue(emu.address.startswith("https://127.0.0.1:"))
            ctx = ssl.create_default_context(cafile=c["ca.pem"])
            conn = http.client.HTTPSConnection(emu.host, emu.port,
                                               context=ctx, timeout=5)
            with self.assertRaises((ssl.SSLError, ConnectionError,
                                    http.client.HTTPException)):
                conn.request("GET", "/v1/sys/health")
                conn.getresponse().read()
            conn.close()
            ctx.load_cert_chain(c["client.pem"], c["client.key"])
            conn = http.client.HTTPSConnection(emu.host, emu.port,
                                               context=ctx, timeout=5)
            conn.request("GET", "/v1/sys/health")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()
        finally:
            emu.stop()


if __name__ == "__main__":
    unittest.main()
