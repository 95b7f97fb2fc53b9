"""Conformance: drive the emulator with an independent Vault client,
python3-hvac 0.11, and check it gets what a real Vault would give it.

Run: /usr/bin/python3 -m unittest -v test_hvac_conformance"""

import unittest

import hvac
from hvac import exceptions

from emulator_harness import Emulator


class HvacTestCase(unittest.TestCase):
    emu = None

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator().start()

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def setUp(self):
        self.emu.set_faults({})

    def client(self, token=None):
        c = hvac.Client(url=self.emu.address,
                        token=token or self.emu.root_token)
        self.addCleanup(c.adapter.close)
        return c

    def child(self, **kw):
        """A new token and an hvac client that uses it."""
        auth = self.client().auth.token.create(**kw)["auth"]
        return auth, self.client(auth["client_token"])


class TokenTests(HvacTestCase):
    def test_create_lookup_renew_revoke(self):
        auth, c = self.child(policies=["app-read"], ttl="1h",
                             meta={"task": "t1"}, display_name="task one")
        self.assertEqual(auth["policies"], ["app-read", "default"])
        self.assertEqual(auth["lease_duration"], 3600)
        self.assertEqual(auth["metadata"], {"task": "t1"})
        self.assertTrue(auth["renewable"])
        self.assertFalse(auth["orphan"])

        me = c.auth.token.lookup_self()["data"]
        self.assertEqual(me["display_name"], "token-task-one")
        self.assertEqual(me["path"], "auth/token/create")
        self.assertEqual(me["meta"], {"task": "t1"})
        root = self.client()
        looked = root.auth.token.lookup(auth["client_token"])["data"]
        self.assertEqual(looked["accessor"], auth["accessor"])
        by_acc = root.auth.token.lookup_accessor(auth["accessor"])["data"]
        self.assertEqual(by_acc["id"], "")
        self.assertEqual(by_acc["policies"], ["app-read", "default"])

        renewed = c.auth.token.renew_self(increment=600)["auth"]
        self.assertEqual(renewed["lease_duration"], 600)
        renewed = root.auth.token.renew(auth["client_token"],
                                        increment="20m")["auth"]
        self.assertEqual(renewed["lease_duration"], 1200)
        renewed = root.auth.token.renew_accessor(auth["accessor"])["auth"]
        self.assertEqual(renewed["client_token"], "")
        self.assertTrue(c.is_authenticated())

        root.auth.token.revoke_accessor(auth["accessor"])
        self.assertFalse(c.is_authenticated())
        with self.assertRaises(exceptions.Forbidden) as ctx:
            c.auth.token.lookup_self()
        self.assertIn("invalid token", str(ctx.exception))
        with self.assertRaises(exceptions.Forbidden):
            root.auth.token.lookup(auth["client_token"])

    def test_revoke_self_and_revoke(self):
        auth, c = self.child(policies=["app-read"])
        c.auth.token.revoke_self()
        self.assertFalse(c.is_authenticated())
        auth, c = self.child(policies=["app-read"])
        self.client().auth.token.revoke(auth["client_token"])
        self.assertFalse(c.is_authenticated())
        # Revoking an unknown token is not an error.
        self.client().auth.token.revoke("hvs.doesnotexist000000000000")

    def test_children_die_with_parent_unless_orphan(self):
        parent, pc = self.child(policies=["sudo-create", "app-read"])
        kid = pc.auth.token.create(policies=["app-read"])["auth"]
        orphan = pc.auth.token.create(policies=["app-read"],
                                      no_parent=True)["auth"]
        self.assertTrue(orphan["orphan"])
        self.client().auth.token.revoke(parent["client_token"])
        self.assertFalse(self.client(kid["client_token"]).is_authenticated())
        self.assertTrue(
            self.client(orphan["client_token"]).is_authenticated())

    def test_revoke_orphan_keeps_children(self):
        parent, pc = self.child(policies=["plain-create", "app-read"])
        kid = pc.auth.token.create(policies=["app-read"])["auth"]
        self.client().auth.token.revoke_and_orphan_children(
            parent["client_token"])
        self.assertFalse(pc.is_authenticated())
        kc = self.client(kid["client_token"])
        self.assertTrue(kc.auth.token.lookup_self()["data"]["orphan"])

    def test_create_orphan_endpoint(self):
        parent, pc = self.child(policies=["plain-create", "app-read"])
        out = pc.adapter.post("/v1/auth/token/create-orphan",
                              json={"policies": ["app-read"]})["auth"]
        self.assertTrue(out["orphan"])
        me = self.client(out["client_token"]).auth.token.lookup_self()
        self.assertEqual(me["data"]["path"], "auth/token/create-orphan")

    def test_policy_rules(self):
        parent, pc = self.child(policies=["plain-create", "app-read"])
        with self.assertRaises(exceptions.InvalidRequest) as ctx:
            pc.auth.token.create(policies=["app-write"])
        self.assertIn("child policies must be subset of parent",
                      str(ctx.exception))
        with self.assertRaises(exceptions.InvalidRequest) as ctx:
            pc.auth.token.create(policies=["app-read"], no_parent=True)
        self.assertIn("root or sudo privileges required to create orphan",
                      str(ctx.exception))
        inherited = pc.auth.token.create()["auth"]
        self.assertEqual(inherited["policies"],
                         ["app-read", "default", "plain-create"])
        out = self.client().auth.token.create(policies=["Web", "web",
                                                        "Stage"])
        self.assertEqual(out["auth"]["policies"], ["default", "stage", "web"])
        self.assertIn('Policy "web" does not exist', out["warnings"])

    def test_roles(self):
        root = self.client()
        root.auth.token.create_or_update_role(
            "hvac-role", allowed_policies=["app-read", "db-read"],
            orphan=True, path_suffix="v1")
        role = root.auth.token.read_role("hvac-role")["data"]
        self.assertEqual(role["allowed_policies"], ["app-read", "db-read"])
        self.assertTrue(role["orphan"])
        self.assertIn("hvac-role",
                      root.auth.token.list_roles()["data"]["keys"])
        out = root.auth.token.create(role_name="hvac-role")["auth"]
        self.assertEqual(out["policies"], ["app-read", "db-read", "default"])
        self.assertTrue(out["orphan"])
        me = self.client(out["client_token"]).auth.token.lookup_self()
        self.assertEqual(me["data"]["path"],
                         "auth/token/create/hvac-role/v1")
        self.assertEqual(me["data"]["role"], "hvac-role")
        with self.assertRaises(exceptions.InvalidRequest) as ctx:
            root.auth.token.create(role_name="hvac-role",
                                   policies=["app-write"])
        self.assertIn("must be subset of the role's allowed policies",
                      str(ctx.exception))
        root.auth.token.delete_role("hvac-role")
        with self.assertRaises(exceptions.InvalidPath):
            root.auth.token.read_role("hvac-role")

    def test_role_through_plugin_policy_needs_no_sudo(self):
        plugin, pc = self.child(policies=["vsp-plugin"])
        out = pc.auth.token.create(role_name="vsp-task",
                                   policies=["app-read"],
                                   meta={"vsp_task_id": "x"})["auth"]
        self.assertTrue(out["orphan"])
        self.assertEqual(out["policies"], ["app-read", "default"])

    def test_non_renewable_token(self):
        auth, c = self.child(policies=["app-read"], renewable=False)
        with self.assertRaises(exceptions.InvalidRequest) as ctx:
            c.auth.token.renew_self()
        self.assertIn("lease is not renewable", str(ctx.exception))

    def test_list_accessors(self):
        auth, _ = self.child(policies=["app-read"])
        keys = self.client().auth.token.list_accessors()["data"]["keys"]
        self.assertIn(auth["accessor"], keys)
        plain, pc = self.child(policies=["app-read"])
        with self.assertRaises(exceptions.Forbidden):
            pc.auth.token.list_accessors()

    def test_tidy(self):
        resp = self.client().auth.token.tidy()
        self.assertEqual(resp.status_code, 202)


class WrappingTests(HvacTestCase):
    def test_wrapped_token_create_and_unwrap(self):
        root = self.client()
        out = root.auth.token.create(policies=["app-read"], wrap_ttl="60s")
        info = out["wrap_info"]
        self.assertEqual(info["ttl"], 60)
        self.assertEqual(info["creation_path"], "auth/token/create")
        self.assertTrue(info["wrapped_accessor"])
        self.assertIsNone(out["auth"])
        unwrapped = root.sys.unwrap(info["token"])
        self.assertEqual(unwrapped["auth"]["accessor"],
                         info["wrapped_accessor"])
        with self.assertRaises(exceptions.InvalidRequest) as ctx:
            root.sys.unwrap(info["token"])
        self.assertIn("wrapping token is not valid or does not exist",
                      str(ctx.exception))

    def test_unwrap_with_wrapping_token_as_client_token(self):
        out = self.client().write("secret/data/app/wrapme",
                                  data={"k": "v"})
        self.assertEqual(out["data"]["version"], 1)
        wrapped = self.client().read("secret/data/app/wrapme",
                                     wrap_ttl="30s")
        wc = self.client(wrapped["wrap_info"]["token"])
        inner = wc.sys.unwrap()
        self.assertEqual(inner["data"]["data"], {"k": "v"})

    def test_wrap_lookup_rewrap(self):
        root = self.client()
        out = root.write("sys/wrapping/wrap", wrap_ttl="45s", foo="bar")
        info = out["wrap_info"]
        self.assertEqual(info["creation_path"], "sys/wrapping/wrap")
        self.assertNotIn("wrapped_accessor", info)
        looked = root.write("sys/wrapping/lookup", token=info["token"])
        self.assertEqual(looked["data"]["creation_path"], "sys/wrapping/wrap")
        self.assertEqual(looked["data"]["creation_ttl"], 45)
        # lookup does not consume; rewrap does.
        new = root.write("sys/wrapping/rewrap", token=info["token"])
        self.assertEqual(new["wrap_info"]["creation_path"],
                         "sys/wrapping/wrap")
        self.assertNotEqual(new["wrap_info"]["token"], info["token"])
        with self.assertRaises(exceptions.InvalidRequest):
            root.sys.unwrap(info["token"])
        inner = root.sys.unwrap(new["wrap_info"]["token"])
        self.assertEqual(inner["data"], {"foo": "bar"})
        self.assertEqual(inner["foo"], "bar")   # sys injection

    def test_wrap_requires_header(self):
        with self.assertRaises(exceptions.InvalidRequest) as ctx:
            self.client().write("sys/wrapping/wrap", foo="bar")
        self.assertIn("endpoint requires response wrapping",
                      str(ctx.exception))

    def test_wrapping_ttl_limits_from_acl(self):
        auth, c = self.child(policies=["wrapped-only"])
        for bad in (None, "5s", "2h"):
            with self.subTest(wrap_ttl=bad):
                with self.assertRaises(exceptions.Forbidden):
                    c.read("secret/data/wrapped/x", wrap_ttl=bad)
        out = c.read("secret/data/wrapped/x", wrap_ttl="10m")
        self.assertEqual(out["wrap_info"]["ttl"], 600)

    def test_exact_default_rule_beats_glob_limits(self):
        # Vault consults exact-path rules before globs, so the default
        # policy's exact sys/wrapping/wrap rule wins over vsp-plugin's
        # sys/wrapping/* limits.
        plugin, pc = self.child(policies=["vsp-plugin"])
        out = pc.write("sys/wrapping/wrap", wrap_ttl="2h", a="b")
        self.assertEqual(out["wrap_info"]["ttl"], 7200)
        plugin, pc = self.child(policies=["vsp-plugin"],
                                no_default_policy=True)
        with self.assertRaises(exceptions.Forbidden):
            pc.write("sys/wrapping/wrap", wrap_ttl="2h", a="b")

    def test_bad_wrap_ttl(self):
        with self.assertRaises(exceptions.InvalidRequest):
            self.client().read("secret/data/app/db", wrap_ttl="soon")


class LeaseTests(HvacTestCase):
    def test_lookup_renew_revoke(self):
        root = self.client()
        creds = root.read("database/creds/readonly")
        lease_id = creds["lease_id"]
        self.assertTrue(lease_id.startswith("database/creds/readonly/"))
        self.assertEqual(len(lease_id.rsplit("/", 1)[1]), 24)
        self.assertTrue(creds["renewable"])
        self.assertEqual(creds["lease_duration"], 3600)
        self.assertTrue(creds["data"]["username"])
        looked = root.sys.read_lease(lease_id)["data"]
        self.assertEqual(looked["id"], lease_id)
        self.assertIsNone(looked["last_renewal"])
        renewed = root.sys.renew_lease(lease_id, increment=7200)
        self.assertEqual(renewed["lease_id"], lease_id)
        self.assertEqual(renewed["lease_duration"], 7200)
        self.assertIsNotNone(root.sys.read_lease(lease_id)["data"]
                             ["last_renewal"])
        resp = root.sys.revoke_lease(lease_id)
        self.assertEqual(resp.status_code, 204)
        with self.assertRaises(exceptions.InvalidRequest) as ctx:
            root.sys.read_lease(lease_id)
        self.assertIn("invalid lease", str(ctx.exception))

    def test_renew_capped_by_max_ttl(self):
        root = self.client()
        lease_id = root.read("database/creds/readonly")["lease_id"]
        renewed = root.sys.renew_lease(lease_id, increment=10 ** 6)
        self.assertLessEqual(renewed["lease_duration"], 24 * 3600)
        self.assertGreater(renewed["lease_duration"], 24 * 3600 - 10)
        self.assertTrue(renewed["warnings"])

    def test_list_and_revoke_prefix(self):
        root = self.client()
        ids = [root.read("database/creds/readonly")["lease_id"]
               for _ in range(3)]
        keys = root.sys.list_leases("database/creds/readonly")["data"]["keys"]
        for lid in ids:
            self.assertIn(lid.rsplit("/", 1)[1], keys)
        top = root.sys.list_leases("database/")["data"]["keys"]
        self.assertIn("creds/", top)
        root.sys.revoke_prefix("database/creds/readonly")
        for lid in ids:
            with self.assertRaises(exceptions.InvalidRequest):
                root.sys.read_lease(lid)

    def test_revoke_prefix_on_token_role_path(self):
        root = self.client()
        toks = [root.auth.token.create(role_name="vsp-task",
                                       policies=["app-read"])["auth"]
                for _ in range(2)]
        root.sys.revoke_prefix("auth/token/create/vsp-task")
        for t in toks:
            self.assertFalse(self.client(t["client_token"]).is_authenticated())

    def test_leases_die_with_token(self):
        auth, c = self.child(policies=["db-read"])
        lease_id = c.read("database/creds/readonly")["lease_id"]
        self.client().auth.token.revoke(auth["client_token"])
        with self.assertRaises(exceptions.InvalidRequest):
            self.client().sys.read_lease(lease_id)

    def test_list_needs_sudo(self):
        auth, c = self.child(policies=["db-read"])
        with self.assertRaises(exceptions.Forbidden):
            c.sys.list_leases("database/creds/readonly")


class KVTests(HvacTestCase):
    def test_kv2_versions_delete_undelete_destroy(self):
        kv = self.client().secrets.kv.v2
        kv.create_or_update_secret("conf/a", secret={"v": "1"})
        kv.create_or_update_secret("conf/a", secret={"v": "2"}, cas=1)
        with self.assertRaises(exceptions.InvalidRequest):
            kv.create_or_update_secret("conf/a", secret={"v": "x"}, cas=1)
        latest = kv.read_secret_version("conf/a")["data"]
        self.assertEqual(latest["data"], {"v": "2"})
        self.assertEqual(latest["metadata"]["version"], 2)
        first = kv.read_secret_version("conf/a", version=1)["data"]
        self.assertEqual(first["data"], {"v": "1"})

        kv.delete_latest_version_of_secret("conf/a")
        with self.assertRaises(exceptions.InvalidPath):
            kv.read_secret_version("conf/a")
        kv.undelete_secret_versions("conf/a", versions=[2])
        self.assertEqual(kv.read_secret_version("conf/a")["data"]["data"],
                         {"v": "2"})
        kv.destroy_secret_versions("conf/a", versions=[1])
        with self.assertRaises(exceptions.InvalidPath):
            kv.read_secret_version("conf/a", version=1)
        kv.delete_secret_versions("conf/a", versions=[2])
        with self.assertRaises(exceptions.InvalidPath):
            kv.read_secret_version("conf/a", version=2)

        meta = kv.read_secret_metadata("conf/a")["data"]
        self.assertEqual(meta["current_version"], 2)
        self.assertTrue(meta["versions"]["1"]["destroyed"])
        self.assertTrue(meta["versions"]["2"]["deletion_time"])
        # hvac 0.11's update_metadata has no custom_metadata parameter.
        self.client().write("secret/metadata/conf/a", max_versions=5,
                            custom_metadata={"owner": "vsp"})
        meta = kv.read_secret_metadata("conf/a")["data"]
        self.assertEqual(meta["max_versions"], 5)
        self.assertEqual(meta["custom_metadata"], {"owner": "vsp"})
        self.assertIn("a", kv.list_secrets("conf")["data"]["keys"])
        kv.delete_metadata_and_all_versions("conf/a")
        with self.assertRaises(exceptions.InvalidPath):
            kv.read_secret_metadata("conf/a")

    def test_kv2_patch_and_config_data(self):
        kv = self.client().secrets.kv.v2
        self.assertEqual(kv.read_secret_version("app/db")["data"]["data"],
                         {"password": "s3cr3t-db"})
        kv.create_or_update_secret("patch/me", secret={"a": 1, "b": 2})
        kv.patch("patch/me", {"b": 3, "c": 4})
        self.assertEqual(kv.read_secret_version("patch/me")["data"]["data"],
                         {"a": 1, "b": 3, "c": 4})

    def test_kv1(self):
        kv = self.client().secrets.kv.v1
        self.assertEqual(kv.read_secret("legacy", mount_point="kv1")["data"],
                         {"user": "legacy-user"})
        kv.create_or_update_secret("dir/x", {"k": "v"}, mount_point="kv1")
        out = kv.read_secret("dir/x", mount_point="kv1")
        self.assertEqual(out["data"], {"k": "v"})
        self.assertEqual(out["lease_id"], "")
        self.assertEqual(out["lease_duration"], 2764800)
        self.assertEqual(kv.list_secrets("dir", mount_point="kv1")
                         ["data"]["keys"], ["x"])
        kv.delete_secret("dir/x", mount_point="kv1")
        with self.assertRaises(exceptions.InvalidPath):
            kv.read_secret("dir/x", mount_point="kv1")

    def test_kv_acl(self):
        auth, c = self.child(policies=["app-read"])
        out = c.secrets.kv.v2.read_secret_version("app/db")
        self.assertEqual(out["data"]["data"]["password"], "s3cr3t-db")
        with self.assertRaises(exceptions.Forbidden):
            c.secrets.kv.v2.create_or_update_secret("app/db", secret={})
        with self.assertRaises(exceptions.Forbidden):
            c.secrets.kv.v2.read_secret_version("other/x")


class AppRoleTests(HvacTestCase):
    def test_login_flow(self):
        root = self.client()
        ar = root.auth.approle
        role_id = ar.read_role_id("vsp-plugin")["data"]["role_id"]
        self.assertEqual(role_id, "fixed-role-id")
        gen = ar.generate_secret_id("vsp-plugin",
                                    metadata={"host": "node1"})["data"]
        c = self.client()
        c.token = None
        login = c.auth.approle.login(role_id, gen["secret_id"])["auth"]
        self.assertTrue(login["orphan"])
        self.assertEqual(login["metadata"]["role_name"], "vsp-plugin")
        self.assertEqual(login["metadata"]["host"], "node1")
        self.assertEqual(login["lease_duration"], 3600)
        self.assertEqual(login["policies"], ["default", "vsp-plugin"])
        self.assertTrue(c.is_authenticated())
        me = c.auth.token.lookup_self()["data"]
        self.assertEqual(me["path"], "auth/approle/login")
        with self.assertRaises(exceptions.InvalidRequest) as ctx:
            self.client().auth.approle.login(role_id, "wrong")
        self.assertIn("invalid role or secret ID", str(ctx.exception))

    def test_secret_id_lookup_list_destroy(self):
        ar = self.client().auth.approle
        gen = ar.generate_secret_id("vsp-plugin")["data"]
        info = ar.read_secret_id("vsp-plugin", gen["secret_id"])["data"]
        self.assertEqual(info["secret_id_accessor"],
                         gen["secret_id_accessor"])
        keys = ar.list_secret_id_accessors("vsp-plugin")["data"]["keys"]
        self.assertIn(gen["secret_id_accessor"], keys)
        acc = ar.read_secret_id_accessor("vsp-plugin",
                                         gen["secret_id_accessor"])["data"]
        self.assertEqual(acc["secret_id_num_uses"], 0)
        ar.destroy_secret_id_accessor("vsp-plugin", gen["secret_id_accessor"])
        with self.assertRaises(exceptions.InvalidRequest):
            self.client().auth.approle.login("fixed-role-id",
                                             gen["secret_id"])
        gen2 = ar.generate_secret_id("vsp-plugin")["data"]
        ar.destroy_secret_id("vsp-plugin", gen2["secret_id"])
        with self.assertRaises(exceptions.InvalidRequest):
            self.client().auth.approle.login("fixed-role-id",
                                             gen2["secret_id"])

    def test_wrapped_secret_id(self):
        root = self.client()
        out = root.write("auth/approle/role/vsp-plugin/secret-id",
                         wrap_ttl="120s")
        info = out["wrap_info"]
        self.assertEqual(info["creation_path"],
                         "auth/approle/role/vsp-plugin/secret-id")
        inner = root.sys.unwrap(info["token"])["data"]
        self.assertEqual(info["wrapped_accessor"],
                         inner["secret_id_accessor"])

    def test_role_crud(self):
        ar = self.client().auth.approle
        ar.create_or_update_approle("worker", token_policies=["app-read"],
                                    token_ttl="10m", token_max_ttl="30m")
        role = ar.read_role("worker")["data"]
        self.assertEqual(role["token_ttl"], 600)
        self.assertEqual(role["token_policies"], ["app-read"])
        self.assertIn("worker", ar.list_roles()["data"]["keys"])
        ar.delete_role("worker")
        with self.assertRaises(exceptions.InvalidPath):
            ar.read_role("worker")


class SysTests(HvacTestCase):
    def test_health(self):
        root = self.client()
        status = root.sys.read_health_status(method="GET")
        self.assertFalse(status["sealed"])
        self.assertTrue(status["initialized"])
        head = root.sys.read_health_status(method="HEAD")
        self.assertEqual(head.status_code, 200)
        self.emu.set_faults({"standby": {"active_address":
                                         "http://127.0.0.1:1"}})
        resp = root.sys.read_health_status(method="GET")
        self.assertEqual(resp.status_code, 429)
        ok = root.sys.read_health_status(method="GET", standby_ok=True)
        self.assertTrue(ok["standby"])
        self.emu.set_faults({"sealed": True})
        resp = root.sys.read_health_status(method="GET")
        self.assertEqual(resp.status_code, 503)
        self.assertTrue(resp.json()["sealed"])
        resp = root.sys.read_health_status(method="GET", sealed_code=299)
        self.assertEqual(resp.status_code, 299)

    def test_policies(self):
        sys = self.client().sys
        sys.create_or_update_policy(
            "hvac-pol", {"path": {"secret/data/hvac/*":
                                  {"capabilities": ["read"]}}})
        self.assertIn("hvac-pol", sys.list_policies()["data"]["policies"])
        rules = sys.read_policy("hvac-pol")["data"]["rules"]
        self.assertIn("secret/data/hvac/*", rules)
        sys.create_or_update_policy(
            "hcl-pol", 'path "secret/data/hcl/*" { capabilities = ["read"] }')
        auth, c = self.child(policies=["hcl-pol"])
        self.client().secrets.kv.v2.create_or_update_secret(
            "hcl/x", secret={"a": "b"})
        self.assertEqual(c.secrets.kv.v2.read_secret_version("hcl/x")
                         ["data"]["data"], {"a": "b"})
        sys.delete_policy("hvac-pol")
        self.assertNotIn("hvac-pol", sys.list_policies()["data"]["policies"])

    def test_mounts(self):
        mounts = self.client().sys.list_mounted_secrets_engines()
        self.assertEqual(mounts["secret/"]["options"], {"version": "2"})
        self.assertEqual(mounts["data"]["database/"]["type"], "database")
        self.client().sys.enable_secrets_engine("kv", path="extra",
                                                options={"version": "2"})
        self.assertIn("extra/",
                      self.client().sys.list_mounted_secrets_engines())

    def test_pki_issue_and_revoke(self):
        root = self.client()
        out = root.write("pki/issue/web", common_name="api.example.test",
                         ttl="1h")
        data = out["data"]
        self.assertTrue(data["certificate"].startswith(
            "-----BEGIN CERTIFICATE-----"))
        self.assertTrue(data["private_key"].startswith("-----BEGIN"))
        self.assertEqual(data["ca_chain"], [data["issuing_ca"]])
        self.assertTrue(out["lease_id"].startswith("pki/issue/web/"))
        with self.assertRaises(exceptions.InvalidRequest):
            root.write("pki/issue/web", common_name="evil.example.com")
        with self.assertRaises(exceptions.InvalidRequest):
            root.write("pki/issue/web")
        rev = root.write("pki/revoke", serial_number=data["serial_number"])
        self.assertGreater(rev["data"]["revocation_time"], 0)


class ErrorClassTests(HvacTestCase):
    def test_status_classes(self):
        root = self.client()
        cases = [
            ({"error": {"status": 500}}, exceptions.InternalServerError),
            ({"error": {"status": 502}}, exceptions.BadGateway),
            ({"error": {"status": 412}}, exceptions.UnexpectedError),
            ({"rate_limit": {"retry_after": 1}},
             exceptions.RateLimitExceeded),
            ({"sealed": True}, exceptions.VaultDown),
        ]
        for faults, exc in cases:
            with self.subTest(faults=faults):
                self.emu.set_faults(faults)
                with self.assertRaises(exc):
                    root.auth.token.lookup_self()
        self.emu.set_faults({})
        with self.assertRaises(exceptions.InvalidRequest):
            root.auth.token.lookup_accessor("nope")
        with self.assertRaises(exceptions.Forbidden):
            self.client("hvs.bogus00000000000000000000").auth.token\
                .lookup_self()
        with self.assertRaises(exceptions.InvalidPath):
            root.adapter.get("/v1/secret/data/no/such/thing")
        with self.assertRaises(exceptions.InvalidPath):
            root.adapter.get("/v1/nomount/here")

    def test_sealed_message(self):
        self.emu.set_faults({"sealed": True})
        with self.assertRaises(exceptions.VaultDown) as ctx:
            self.client().auth.token.lookup_self()
        self.assertIn("Vault is sealed", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
