"""The AppRole auth method, `auth/approle/*` (spec §6)."""

import uuid

from .common import (SYSTEM_MAX_TTL, Response, bad_request, parse_bool,
                     parse_duration, parse_int, parse_str_list,
                     parse_str_map, rfc3339)
from .routing import Backend
from .token_backend import sanitize_policies
from .tokens import Token

INVALID_LOGIN = "invalid role or secret ID"
_NEVER = "0001-01-01T00:00:00Z"

_DURATIONS = ("secret_id_ttl", "token_ttl", "token_max_ttl", "token_period",
              "token_explicit_max_ttl")
_LEGACY = {"policies": "token_policies", "period": "token_period",
           "bound_cidr_list": "secret_id_bound_cidrs"}


def default_role(name):
    return {"name": name, "role_id": str(uuid.uuid4()),
            "bind_secret_id": True, "secret_id_bound_cidrs": [],
            "secret_id_num_uses": 0, "secret_id_ttl": 0,
            "local_secret_ids": False, "token_policies": [],
            "token_ttl": 0, "token_max_ttl": 0, "token_period": 0,
            "token_num_uses": 0, "token_type": "default",
            "token_no_default_policy": False, "token_bound_cidrs": [],
            "token_explicit_max_ttl": 0}


def apply_role_fields(role, body):
    body = dict(body)
    for old, new in _LEGACY.items():
        if old in body and new not in body:
            body[new] = body[old]
    for key in _DURATIONS:
        if key in body:
            role[key] = parse_duration(body[key], key)
            if role[key] < 0:
                raise bad_request("%s cannot be negative" % key)
    for key in ("secret_id_num_uses", "token_num_uses"):
        if key in body:
            role[key] = parse_int(body[key], key)
            if role[key] < 0:
                raise bad_request("%s cannot be negative" % key)
    for key in ("bind_secret_id", "local_secret_ids",
                "token_no_default_policy"):
        if key in body:
            role[key] = parse_bool(body[key], key)
    for key in ("secret_id_bound_cidrs", "token_bound_cidrs"):
        if key in body:
            role[key] = parse_str_list(body[key])
    if "token_policies" in body:
        role["token_policies"] = sanitize_policies(
            parse_str_list(body["token_policies"]))
    if "token_type" in body:
        ttype = str(body["token_type"] or "default")
        if ttype not in ("default", "service", "batch", "default-service",
                         "default-batch"):
            raise bad_request("invalid 'token_type' value")
        role["token_type"] = ttype
    if body.get("role_id"):
        role["role_id"] = str(body["role_id"])
    if role["token_max_ttl"] and role["token_ttl"] > role["token_max_ttl"]:
        raise bad_request("token_ttl should not be greater than "
                          "token_max_ttl")
    return role


class AppRoleBackend(Backend):
    type = "approle"

    def __init__(self, state):
        super().__init__(state)
        self.roles = {}
        self.secret_ids = {}        # secret_id -> entry
        r = r"role/(?P<role>[^/]+)"
        self.add(r"login", unauth=True, update=self.login)
        self.add(r"role/?", list=self.list_roles)
        self.add(r, read=self.read_role, update=self.write_role,
                 delete=self.delete_role,
                 existence=lambda req, m: m.group("role") in self.roles)
        self.add(r + "/role-id", read=self.read_role_id,
                 update=self.write_role_id)
        self.add(r + "/secret-id/?", update=self.generate, list=self.list_ids)
        self.add(r + "/custom-secret-id", update=self.generate)
        self.add(r + "/secret-id/lookup", update=self.lookup_id)
        self.add(r + "/secret-id/destroy", update=self.destroy_id,
                 delete=self.destroy_id)
        self.add(r + "/secret-id-accessor/lookup",
                 update=self.lookup_accessor)
        self.add(r + "/secret-id-accessor/destroy",
                 update=self.destroy_accessor, delete=self.destroy_accessor)

    def _now(self):
        return self.state.clock.now()

    # --- roles ---------------------------------------------------------------

    def put_role(self, name, body):
        role = dict(self.roles.get(name) or default_role(name))
        self.roles[name] = apply_role_fields(role, body)
        return self.roles[name]

    def _role(self, m, must_exist=True):
        role = self.roles.get(m.group("role"))
        if role is None and must_exist:
            raise bad_request('role "%s" does not exist' % m.group("role"))
        return role

    def list_roles(self, req, m):
        return Response(data={"keys": sorted(self.roles)})

    def read_role(self, req, m):
        role = self._role(m, must_exist=False)
        if role is None:
            return None
        data = {k: v for k, v in role.items()
                if k not in ("name", "role_id")}
        data["policies"] = list(role["token_policies"])
        data["period"] = role["token_period"]
        return Response(data=data)

    def write_role(self, req, m):
        self.put_role(m.group("role"), req.body)
        return None

    def delete_role(self, req, m):
        name = m.group("role")
        self.roles.pop(name, None)
        for sid in [s for s, e in self.secret_ids.items()
                    if e["role"] == name]:
            del self.secret_ids[sid]
        return None

    def read_role_id(self, req, m):
        role = self._role(m, must_exist=False)
        return None if role is None else \
            Response(data={"role_id": role["role_id"]})

    def write_role_id(self, req, m):
        role = self._role(m)
        if not req.body.get("role_id"):
            raise bad_request("missing role_id")
        role["role_id"] = str(req.body["role_id"])
        return None

    # --- secret IDs ----------------------------------------------------------

    def new_secret_id(self, name, secret_id=None, metadata=None, num_uses=None,
                      ttl=None, cidrs=None, token_cidrs=None):
        role = self.roles[name]
        if ttl is None:
            ttl = role["secret_id_ttl"]
        elif role["secret_id_ttl"] and (ttl == 0 or
                                        ttl > role["secret_id_ttl"]):
            ttl = role["secret_id_ttl"]
        if num_uses is None:
            num_uses = role["secret_id_num_uses"]
        now = self._now()
        entry = {"secret_id": secret_id or str(uuid.uuid4()),
                 "accessor": str(uuid.uuid4()), "role": name,
                 "creation_time": now, "last_updated_time": now,
                 "expiration_time": now + ttl if ttl else None,
                 "metadata": metadata or {}, "num_uses": num_uses,
                 "ttl": ttl, "cidr_list": cidrs or [],
                 "token_bound_cidrs": token_cidrs or []}
        if entry["secret_id"] in self.secret_ids:
            raise bad_request("SecretID is already registered")
        self.secret_ids[entry["secret_id"]] = entry
        return entry

    def generate(self, req, m):
        role = self._role(m)
        b = req.body
        num_uses = parse_int(b["num_uses"], "num_uses") \
            if "num_uses" in b else None
        if num_uses is not None and num_uses < 0:
            raise bad_request("num_uses cannot be negative")
        ttl = parse_duration(b["ttl"], "ttl") if "ttl" in b else None
        entry = self.new_secret_id(
            role["name"], secret_id=b.get("secret_id") or None,
            metadata=parse_str_map(b.get("metadata"), "metadata"),
            num_uses=num_uses, ttl=ttl,
            cidrs=parse_str_list(b.get("cidr_list")),
            token_cidrs=parse_str_list(b.get("token_bound_cidrs")))
        req.issued["secret_id_accessor"] = entry["accessor"]
        return Response(data={"secret_id": entry["secret_id"],
                              "secret_id_accessor": entry["accessor"],
                              "secret_id_ttl": entry["ttl"],
                              "secret_id_num_uses": entry["num_uses"]},
                        wrapped_accessor=entry["accessor"])

    def _live(self, entry):
        if entry is None:
            return None
        exp = entry["expiration_time"]
        if exp is not None and exp <= self._now():
            self.secret_ids.pop(entry["secret_id"], None)
            return None
        return entry

    def _by_id(self, req, m):
        sid = req.body.get("secret_id")
        if not sid:
            raise bad_request("missing secret_id")
        entry = self._live(self.secret_ids.get(sid))
        if entry is not None and entry["role"] != m.group("role"):
            entry = None
        return entry

    def _by_accessor(self, req, m):
        acc = req.body.get("secret_id_accessor")
        if not acc:
            raise bad_request("missing secret_id_accessor")
        for entry in list(self.secret_ids.values()):
            if entry["accessor"] == acc and entry["role"] == m.group("role"):
                if self._live(entry):
                    return entry
        raise bad_request("failed to find accessor entry for "
                          "secret_id_accessor: %s" % acc)

    def _entry_view(self, e):
        return {"cidr_list": list(e["cidr_list"]),
                "creation_time": rfc3339(e["creation_time"]),
                "expiration_time": rfc3339(e["expiration_time"])
                if e["expiration_time"] else _NEVER,
                "last_updated_time": rfc3339(e["last_updated_time"]),
                "metadata": dict(e["metadata"]),
                "secret_id_accessor": e["accessor"],
                "secret_id_num_uses": e["num_uses"],
                "secret_id_ttl": e["ttl"],
                "token_bound_cidrs": list(e["token_bound_cidrs"])}

    def lookup_id(self, req, m):
        self._role(m)
        entry = self._by_id(req, m)
        # An update that finds nothing answers 204, as Vault does here.
        return None if entry is None else Response(
            data=self._entry_view(entry))

    def destroy_id(self, req, m):
        self._role(m)
        entry = self._by_id(req, m)
        if entry is not None:
            self.secret_ids.pop(entry["secret_id"], None)
        return None

    def lookup_accessor(self, req, m):
        self._role(m)
        return Response(data=self._entry_view(self._by_accessor(req, m)))

    def destroy_accessor(self, req, m):
        self._role(m)
        entry = self._by_accessor(req, m)
        self.secret_ids.pop(entry["secret_id"], None)
        return None

    def list_ids(self, req, m):
        self._role(m)
        keys = sorted(e["accessor"] for e in list(self.secret_ids.values())
                      if e["role"] == m.group("role") and self._live(e))
        return Response(data={"keys": keys})

    # --- login ---------------------------------------------------------------

    def login(self, req, m):
        role_id = req.body.get("role_id")
        if not role_id:
            raise bad_request("missing role_id")
        role = next((r for r in self.roles.values()
                     if r["role_id"] == role_id), None)
        if role is None:
            raise bad_request(INVALID_LOGIN)
        metadata = {}
        if role["bind_secret_id"]:
            metadata = self._spend_secret_id(req, role)
        token = self._login_token(role, metadata)
        req.issued["accessor"] = token.accessor
        return Response(auth=token.auth_object())

    def _spend_secret_id(self, req, role):
        sid = req.body.get("secret_id")
        if not sid:
            raise bad_request("missing secret_id")
        entry = self._live(self.secret_ids.get(sid))
        if entry is None or entry["role"] != role["name"]:
            raise bad_request(INVALID_LOGIN)
        if entry["num_uses"] > 0:
            entry["num_uses"] -= 1
            entry["last_updated_time"] = self._now()
            if entry["num_uses"] == 0:
                del self.secret_ids[sid]
        return dict(entry["metadata"])

    def _login_token(self, role, metadata):
        policies = list(role["token_policies"])
        if not role["token_no_default_policy"] and "default" not in policies:
            policies.append("default")
        max_ttl = role["token_max_ttl"]
        ttl = role["token_period"] or role["token_ttl"] or SYSTEM_MAX_TTL
        if role["token_explicit_max_ttl"]:
            ttl = min(ttl, role["token_explicit_max_ttl"])
        if max_ttl and not role["token_period"]:
            ttl = min(ttl, max_ttl)
        meta = dict(metadata)
        meta["role_name"] = role["name"]
        store = self.state.tokens
        ttype = "batch" if role["token_type"] in ("batch", "default-batch") \
            else "service"
        token = Token(
            id=store.new_id(ttype),
            accessor="" if ttype == "batch" else store.new_accessor(),
            policies=sorted(set(policies)), parent_id=None, orphan=True,
            meta=meta, display_name="approle", path="auth/approle/login",
            creation_time=self._now(), ttl=ttl,
            explicit_max_ttl=role["token_explicit_max_ttl"],
            max_ttl=max_ttl, period=role["token_period"],
            num_uses=role["token_num_uses"], renewable=ttype == "service",
            type=ttype)
        store.add(token)
        return token
