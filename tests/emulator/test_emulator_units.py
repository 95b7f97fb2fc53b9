"""Unit tests of the emulator's pure parts (durations, ACL globs and
priorities, policy parsing) and the token-create rules of spec §2.1, one
rule per test, in the spec's evaluation order.

Run: /usr/bin/python3 -m unittest -v test_emulator_units"""

import unittest

from emulator_harness import Emulator
from vaultemu import acl
from vaultemu.common import (VaultError, multierror, parse_duration,
                             rfc3339)
from vaultemu.kv import go_duration
from vaultemu.tokens import Token


class DurationTests(unittest.TestCase):
    def test_forms(self):
        cases = {90: 90, "90": 90, "90s": 90, "20m": 1200, "25h": 90000,
                 "1h30m": 5400, "1.5h": 5400, "500ms": 0, "": 0, None: 0,
                 3.7: 3, "-5": -5, "2d": 172800}
        for value, want in cases.items():
            with self.subTest(value=value):
                self.assertEqual(parse_duration(value), want)

    def test_invalid(self):
        for value in ("abc", "5x", "h", True, [1]):
            with self.subTest(value=value):
                with self.assertRaises(VaultError) as ctx:
                    parse_duration(value)
                self.assertEqual(ctx.exception.status, 400)

    def test_go_duration(self):
        self.assertEqual(go_duration(0), "0s")
        self.assertEqual(go_duration(90), "1m30s")
        self.assertEqual(go_duration(3600), "1h0m0s")

    def test_formats(self):
        self.assertEqual(multierror("permission denied"),
                         "1 error occurred:\n\t* permission denied\n\n")
        self.assertEqual(multierror("a", "b"),
                         "2 errors occurred:\n\t* a\n\t* b\n\n")
        self.assertEqual(rfc3339(0), "1970-01-01T00:00:00Z")
        self.assertEqual(rfc3339(1.5), "1970-01-01T00:00:01.5Z")


class TokenModelTests(unittest.TestCase):
    def test_renewal_limits(self):
        periodic = Token(id="a", creation_time=0, ttl=60, period=60)
        self.assertIsNone(periodic.max_expire())
        capped = Token(id="b", creation_time=0, ttl=60, period=60,
                       explicit_max_ttl=600)
        self.assertEqual(capped.max_expire(), 600)
        approle = Token(id="c", creation_time=0, ttl=60, max_ttl=240)
        self.assertEqual(approle.max_expire(), 240)
        plain = Token(id="d", creation_time=0, ttl=60)
        self.assertEqual(plain.max_expire(), 768 * 3600)


def make_acl(*policies):
    return acl.ACL([acl.parse_policy(p) for p in policies])


class ACLTests(unittest.TestCase):
    def test_globs(self):
        a = make_acl({"path": {
            "secret/*": {"capabilities": ["read"]},
            "kv/+/config": {"capabilities": ["update"]},
            "exact/path": {"capabilities": ["list"]}}})
        self.assertTrue(a.allows("secret/a/b", "read"))
        self.assertTrue(a.allows("secret/", "read"))
        self.assertFalse(a.allows("secret", "read"))
        self.assertTrue(a.allows("kv/team/config", "update"))
        self.assertFalse(a.allows("kv/team/sub/config", "update"))
        self.assertTrue(a.allows("exact/path", "list"))
        self.assertFalse(a.allows("exact/path/more", "list"))

    def test_list_matches_the_path_without_its_slash(self):
        # Vault adds "/" to a LIST path, then also tries the exact rule
        # without it: `path "auth/token/accessors"` allows the listing.
        a = make_acl({"path": {
            "auth/token/accessors": {"capabilities": ["list", "sudo"]}}})
        self.assertTrue(a.allows("auth/token/accessors/", "list", "list"))
        self.assertTrue(a.allows("auth/token/accessors/", "sudo", "list"))
        self.assertFalse(a.allows("auth/token/accessors/", "list", "read"))

    def test_most_specific_rule_wins(self):
        a = make_acl({"path": {
            "secret/*": {"capabilities": ["read", "list"]},
            "secret/data/app/*": {"capabilities": ["update"]},
            "secret/data/app/fixed": {"capabilities": ["deny"]},
            "secret/+/other": {"capabilities": ["delete"]}}})
        self.assertEqual(a.capabilities("secret/data/app/x"), ["update"])
        self.assertEqual(a.capabilities("secret/data/app/fixed"), ["deny"])
        self.assertEqual(a.capabilities("secret/zzz"), ["list", "read"])
        self.assertEqual(a.capabilities("secret/a/other"), ["delete"])

    def test_policies_merge_and_deny_wins(self):
        a = make_acl(
            {"path": {"secret/*": {"capabilities": ["read"]}}},
            {"path": {"secret/*": {"capabilities": ["update"]}}})
        self.assertEqual(a.capabilities("secret/x"), ["read", "update"])
        a = make_acl(
            {"path": {"secret/*": {"capabilities": ["read"]}}},
            {"path": {"secret/*": {"capabilities": ["deny"]}}})
        self.assertFalse(a.allows("secret/x", "read"))

    def test_wrapping_ttl_bounds(self):
        a = make_acl({"path": {"p/*": {"capabilities": ["read"],
                                       "min_wrapping_ttl": "1s",
                                       "max_wrapping_ttl": "1h"}}})
        rule = a.rule_for("p/x")
        self.assertEqual((rule.min_wrapping_ttl, rule.max_wrapping_ttl),
                         (1, 3600))
        with self.assertRaises(VaultError):
            acl.parse_policy({"path": {"p": {"capabilities": ["read"],
                                             "min_wrapping_ttl": "1h",
                                             "max_wrapping_ttl": "1s"}}})

    def test_hcl_and_json_forms(self):
        hcl = '''
        # comment
        path "secret/data/app/*" {
          capabilities = ["read", "list"]
          min_wrapping_ttl = "5s"
        }
        path "auth/token/create/vsp-task" { capabilities = ["update"] }
        '''
        parsed = acl.parse_policy(hcl)
        self.assertEqual(parsed["secret/data/app/*"]["capabilities"],
                         ["read", "list"])
        self.assertEqual(parsed["secret/data/app/*"]["min_wrapping_ttl"], 5)
        as_json = acl.parse_policy('{"path": {"a/*": {"capabilities": '
                                   '["read"]}}}')
        self.assertEqual(as_json["a/*"]["capabilities"], ["read"])
        with self.assertRaises(VaultError):
            acl.parse_policy({"path": {"a": {"capabilities": ["fly"]}}})

    def test_root_and_default(self):
        store = acl.PolicyStore()
        self.assertTrue(store.acl_for(["root"]).allows("anything", "sudo"))
        default = store.acl_for(["default"])
        self.assertTrue(default.allows("auth/token/lookup-self", "read"))
        self.assertTrue(default.allows("sys/wrapping/unwrap", "update"))
        self.assertFalse(default.allows("secret/data/x", "read"))
        with self.assertRaises(VaultError):
            store.delete("default")


class TokenRuleTests(unittest.TestCase):
    """Spec §2.1, "Policy rules, in evaluation order", and the rest of the
    create parameters. Each test names the rule it checks."""

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator().start()
        cls.root = cls.emu.root_token

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def create(self, token=None, path="auth/token/create", **body):
        status, _, out = self.emu.api("POST", path, token or self.root, body)
        return status, out

    def ok(self, token=None, path="auth/token/create", **body):
        status, out = self.create(token, path, **body)
        self.assertEqual(status, 200, out)
        return out["auth"], out["warnings"] or []

    def err(self, token=None, path="auth/token/create", **body):
        status, out = self.create(token, path, **body)
        self.assertEqual(status, 400, out)
        return out["errors"][0]

    def parent(self, *policies, **body):
        auth, _ = self.ok(policies=list(policies), **body)
        return auth["client_token"]

    # rule 1: roles
    def test_rule1_role_allowed_subset(self):
        role = "auth/token/create/vsp-task"
        plugin = self.parent("vsp-plugin")
        auth, _ = self.ok(plugin, role, policies=["app-read", "db-read"])
        self.assertEqual(auth["policies"], ["app-read", "db-read", "default"])
        msg = self.err(plugin, role, policies=["app-read", "root-ish"])
        self.assertIn("must be subset of the role's allowed policies", msg)
        self.assertIn('"root-ish"', msg)

    def test_rule1_role_policies_disjoint_from_parent(self):
        plugin = self.parent("vsp-plugin")
        auth, _ = self.ok(plugin, "auth/token/create/vsp-task")
        self.assertEqual(auth["policies"],
                         ["app-read", "app-write", "db-read", "default"])

    def test_rule1_role_globs_and_disallowed(self):
        role = "auth/token/create/glob"
        auth, _ = self.ok(path=role, policies=["team-a"])
        self.assertEqual(auth["policies"], ["default", "team-a"])
        msg = self.err(path=role, policies=["team-secret"])
        self.assertEqual(msg, 'token policy "team-secret" is disallowed by '
                              'this role')
        self.assertIn("must be subset", self.err(path=role,
                                                 policies=["other"]))
        # Glob entries are never auto-added.
        auth, _ = self.ok(path=role)
        self.assertEqual(auth["policies"], ["default"])

    def test_rule1_default_rules_with_role(self):
        self.emu.api("POST", "auth/token/roles/nodefault", self.root,
                     {"allowed_policies": ["a"],
                      "disallowed_policies": ["default"]})
        auth, _ = self.ok(path="auth/token/create/nodefault")
        self.assertEqual(auth["policies"], ["a"])
        auth, _ = self.ok(path="auth/token/create/vsp-task",
                          policies=["app-read"], no_default_policy=True)
        self.assertEqual(auth["policies"], ["app-read"])

    # rule 2: inherit
    def test_rule2_inherits_parent_policies(self):
        p = self.parent("plain-create", "app-read")
        auth, _ = self.ok(p)
        self.assertEqual(auth["policies"],
                         ["app-read", "default", "plain-create"])
        p = self.parent("plain-create", no_default_policy=True)
        auth, _ = self.ok(p)
        self.assertEqual(auth["policies"], ["plain-create"])

    # rule 3: no sudo
    def test_rule3_subset_of_parent(self):
        p = self.parent("plain-create", "app-read")
        auth, _ = self.ok(p, policies=["app-read"])
        self.assertEqual(auth["policies"], ["app-read", "default"])
        self.assertEqual(self.err(p, policies=["app-write"]),
                         "child policies must be subset of parent")
        p = self.parent("plain-create", "app-read", no_default_policy=True)
        auth, _ = self.ok(p, policies=["app-read", "default"])
        self.assertEqual(auth["policies"], ["app-read", "default"])
        auth, _ = self.ok(p, policies=["app-read"])
        self.assertEqual(auth["policies"], ["app-read"])

    # rule 4: sudo
    def test_rule4_sudo_any_policies(self):
        p = self.parent("sudo-create")
        auth, warnings = self.ok(p, policies=["anything"])
        self.assertEqual(auth["policies"], ["anything", "default"])
        self.assertIn('Policy "anything" does not exist', warnings)
        auth, _ = self.ok(p, policies=["anything"], no_default_policy=True)
        self.assertEqual(auth["policies"], ["anything"])

    def test_root_and_internal_policies(self):
        p = self.parent("sudo-create")
        self.assertEqual(self.err(p, policies=["root"]),
                         "root tokens may not be created without parent "
                         "token being root")
        self.assertIn("response-wrapping",
                      self.err(policies=["response-wrapping"]))
        auth, _ = self.ok(policies=["root"])
        self.assertEqual(auth["policies"], ["root"])
        self.assertEqual(auth["lease_duration"], 0)
        self.assertFalse(auth["renewable"])

    def test_policy_list_normalised(self):
        auth, _ = self.ok(policies="B, a,A ,b")
        self.assertEqual(auth["policies"], ["a", "b", "default"])

    def test_orphans(self):
        p = self.parent("plain-create", "app-read")
        self.assertEqual(self.err(p, policies=["app-read"], no_parent=True),
                         "root or sudo privileges required to create orphan "
                         "token")
        auth, _ = self.ok(p, "auth/token/create-orphan",
                          policies=["app-read"])
        self.assertTrue(auth["orphan"])
        plugin = self.parent("vsp-plugin")
        auth, _ = self.ok(plugin, "auth/token/create/vsp-task")
        self.assertTrue(auth["orphan"])
        auth, _ = self.ok(policies=["x"], no_parent=True)
        self.assertTrue(auth["orphan"])

    def test_periods(self):
        p = self.parent("plain-create", "app-read")
        self.assertEqual(self.err(p, policies=["app-read"], period="1h"),
                         "root or sudo privileges required to create "
                         "periodic token")
        auth, _ = self.ok(path="auth/token/create/periodic", ttl="5m")
        self.assertEqual(auth["lease_duration"], 3600)
        auth, warnings = self.ok(path="auth/token/create/periodic",
                                 period="10m")
        self.assertEqual(auth["lease_duration"], 600)
        self.assertTrue(warnings)

    def test_explicit_max(self):
        auth, warnings = self.ok(policies=["a"], ttl="2h",
                                 explicit_max_ttl="1h")
        self.assertEqual(auth["lease_duration"], 3600)
        self.emu.api("POST", "auth/token/roles/capped", self.root,
                     {"token_explicit_max_ttl": "30m"})
        auth, warnings = self.ok(path="auth/token/create/capped",
                                 explicit_max_ttl="2h")
        self.assertEqual(auth["lease_duration"], 1800)
        self.assertTrue(warnings)

    def test_ttl_defaults_and_caps(self):
        auth, _ = self.ok(policies=["a"])
        self.assertEqual(auth["lease_duration"], 2764800)
        auth, warnings = self.ok(policies=["a"], ttl="800h")
        self.assertEqual(auth["lease_duration"], 2764800)
        self.assertTrue(warnings)
        auth, _ = self.ok(policies=["a"], ttl=120)
        self.assertEqual(auth["lease_duration"], 120)

    def test_num_uses_and_batch(self):
        self.assertEqual(self.err(policies=["a"], num_uses=-1),
                         "number of uses cannot be negative")
        self.assertEqual(self.err(policies=["a"], type="batch", num_uses=3),
                         'batch tokens cannot have "num_uses" set')
        self.assertEqual(self.err(policies=["a"], type="batch", period="1h"),
                         'batch tokens cannot have "period" set')
        self.assertEqual(self.err(policies=["a"], type="weird"),
                         "invalid 'token_type' value")
        auth, _ = self.ok(policies=["plain-create"], type="batch",
                          ttl="10m")
        self.assertTrue(auth["client_token"].startswith("hvb."))
        self.assertEqual(auth["accessor"], "")
        self.assertEqual(auth["token_type"], "batch")
        self.assertFalse(auth["renewable"])
        batch = auth["client_token"]
        self.assertEqual(self.err(batch, policies=["plain-create"]),
                         "batch tokens cannot create more tokens")
        status, _, out = self.emu.api("POST", "auth/token/renew-self", batch)
        self.assertEqual((status, out["errors"]),
                         (400, ["batch tokens cannot be renewed"]))
        status, _, out = self.emu.api("POST", "auth/token/revoke", self.root,
                                      {"token": batch})
        self.assertEqual((status, out["errors"]),
                         (400, ["batch tokens cannot be revoked"]))

    def test_custom_ids(self):
        p = self.parent("plain-create", "a")
        self.assertIn("root or sudo privileges required",
                      self.err(p, policies=["a"], id="custom-1"))
        self.assertIn("period", self.err(id="has.period"))
        self.assertIn("'s.' prefix", self.err(id="s.abc"))
        auth, warnings = self.ok(policies=["a"], id="custom-2")
        self.assertEqual(auth["client_token"], "custom-2")
        self.assertTrue(warnings)
        self.assertIn("duplicate", self.err(policies=["a"], id="custom-2"))

    def test_display_name_and_meta(self):
        auth, _ = self.ok(policies=["a"], display_name="My Task/1!",
                          meta={"k": "v"})
        status, _, out = self.emu.api("GET", "auth/token/lookup-self",
                                      auth["client_token"])
        self.assertEqual(out["data"]["display_name"], "token-My-Task-1")
        self.assertEqual(out["data"]["meta"], {"k": "v"})
        self.assertEqual(out["data"]["creation_ttl"], 2764800)
        for key in ("accessor", "creation_time", "creation_ttl",
                    "display_name", "entity_id", "expire_time",
                    "explicit_max_ttl", "id", "issue_time", "meta",
                    "num_uses", "orphan", "path", "policies", "renewable",
                    "ttl", "type"):
            self.assertIn(key, out["data"])
        self.assertNotIn("last_renewal", out["data"])
        self.emu.api("POST", "auth/token/renew-self", auth["client_token"])
        status, _, out = self.emu.api("GET", "auth/token/lookup-self",
                                      auth["client_token"])
        self.assertIn("last_renewal", out["data"])
        self.assertIn("last_renewal_time", out["data"])

    def test_parent_errors(self):
        # A restricted-use parent may not create children.
        p = self.parent("plain-create", num_uses=5)
        self.assertEqual(self.err(p, policies=["plain-create"]),
                         "restricted use token cannot generate child tokens")
        self.assertIn("unknown role",
                      self.err(path="auth/token/create/no-such-role"))

    def test_accessor_and_revoke_errors(self):
        api = self.emu.api
        for path in ("auth/token/lookup-accessor",
                     "auth/token/revoke-accessor",
                     "auth/token/renew-accessor"):
            status, _, out = api("POST", path, self.root,
                                 {"accessor": "nope"})
            self.assertEqual((status, out["errors"]),
                             (400, ["invalid accessor"]))
            status, _, out = api("POST", path, self.root, {})
            self.assertEqual((status, out["errors"]),
                             (400, ["missing accessor"]))
        status, _, out = api("POST", "auth/token/revoke-orphan", self.root,
                             {"token": "hvs.none"})
        self.assertEqual((status, out["errors"]),
                         (400, ["token to revoke not found"]))
        status, _, out = api("POST", "auth/token/renew", self.root,
                             {"token": "hvs.none"})
        self.assertEqual((status, out["errors"]), (400, ["token not found"]))
        p = self.parent("plain-create", "a")
        status, _, _ = api("POST", "auth/token/revoke-orphan", p,
                           {"token": p})
        self.assertEqual(status, 403)
        status, _, _ = api("POST", "auth/token/revoke", self.root, {})
        self.assertEqual(status, 400)


if __name__ == "__main__":
    unittest.main()
