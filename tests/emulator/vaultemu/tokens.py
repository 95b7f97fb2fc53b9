"""The token store: per-token state (spec §9.1), the parent/child tree,
accessors and token roles. The HTTP handlers live in token_backend.py."""

from .common import (SYSTEM_MAX_TTL, random_base62, rfc3339)


class Token:
    """One token. `ttl` is the TTL of the current lease period;
    `expire_time` is None for tokens that never expire (root)."""

    def __init__(self, **kw):
        self.id = kw["id"]
        self.accessor = kw.get("accessor", "")
        self.policies = list(kw.get("policies", []))
        self.parent_id = kw.get("parent_id")
        self.children = set()
        self.meta = kw.get("meta")
        self.display_name = kw.get("display_name", "token")
        self.path = kw.get("path", "auth/token/create")
        self.role = kw.get("role", "")
        self.creation_time = kw["creation_time"]
        self.creation_ttl = kw.get("ttl", 0)
        self.ttl = kw.get("ttl", 0)
        self.explicit_max_ttl = kw.get("explicit_max_ttl", 0)
        # The max TTL a renewal may reach when no explicit max is set
        # (AppRole's token_max_ttl; otherwise the system maximum).
        self.max_ttl = kw.get("max_ttl", 0) or SYSTEM_MAX_TTL
        self.period = kw.get("period", 0)
        self.num_uses = kw.get("num_uses", 0)
        self.restricted = self.num_uses > 0
        self.renewable = kw.get("renewable", True)
        self.type = kw.get("type", "service")
        self.orphan = kw.get("orphan", self.parent_id is None)
        self.entity_id = ""
        self.last_renewal_time = None
        self.expire_time = (self.creation_time + self.ttl) if self.ttl \
            else None
        # Set when the last allowed use is spent; revoked after the request.
        self.exhausted = False
        # Lease-id suffix under the creation path (sys/leases/* views).
        self.lease_suffix = random_base62()
        # Wrapping tokens carry the wrapped response (their "cubbyhole").
        self.wrapped = None
        self.cubbyhole = {}

    @property
    def is_root(self):
        return "root" in self.policies

    @property
    def lease_id(self):
        return "%s/%s" % (self.path, self.lease_suffix)

    def remaining(self, now):
        if self.expire_time is None:
            return 0
        return max(0, int(round(self.expire_time - now)))

    def max_expire(self):
        """The latest time renewals may reach. Periodic tokens renew for
        ever unless they have an explicit max."""
        if self.period and not self.explicit_max_ttl:
            return None
        limit = self.explicit_max_ttl or self.max_ttl
        return self.creation_time + limit if limit else None

    def lookup_data(self, now, include_id=True):
        """The `data` of a lookup response (spec §2.3)."""
        d = {
            "accessor": self.accessor,
            "creation_time": int(self.creation_time),
            "creation_ttl": self.creation_ttl,
            "display_name": self.display_name,
            "entity_id": self.entity_id,
            "expire_time": rfc3339(self.expire_time),
            "explicit_max_ttl": self.explicit_max_ttl,
            "id": self.id if include_id else "",
            "issue_time": rfc3339(self.creation_time),
            "meta": dict(self.meta) if self.meta else None,
            "num_uses": self.num_uses,
            "orphan": self.orphan,
            "path": self.path,
            "policies": list(self.policies),
            "renewable": self.renewable,
            "ttl": self.remaining(now),
            "type": self.type,
        }
        if self.last_renewal_time is not None:
            d["last_renewal"] = rfc3339(self.last_renewal_time)
            d["last_renewal_time"] = int(self.last_renewal_time)
        if self.role:
            d["role"] = self.role
        if self.period:
            d["period"] = self.period
        return d

    def auth_object(self, include_token=True, lease_duration=None):
        """The `auth` object of create, login and renew responses."""
        return {
            "client_token": self.id if include_token else "",
            "accessor": self.accessor,
            "policies": list(self.policies),
            "token_policies": list(self.policies),
            "metadata": dict(self.meta) if self.meta else None,
            "lease_duration": self.ttl if lease_duration is None
            else lease_duration,
            "renewable": self.renewable,
            "entity_id": self.entity_id,
            "token_type": self.type,
            "orphan": self.orphan,
            "mfa_requirement": None,
            "num_uses": self.num_uses,
        }

    def public_state(self, now, store):
        """What the control API shows: everything but the token id."""
        parent = store.by_id.get(self.parent_id) if self.parent_id else None
        return {
            "accessor": self.accessor,
            "policies": list(self.policies),
            "meta": dict(self.meta) if self.meta else None,
            "display_name": self.display_name,
            "path": self.path,
            "role": self.role,
            "parent_accessor": parent.accessor if parent else None,
            "orphan": self.orphan,
            "type": self.type,
            "renewable": self.renewable,
            "ttl": self.remaining(now),
            "creation_time": rfc3339(self.creation_time),
            "expire_time": rfc3339(self.expire_time),
            "explicit_max_ttl": self.explicit_max_ttl,
            "period": self.period,
            "num_uses": self.num_uses,
            "wrapping": "response-wrapping" in self.policies,
        }


class TokenStore:
    """Tokens by id and accessor, and the revocation tree.

    `on_revoke(token)` is called for every token revoked (the state uses it
    to revoke the token's leases); `schedule(time, kind, key)` registers an
    expiry with the state's sweeper."""

    def __init__(self, clock, on_revoke, schedule):
        self.clock = clock
        self.by_id = {}
        self.by_accessor = {}
        self.roles = {}
        self._on_revoke = on_revoke
        self._schedule = schedule
        # Random characters after the prefix. Vault's own service tokens
        # carry about 91 (a signed protobuf); 24 keeps logs readable.
        self.id_length = 24

    def new_id(self, kind="service"):
        prefix = "hvb." if kind == "batch" else "hvs."
        while True:
            tid = prefix + random_base62(self.id_length)
            if tid not in self.by_id:
                return tid

    def add(self, token):
        self.by_id[token.id] = token
        if token.accessor:
            self.by_accessor[token.accessor] = token
        if token.parent_id and token.parent_id in self.by_id:
            self.by_id[token.parent_id].children.add(token.id)
        if token.expire_time is not None:
            self._schedule(token.expire_time, "token", token.id)

    def new_accessor(self):
        while True:
            acc = random_base62(24)
            if acc not in self.by_accessor:
                return acc

    def get(self, token_id):
        """The live token, or None (expired tokens are revoked first)."""
        tok = self.by_id.get(token_id)
        if tok is None:
            return None
        if tok.expire_time is not None and tok.expire_time <= self.clock.now():
            self.revoke_tree(tok)
            return None
        return tok

    def get_by_accessor(self, accessor):
        tok = self.by_accessor.get(accessor)
        return self.get(tok.id) if tok else None

    def revoke_tree(self, token):
        """Revokes `token`, every descendant and all their leases."""
        stack, order = [token], []
        while stack:
            t = stack.pop()
            order.append(t)
            stack.extend(self.by_id[c] for c in t.children if c in self.by_id)
        for t in reversed(order):  # leaves first, as Vault does
            self._remove(t)

    def revoke_orphan(self, token):
        """Revokes `token` and its leases; its children become orphans."""
        for cid in list(token.children):
            child = self.by_id.get(cid)
            if child:
                child.parent_id = None
                child.orphan = True
        token.children.clear()
        self._remove(token)

    def _remove(self, token):
        if self.by_id.pop(token.id, None) is None:
            return
        if token.accessor:
            self.by_accessor.pop(token.accessor, None)
        parent = self.by_id.get(token.parent_id) if token.parent_id else None
        if parent:
            parent.children.discard(token.id)
        self._on_revoke(token)

    def renew(self, token, increment):
        """Applies a renewal; returns (new_ttl, warnings). The caller has
        checked renewability. `increment` is the TTL wanted from now."""
        now = self.clock.now()
        warnings = []
        if token.period:
            ttl = token.period
        else:
            ttl = increment or token.creation_ttl
        max_expire = token.max_expire()
        if max_expire is not None and now + ttl > max_expire:
            capped = max(0, int(max_expire - now))
            if capped < ttl:
                warnings.append(
                    "TTL of %ds exceeded the effective max_ttl; TTL value "
                    "is capped to %ds" % (ttl, capped))
            ttl = capped
        token.ttl = ttl
        token.last_renewal_time = now
        token.expire_time = now + ttl
        self._schedule(token.expire_time, "token", token.id)
        return ttl, warnings

    def expire_if_due(self, token_id, now):
        tok = self.by_id.get(token_id)
        if tok and tok.expire_time is not None and tok.expire_time <= now:
            self.revoke_tree(tok)

    def live(self):
        return list(self.by_id.values())
