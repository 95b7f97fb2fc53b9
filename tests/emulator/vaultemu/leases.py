"""Secret leases (spec §4): id = <request path>/<24 base62>, each owned by
the token that made the request and revoked with it."""

from .common import (SYSTEM_MAX_TTL, Response, bad_request, parse_bool,
                     parse_duration, random_base62, rfc3339)


class Lease:
    def __init__(self, path, owner_id, ttl, max_ttl, renewable, now,
                 on_revoke=None, default_ttl=None):
        self.id = "%s/%s" % (path, random_base62())
        self.path = path
        self.owner_id = owner_id
        self.issue_time = now
        self.ttl = ttl
        self.default_ttl = default_ttl or ttl
        self.expire_time = now + ttl
        self.max_expire = now + (max_ttl or SYSTEM_MAX_TTL)
        self.renewable = renewable
        self.last_renewal = None
        self.on_revoke = on_revoke

    def remaining(self, now):
        return max(0, int(round(self.expire_time - now)))

    def lookup_data(self, now):
        return {
            "id": self.id,
            "issue_time": rfc3339(self.issue_time),
            "expire_time": rfc3339(self.expire_time),
            "last_renewal": rfc3339(self.last_renewal),
            "renewable": self.renewable,
            "ttl": self.remaining(now),
        }

    def public_state(self, now, tokens):
        owner = tokens.by_id.get(self.owner_id)
        return {
            "lease_id": self.id,
            "owner_accessor": owner.accessor if owner else None,
            "renewable": self.renewable,
            "ttl": self.remaining(now),
            "issue_time": rfc3339(self.issue_time),
            "expire_time": rfc3339(self.expire_time),
        }


class LeaseTable:
    def __init__(self, clock, schedule):
        self.clock = clock
        self.by_id = {}
        self.by_owner = {}
        self._schedule = schedule

    def register(self, lease):
        self.by_id[lease.id] = lease
        self.by_owner.setdefault(lease.owner_id, set()).add(lease.id)
        self._schedule(lease.expire_time, "lease", lease.id)
        return lease

    def get(self, lease_id):
        lease = self.by_id.get(lease_id)
        if lease and lease.expire_time <= self.clock.now():
            self.revoke(lease)
            return None
        return lease

    def revoke(self, lease):
        if self.by_id.pop(lease.id, None) is None:
            return
        owned = self.by_owner.get(lease.owner_id)
        if owned:
            owned.discard(lease.id)
            if not owned:
                del self.by_owner[lease.owner_id]
        if lease.on_revoke:
            lease.on_revoke(lease)

    def revoke_owned_by(self, token_id):
        for lid in list(self.by_owner.get(token_id, ())):
            lease = self.by_id.get(lid)
            if lease:
                self.revoke(lease)

    def renew(self, lease, increment):
        """Returns (ttl, warnings); bounded by the lease's max TTL."""
        now = self.clock.now()
        ttl = increment or lease.default_ttl
        warnings = []
        if now + ttl > lease.max_expire:
            capped = max(0, int(lease.max_expire - now))
            warnings.append("TTL of %ds exceeded the effective max_ttl; TTL "
                            "value is capped to %ds" % (ttl, capped))
            ttl = capped
        lease.ttl = ttl
        lease.expire_time = now + ttl
        lease.last_renewal = now
        self._schedule(lease.expire_time, "lease", lease.id)
        return ttl, warnings

    def expire_if_due(self, lease_id, now):
        lease = self.by_id.get(lease_id)
        if lease and lease.expire_time <= now:
            self.revoke(lease)

    def live(self):
        return list(self.by_id.values())


# --- sys/leases/* endpoints --------------------------------------------------

class LeaseEndpoints:
    """sys/leases/* (and the legacy sys/renew, sys/revoke*). Tokens also
    appear here under their creation path, as they do in Vault's
    expiration manager, so revoke-prefix works on token paths too."""

    def __init__(self, state):
        self.state = state

    @property
    def table(self):
        return self.state.leases

    def _token_leases(self):
        now = self.state.clock.now()
        return {t.lease_id: t for t in self.state.tokens.live()
                if t.expire_time is not None and t.expire_time > now
                and t.type == "service"}

    def _lease_id(self, req, m):
        lid = req.body.get("lease_id") or (m.groupdict().get("lease_id")
                                           if m else None)
        if not lid:
            raise bad_request("lease_id must be specified")
        return lid

    def lookup(self, req, m):
        lid = self._lease_id(req, m)
        now = self.state.clock.now()
        lease = self.table.get(lid)
        if lease is not None:
            return Response(data=lease.lookup_data(now))
        token = self._token_leases().get(lid)
        if token is None:
            raise bad_request("invalid lease")
        return Response(data={
            "id": lid, "issue_time": rfc3339(token.creation_time),
            "expire_time": rfc3339(token.expire_time),
            "last_renewal": rfc3339(token.last_renewal_time),
            "renewable": token.renewable, "ttl": token.remaining(now)})

    def list_prefix(self, req, m):
        prefix = m.group("prefix")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        ids = [lid for lid in self.table.by_id] + list(self._token_leases())
        keys = set()
        for lid in ids:
            if lid.startswith(prefix):
                rest = lid[len(prefix):]
                head, sep, _ = rest.partition("/")
                keys.add(head + sep)
        return Response(data={"keys": sorted(keys)})

    def renew(self, req, m):
        lid = self._lease_id(req, m)
        increment = parse_duration(req.body.get("increment"), "increment")
        if increment < 0:
            raise bad_request("increment must be positive")
        lease = self.table.get(lid)
        if lease is None:
            if lid in self._token_leases():
                raise bad_request("tokens cannot be renewed through this "
                                  "endpoint; use auth/token/renew*")
            raise bad_request("lease not found")
        if not lease.renewable:
            raise bad_request("lease is not renewable")
        ttl, warnings = self.table.renew(lease, increment)
        return Response(lease_fields=(lease.id, lease.renewable, ttl),
                        warnings=warnings)

    def revoke(self, req, m):
        lid = self._lease_id(req, m)
        lease = self.table.get(lid)
        if lease is not None:
            self.table.revoke(lease)
        else:
            token = self._token_leases().get(lid)
            if token is not None:
                self.state.tokens.revoke_tree(token)
        return self._done(req)

    def revoke_prefix(self, req, m):
        prefix = m.group("prefix")
        exact = self.table.get(prefix)
        if exact is not None:
            self.table.revoke(exact)
            return self._done(req)
        if not prefix.endswith("/"):
            prefix += "/"
        for lease in [x for x in self.table.live()
                      if x.id.startswith(prefix)]:
            self.table.revoke(lease)
        for lid, token in self._token_leases().items():
            if lid.startswith(prefix) and token.id in self.state.tokens.by_id:
                self.state.tokens.revoke_tree(token)
        return self._done(req)

    def _done(self, req):
        sync = parse_bool(req.param("sync"), "sync", True)
        return None if sync else Response(status=202)

    def count(self, req, m):
        return Response(data={"lease_count": len(self.table.by_id),
                              "counts": None})

    def tidy(self, req, m):
        return Response(status=202, warnings=[
            "lease tidy started (nothing to tidy in the emulator)"])
