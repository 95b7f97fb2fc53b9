"""The token auth method's HTTP endpoints, `auth/token/*` (spec §2)."""

import fnmatch
import re

from .acl import INTERNAL_POLICIES
from .common import (SYSTEM_MAX_TTL, Response, VaultError, bad_request,
                     go_list, parse_bool, parse_duration, parse_int,
                     parse_str_list, parse_str_map)
from .routing import Backend
from .tokens import Token

_ROLE_TOKEN_TYPES = ("default-service", "default-batch", "service", "batch")


def sanitize_policies(names):
    """Lower-cased, trimmed, de-duplicated (first occurrence kept)."""
    out = []
    for n in names:
        n = n.strip().lower()
        if n and n not in out:
            out.append(n)
    return out


def _in_list_or_glob(name, names, globs):
    return name in names or any(fnmatch.fnmatchcase(name, g) for g in globs)


def default_role(name):
    return {"name": name, "allowed_policies": [], "disallowed_policies": [],
            "allowed_policies_glob": [], "disallowed_policies_glob": [],
            "orphan": False, "renewable": True, "path_suffix": "",
            "allowed_entity_aliases": [], "token_period": 0,
            "token_explicit_max_ttl": 0, "token_type": "default-service",
            "token_bound_cidrs": [], "token_no_default_policy": False}


def apply_role_fields(role, body):
    """Updates `role` in place from a role write body (or config entry)."""
    for key in ("allowed_policies", "disallowed_policies",
                "allowed_policies_glob", "disallowed_policies_glob",
                "allowed_entity_aliases", "token_bound_cidrs"):
        if key in body:
            role[key] = parse_str_list(body[key])
            if "policies" in key:
                role[key] = sanitize_policies(role[key])
    if "bound_cidrs" in body and "token_bound_cidrs" not in body:
        role["token_bound_cidrs"] = parse_str_list(body["bound_cidrs"])
    for key in ("orphan", "renewable", "token_no_default_policy"):
        if key in body:
            role[key] = parse_bool(body[key], key)
    for new, old in (("token_period", "period"),
                     ("token_explicit_max_ttl", "explicit_max_ttl")):
        value = body.get(new, body.get(old))
        if new in body or old in body:
            role[new] = parse_duration(value, new)
            if role[new] < 0:
                raise bad_request("%s cannot be negative" % new)
    if "path_suffix" in body:
        suffix = str(body["path_suffix"] or "")
        if ".." in suffix:
            raise bad_request("'..' is not allowed in 'path_suffix'")
        role["path_suffix"] = suffix.strip("/")
    if "token_type" in body:
        ttype = str(body["token_type"] or "default-service").lower()
        if ttype not in _ROLE_TOKEN_TYPES:
            raise bad_request("invalid 'token_type' value %r" % ttype)
        role["token_type"] = ttype
    return role


def role_view(role):
    view = dict(role)
    view["period"] = role["token_period"]
    view["explicit_max_ttl"] = role["token_explicit_max_ttl"]
    view["bound_cidrs"] = list(role["token_bound_cidrs"])
    return view


class TokenBackend(Backend):
    type = "token"

    def __init__(self, state):
        super().__init__(state)
        self.add(r"create", update=self.create)
        self.add(r"create-orphan", update=self.create_orphan)
        self.add(r"create/(?P<role>[^/]+)", update=self.create_role)
        self.add(r"roles/?", list=self.list_roles)
        self.add(r"roles/(?P<name>[^/]+)", read=self.read_role,
                 update=self.write_role, delete=self.delete_role,
                 existence=self.role_exists)
        self.add(r"lookup-self", read=self.lookup_self,
                 update=self.lookup_self)
        self.add(r"lookup", update=self.lookup, read=self.lookup)
        self.add(r"lookup/(?P<token>.+)", read=self.lookup)
        self.add(r"lookup-accessor", update=self.lookup_accessor)
        self.add(r"lookup-accessor/(?P<accessor>.+)",
                 update=self.lookup_accessor)
        self.add(r"renew-self", update=self.renew_self)
        self.add(r"renew", update=self.renew)
        self.add(r"renew/(?P<token>.+)", update=self.renew)
        self.add(r"renew-accessor", update=self.renew_accessor)
        self.add(r"revoke-self", update=self.revoke_self)
        self.add(r"revoke", update=self.revoke)
        self.add(r"revoke/(?P<token>.+)", update=self.revoke)
        self.add(r"revoke-accessor", update=self.revoke_accessor)
        self.add(r"revoke-accessor/(?P<accessor>.+)",
                 update=self.revoke_accessor)
        self.add(r"revoke-orphan", sudo=True, update=self.revoke_orphan)
        self.add(r"revoke-orphan/(?P<token>.+)", sudo=True,
                 update=self.revoke_orphan)
        self.add(r"accessors/?", sudo=True, list=self.list_accessors)
        self.add(r"tidy", update=self.tidy)

    @property
    def store(self):
        return self.state.tokens

    # --- create --------------------------------------------------------------

    def create(self, req, m):
        role_name = req.body.get("role_name") or ""
        return self._create(req, "create", role_name)

    def create_orphan(self, req, m):
        return self._create(req, "create-orphan", "")

    def create_role(self, req, m):
        return self._create(req, "create", m.group("role"))

    def _create(self, req, endpoint, role_name):
        parent = self._check_parent(req)
        role = None
        if role_name:
            role = self.store.roles.get(role_name.lower())
            if role is None:
                raise bad_request("unknown role %s" % role_name)
        params = self._parse_create_params(req, role)
        warnings = []
        is_sudo = req.is_root or req.acl.allows(req.path, "sudo")
        self._check_custom_id(params, is_sudo, warnings)
        policies = self._final_policies(params, parent, role, is_sudo)
        self._check_special_policies(policies, parent)
        warnings += self._missing_policy_warnings(policies)
        orphan = self._is_orphan(endpoint, role, params, is_sudo)
        period = self._period(params, role, is_sudo, warnings)
        explicit_max = self._explicit_max(params, role, warnings)
        ttl, renewable = self._ttl(params, policies, period, explicit_max,
                                   parent, warnings)
        if role is not None and not role["renewable"]:
            renewable = False
        token = self._mint(req, params, parent, role, policies, orphan,
                           period, explicit_max, ttl, renewable)
        return Response(auth=token.auth_object(), warnings=warnings)

    def _check_parent(self, req):
        parent = req.token
        if parent is None:
            raise bad_request("parent token lookup failed: no parent found")
        if parent.type == "batch":
            raise bad_request("batch tokens cannot create more tokens")
        if parent.restricted:
            raise bad_request(
                "restricted use token cannot generate child tokens")
        return parent

    def _parse_create_params(self, req, role):
        b = req.body
        p = {
            "id": b.get("id") or "",
            "policies": sanitize_policies(parse_str_list(b.get("policies"))),
            "meta": parse_str_map(b.get("meta")),
            "no_parent": parse_bool(b.get("no_parent"), "no_parent"),
            "no_default_policy": parse_bool(b.get("no_default_policy"),
                                            "no_default_policy"),
            "renewable": parse_bool(b.get("renewable"), "renewable", True),
            "ttl": parse_duration(b.get("ttl") or b.get("lease"), "ttl"),
            "explicit_max_ttl": parse_duration(b.get("explicit_max_ttl"),
                                               "explicit_max_ttl"),
            "period": parse_duration(b.get("period"), "period"),
            "num_uses": parse_int(b.get("num_uses"), "num_uses"),
            "display_name": str(b.get("display_name") or ""),
            "entity_alias": b.get("entity_alias") or "",
        }
        for key in ("ttl", "explicit_max_ttl", "period"):
            if p[key] < 0:
                raise bad_request("%s must be positive" % key)
        if p["num_uses"] < 0:
            raise bad_request("number of uses cannot be negative")
        if p["entity_alias"] and (role is None
                                  or not role["allowed_entity_aliases"]):
            raise bad_request("'entity_alias' is only allowed in combination"
                              " with token role")
        p["type"] = self._token_type(str(b.get("type") or "").lower(), role)
        if p["type"] == "batch":
            self._check_batch(p, role)
        return p

    def _token_type(self, requested, role):
        role_type = role["token_type"] if role else "default-service"
        if role_type in ("service", "batch"):
            if requested and requested != role_type:
                raise bad_request('token type "%s" is not allowed by this role'
                                  % requested)
            ttype = role_type
        else:
            ttype = requested or role_type.replace("default-", "")
        if ttype not in ("service", "batch"):
            raise bad_request("invalid 'token_type' value")
        return ttype

    def _check_batch(self, p, role):
        role_period = role["token_period"] if role else 0
        for field, value in (("explicit_max_ttl", p["explicit_max_ttl"]),
                             ("num_uses", p["num_uses"]),
                             ("period", p["period"] or role_period)):
            if value:
                raise bad_request('batch tokens cannot have "%s" set'
                                  % field)
        if p["id"]:
            raise bad_request("batch tokens cannot have a custom ID")
        p["renewable"] = False

    def _check_custom_id(self, p, is_sudo, warnings):
        if not p["id"]:
            return
        if not is_sudo:
            raise bad_request(
                "root or sudo privileges required to specify token id")
        if p["id"].startswith("s."):
            raise bad_request("custom token ID cannot have the 's.' prefix")
        if "." in p["id"]:
            raise bad_request("token IDs can not contain a period")
        if p["id"] in self.store.by_id:
            raise bad_request("cannot create a token with a duplicate ID")
        # Vault warns here that custom IDs are hashed with SHA1.
        warnings.append("custom token IDs are hashed with the weaker SHA1 "
                        "scheme instead of a salted SHA2-256 HMAC")

    def _final_policies(self, p, parent, role, is_sudo):
        """Spec §2.1's policy rules, in their evaluation order."""
        requested = list(p["policies"])
        parent_has_default = "default" in parent.policies
        no_default = p["no_default_policy"] or (
            role is not None and role["token_no_default_policy"])
        if role is not None and (
                role["allowed_policies"] or role["disallowed_policies"] or
                role["allowed_policies_glob"] or
                role["disallowed_policies_glob"]):
            final = self._role_policies(requested, role)
            disallowed_default = _in_list_or_glob(
                "default", role["disallowed_policies"],
                role["disallowed_policies_glob"])
            add_default = not no_default and not disallowed_default
        elif not requested:
            final = list(parent.policies)   # inherited, default included
            add_default = False
        elif not is_sudo:
            wanted = [x for x in requested if x != "default"]
            have = [x for x in parent.policies if x != "default"]
            if any(x not in have for x in wanted):
                raise bad_request("child policies must be subset of parent")
            final = requested
            add_default = parent_has_default and not no_default
        else:
            final = requested
            add_default = not no_default
        if no_default:
            final = [x for x in final if x != "default"]
        elif add_default and "default" not in final and "root" not in final:
            final.append("default")
        return sorted(set(final))

    def _role_policies(self, requested, role):
        allowed = [x for x in role["allowed_policies"] if x != "default"]
        globs = role["allowed_policies_glob"]
        if not requested:
            final = list(allowed)
        else:
            if allowed or globs:
                for name in requested:
                    if name == "default" or _in_list_or_glob(name, allowed,
                                                            globs):
                        continue
                    raise bad_request(
                        "token policies (%s) must be subset of the role's "
                        "allowed policies (%s) or glob policies (%s)"
                        % (go_list(requested), go_list(allowed),
                           go_list(globs)))
            final = list(requested)
        for name in final:
            if _in_list_or_glob(name, role["disallowed_policies"],
                                role["disallowed_policies_glob"]):
                raise bad_request(
                    'token policy "%s" is disallowed by this role' % name)
        return final

    def _check_special_policies(self, policies, parent):
        if "root" in policies and not parent.is_root:
            raise bad_request("root tokens may not be created without parent"
                              " token being root")
        for name in INTERNAL_POLICIES:
            if name in policies:
                raise bad_request('cannot assign policy "%s"' % name)

    def _missing_policy_warnings(self, policies):
        return ['Policy "%s" does not exist' % name for name in policies
                if name != "root" and not self.state.policies.exists(name)]

    def _is_orphan(self, endpoint, role, p, is_sudo):
        if endpoint == "create-orphan":
            return True
        if role is not None and role["orphan"]:
            return True
        if p["no_parent"]:
            if not is_sudo:
                raise bad_request("root or sudo privileges required to "
                                  "create orphan token")
            return True
        return False

    def _period(self, p, role, is_sudo, warnings):
        role_period = role["token_period"] if role else 0
        if role_period:
            if p["period"]:
                warnings.append("period specified both during creation call "
                                "and in role; using the lesser value of the "
                                "two")
                return min(p["period"], role_period)
            return role_period
        if p["period"] and not is_sudo:
            raise bad_request("root or sudo privileges required to create "
                              "periodic token")
        return p["period"]

    def _explicit_max(self, p, role, warnings):
        mine = p["explicit_max_ttl"]
        theirs = role["token_explicit_max_ttl"] if role else 0
        if mine and theirs:
            warnings.append("explicit max TTL specified both during creation"
                            " call and in role; using the lesser value of "
                            "the two")
            return min(mine, theirs)
        return mine or theirs

    def _ttl(self, p, policies, period, explicit_max, parent, warnings):
        """(ttl, renewable) from the requested TTL, period and caps."""
        renewable = p["renewable"]
        if period:
            ttl = min(period, explicit_max) if explicit_max else period
            return ttl, renewable
        ttl = p["ttl"]
        if ttl == 0:
            if "root" in policies and not explicit_max:
                if parent.expire_time is not None:
                    raise bad_request("expiring root tokens cannot create "
                                      "non-expiring root tokens")
                return 0, False
            ttl = SYSTEM_MAX_TTL
        limit = explicit_max or SYSTEM_MAX_TTL
        if ttl > limit:
            warnings.append("TTL of %ds is greater than the maximum of %ds; "
                            "TTL value is capped accordingly" % (ttl, limit))
            ttl = limit
        return ttl, renewable

    def _mint(self, req, p, parent, role, policies, orphan, period,
              explicit_max, ttl, renewable):
        path = "auth/token/create"
        if role is not None:
            path = "auth/token/create/" + role["name"]
            if role["path_suffix"]:
                path += "/" + role["path_suffix"]
        elif orphan and req.rel == "create-orphan":
            path = "auth/token/create-orphan"
        display = "token"
        if p["display_name"]:
            display = re.sub(r"[^a-zA-Z0-9-]", "-",
                             "token-" + p["display_name"]).rstrip("-")
        token = Token(
            id=p["id"] or self.store.new_id(p["type"]),
            accessor="" if p["type"] == "batch" else self.store.new_accessor(),
            policies=policies, parent_id=None if orphan else parent.id,
            meta=p["meta"] or None, display_name=display, path=path,
            role=role["name"] if role else "",
            creation_time=self.state.clock.now(), ttl=ttl,
            explicit_max_ttl=explicit_max, period=period,
            num_uses=p["num_uses"], renewable=renewable and ttl > 0,
            type=p["type"], orphan=orphan)
        self.store.add(token)
        req.issued["accessor"] = token.accessor or None
        return token

    # --- roles ---------------------------------------------------------------

    def list_roles(self, req, m):
        return Response(data={"keys": sorted(self.store.roles)})

    def role_exists(self, req, m):
        return m.group("name").lower() in self.store.roles

    def read_role(self, req, m):
        role = self.store.roles.get(m.group("name").lower())
        if role is None:
            return None
        return Response(data=role_view(role))

    def write_role(self, req, m):
        name = m.group("name").lower()
        role = dict(self.store.roles.get(name) or default_role(name))
        apply_role_fields(role, req.body)
        self.store.roles[name] = role
        return None

    def delete_role(self, req, m):
        self.store.roles.pop(m.group("name").lower(), None)
        return None

    # --- lookup --------------------------------------------------------------

    def _now(self):
        return self.state.clock.now()

    def lookup_self(self, req, m):
        return Response(data=req.token.lookup_data(self._now()))

    def lookup(self, req, m):
        tid = self._token_param(req, m)
        token = self.store.get(tid)
        if token is None:
            raise VaultError(403, ["bad token"])
        return Response(data=token.lookup_data(self._now()))

    def lookup_accessor(self, req, m):
        token = self._token_by_accessor(req, m)
        return Response(data=token.lookup_data(self._now(), include_id=False))

    def _token_param(self, req, m):
        tid = req.body.get("token") or (
            m.groupdict().get("token") if m else None)
        if not tid:
            raise bad_request("missing token ID")
        return tid

    def _token_by_accessor(self, req, m):
        acc = req.body.get("accessor") or m.groupdict().get("accessor")
        if not acc:
            raise bad_request("missing accessor")
        token = self.store.get_by_accessor(acc)
        if token is None:
            raise bad_request("invalid accessor")
        return token

    # --- renew ---------------------------------------------------------------

    def renew_self(self, req, m):
        return self._renew(req, req.token, include_token=True)

    def renew(self, req, m):
        token = self.store.get(self._token_param(req, m))
        if token is None:
            raise bad_request("token not found")
        return self._renew(req, token, include_token=True)

    def renew_accessor(self, req, m):
        token = self._token_by_accessor(req, m)
        return self._renew(req, token, include_token=False)

    def _renew(self, req, token, include_token):
        increment = parse_duration(req.body.get("increment"), "increment")
        if increment < 0:
            raise bad_request("increment must be positive")
        if token.type == "batch":
            raise bad_request("batch tokens cannot be renewed")
        if not token.renewable or token.expire_time is None:
            raise bad_request("lease is not renewable")
        ttl, warnings = self.store.renew(token, increment)
        return Response(auth=token.auth_object(include_token, ttl),
                        warnings=warnings)

    # --- revoke --------------------------------------------------------------

    def revoke_self(self, req, m):
        self._revoke_checked(req.token)
        return None

    def revoke(self, req, m):
        token = self.store.get(self._token_param(req, m))
        if token is not None:
            self._revoke_checked(token)
        return None

    def revoke_accessor(self, req, m):
        self._revoke_checked(self._token_by_accessor(req, m))
        return None

    def revoke_orphan(self, req, m):
        if not (req.is_root or req.acl.allows(req.path, "sudo")):
            raise bad_request("root or sudo privileges required to revoke "
                              "and orphan")
        token = self.store.get(self._token_param(req, m))
        if token is None:
            raise bad_request("token to revoke not found")
        if token.type == "batch":
            raise bad_request("batch tokens cannot be revoked")
        self.store.revoke_orphan(token)
        return None

    def _revoke_checked(self, token):
        if token.type == "batch":
            raise bad_request("batch tokens cannot be revoked")
        self.store.revoke_tree(token)

    # --- accessors, tidy -----------------------------------------------------

    def list_accessors(self, req, m):
        now = self._now()
        keys = sorted(t.accessor for t in self.store.live()
                      if t.accessor and (t.expire_time is None
                                         or t.expire_time > now))
        return Response(data={"keys": keys})

    def tidy(self, req, m):
        return Response(status=202, warnings=[
            "tidy operation successfully started (nothing to tidy in the "
            "emulator)"])
