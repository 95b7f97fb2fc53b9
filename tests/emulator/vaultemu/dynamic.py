"""Dynamic secrets engines: `database` (leased username/password, spec
§5.4) and `pki` (certificate bundles, spec §5.5).

The PKI engine returns PEM-*shaped* data only: Python's standard library
cannot make X.509 certificates, so each PEM block wraps a plain-text
description that says it is fake. Clients can check the shape (BEGIN/END
lines, base64 body, serial format) but not parse a certificate."""

import base64
import secrets

from .common import (SYSTEM_MAX_TTL, Response, bad_request, parse_bool,
                     parse_duration, parse_str_list, random_base62, rfc3339)
from .leases import Lease
from .routing import Backend


def _ttl_field(body, key, default=0):
    value = parse_duration(body.get(key), key) if key in body else default
    if value < 0:
        raise bad_request("%s cannot be negative" % key)
    return value


class _RoleBackend(Backend):
    """A backend with `roles/<name>` CRUD; subclasses define _role(cfg,
    old) to validate and merge a role body."""

    def __init__(self, state, roles):
        super().__init__(state)
        self.roles = {name: self._role(cfg) for name, cfg in
                      (roles or {}).items()}

    def add_role_routes(self):
        self.add(r"roles/?", list=self.list_roles)
        self.add(r"roles/(?P<name>[^/]+)", read=self.read_role,
                 update=self.write_role, delete=self.delete_role)

    def list_roles(self, req, m):
        return Response(data={"keys": sorted(self.roles)})

    def read_role(self, req, m):
        role = self.roles.get(m.group("name"))
        return None if role is None else Response(data=dict(role))

    def write_role(self, req, m):
        name = m.group("name")
        self.roles[name] = self._role(req.body, self.roles.get(name))
        return None

    def delete_role(self, req, m):
        self.roles.pop(m.group("name"), None)
        return None


class DatabaseBackend(_RoleBackend):
    type = "database"

    def __init__(self, state, roles=None):
        super().__init__(state, roles)
        self.users = {}     # username -> lease id: the "database" accounts
        self.add(r"creds/(?P<role>[^/]+)", read=self.creds)
        self.add_role_routes()

    def _role(self, cfg, old=None):
        role = dict(old or {"default_ttl": 0, "max_ttl": 0,
                            "db_name": "emulated", "creation_statements": []})
        role["default_ttl"] = _ttl_field(cfg, "default_ttl",
                                         role["default_ttl"])
        role["max_ttl"] = _ttl_field(cfg, "max_ttl", role["max_ttl"])
        if "db_name" in cfg:
            role["db_name"] = str(cfg["db_name"])
        if "creation_statements" in cfg:
            role["creation_statements"] = parse_str_list(
                cfg["creation_statements"])
        return role

    def creds(self, req, m):
        name = m.group("role")
        role = self.roles.get(name)
        if role is None:
            raise bad_request("unknown role: %s" % name)
        max_ttl = role["max_ttl"] or SYSTEM_MAX_TTL
        ttl = min(role["default_ttl"] or SYSTEM_MAX_TTL, max_ttl)
        username = "v-%s-%s-%s" % (req.token.display_name[:8], name[:8],
                                   random_base62(20))
        password = "A1a-" + random_base62(20)
        lease = Lease(req.path, req.token.id, ttl, max_ttl, True,
                      self.state.clock.now(), on_revoke=self._drop_user,
                      default_ttl=ttl)
        lease.username = username
        self.state.leases.register(lease)
        self.users[username] = lease.id
        req.issued["lease_id"] = lease.id
        return Response(data={"username": username, "password": password},
                        lease=lease)

    def _drop_user(self, lease):
        self.users.pop(getattr(lease, "username", ""), None)


def _fake_pem(label, lines):
    text = "VSP EMULATOR FAKE %s - NOT A REAL X.509 OBJECT\n" % label
    text += "".join("%s\n" % line for line in lines)
    b64 = base64.b64encode(text.encode()).decode()
    body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return "-----BEGIN %s-----\n%s\n-----END %s-----" % (label, body, label)


class PKIBackend(_RoleBackend):
    type = "pki"

    def __init__(self, state, roles=None):
        super().__init__(state, roles)
        self.certs = {}     # serial -> {"certificate", "revoked": time}
        self.ca_pem = _fake_pem("CERTIFICATE", ["CN=vsp emulator root CA"])
        self.add(r"issue/(?P<role>[^/]+)", update=self.issue)
        self.add(r"revoke", update=self.revoke)
        self.add(r"cert/ca", read=self.read_ca)
        self.add(r"cert/(?P<serial>[^/]+)", read=self.read_cert)
        self.add_role_routes()

    def _role(self, cfg, old=None):
        role = dict(old or {"allowed_domains": [], "allow_subdomains": False,
                            "allow_bare_domains": False,
                            "allow_any_name": False, "allow_localhost": True,
                            "ttl": 0, "max_ttl": 0, "generate_lease": False,
                            "key_type": "rsa", "key_bits": 2048})
        if "allowed_domains" in cfg:
            role["allowed_domains"] = parse_str_list(cfg["allowed_domains"])
        for key in ("allow_subdomains", "allow_bare_domains",
                    "allow_any_name", "allow_localhost", "generate_lease"):
            if key in cfg:
                role[key] = parse_bool(cfg[key], key)
        role["ttl"] = _ttl_field(cfg, "ttl", role["ttl"])
        role["max_ttl"] = _ttl_field(cfg, "max_ttl", role["max_ttl"])
        if "key_type" in cfg:
            role["key_type"] = str(cfg["key_type"])
        return role

    def _name_allowed(self, role, name):
        if role["allow_any_name"]:
            return True
        if role["allow_localhost"] and name == "localhost":
            return True
        for domain in role["allowed_domains"]:
            if name == domain and role["allow_bare_domains"]:
                return True
            if role["allow_subdomains"] and name.endswith("." + domain):
                return True
        return False

    def issue(self, req, m):
        role = self.roles.get(m.group("role"))
        if role is None:
            raise bad_request("unknown role: %s" % m.group("role"))
        cn = str(req.body.get("common_name") or "")
        if not cn:
            raise bad_request("the common_name field is required")
        names = [cn] + parse_str_list(req.body.get("alt_names"))
        for name in names:
            if not self._name_allowed(role, name):
                raise bad_request("common name %s not allowed by this role"
                                  % name)
        warnings = []
        ttl = self._cert_ttl(req, role, warnings)
        now = self.state.clock.now()
        serial = ":".join("%02x" % b for b in secrets.token_bytes(20))
        cert = _fake_pem("CERTIFICATE", [
            "CN=%s" % cn, "SANs=%s" % ",".join(names), "serial=%s" % serial,
            "not_after=%s" % rfc3339(now + ttl)])
        key_label = "%s PRIVATE KEY" % role["key_type"].upper()
        data = {"certificate": cert, "issuing_ca": self.ca_pem,
                "ca_chain": [self.ca_pem],
                "private_key": _fake_pem(key_label, [random_base62(32)]),
                "private_key_type": role["key_type"],
                "serial_number": serial, "expiration": int(now + ttl)}
        self.certs[serial] = {"certificate": cert, "revoked": None}
        lease = None
        if role["generate_lease"]:
            lease = Lease(req.path, req.token.id, ttl, ttl, False, now,
                          on_revoke=lambda l, s=serial: self._mark(s))
            self.state.leases.register(lease)
            req.issued["lease_id"] = lease.id
        return Response(data=data, lease=lease, warnings=warnings)

    def _cert_ttl(self, req, role, warnings):
        max_ttl = role["max_ttl"] or SYSTEM_MAX_TTL
        ttl = _ttl_field(req.body, "ttl") or role["ttl"] or max_ttl
        if ttl > max_ttl:
            warnings.append("TTL %d is greater than the role's max_ttl %d; "
                            "capping" % (ttl, max_ttl))
            ttl = max_ttl
        return ttl

    def _mark(self, serial):
        cert = self.certs.get(serial)
        if cert and cert["revoked"] is None:
            cert["revoked"] = self.state.clock.now()

    def revoke(self, req, m):
        serial = str(req.body.get("serial_number") or "").lower()
        if not serial:
            raise bad_request("the serial number must be provided")
        if serial not in self.certs:
            raise bad_request("certificate with serial %s not found" % serial)
        self._mark(serial)
        t = self.certs[serial]["revoked"]
        return Response(data={"revocation_time": int(t),
                              "revocation_time_rfc3339": rfc3339(t),
                              "state": "revoked"})

    def read_ca(self, req, m):
        return Response(data={"certificate": self.ca_pem})

    def read_cert(self, req, m):
        cert = self.certs.get(m.group("serial").lower())
        if cert is None:
            return None
        revoked = cert["revoked"]
        return Response(data={"certificate": cert["certificate"],
                              "revocation_time": int(revoked or 0)})
