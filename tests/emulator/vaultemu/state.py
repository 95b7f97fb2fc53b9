"""Everything the emulator knows, behind one lock: clock, policies, tokens,
leases, mounts, faults, audit and counters; plus start-up configuration."""

import heapq
import os
import threading

from . import acl
from .approle import AppRoleBackend
from .audit import AuditLog
from .clock import Clock
from .common import (VaultError, new_uuid, parse_bool, parse_duration,
                     parse_int, parse_str_list, random_base62)
from .cubbyhole import CubbyholeBackend
from .dynamic import DatabaseBackend, PKIBackend
from .faults import Faults
from .kv import KVv1Backend, KVv2Backend
from .leases import LeaseTable
from .routing import Mount
from .sysbackend import SystemBackend
from .token_backend import (TokenBackend, apply_role_fields, default_role,
                            sanitize_policies)
from .tokens import Token, TokenStore


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self.connections = 0
        self.reset()

    def reset(self):
        with self._lock:
            self.requests = 0
            self.by_path = {}
            self.by_operation = {}

    def new_connection(self):
        with self._lock:
            self.connections += 1
            return self.connections

    def count(self, path, operation):
        with self._lock:
            self.requests += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1
            self.by_operation[operation] = \
                self.by_operation.get(operation, 0) + 1

    def snapshot(self):
        with self._lock:
            return {"requests": self.requests, "by_path": dict(self.by_path),
                    "by_operation": dict(self.by_operation),
                    "connections": self.connections}


class State:
    def __init__(self, root_token, audit_path=None, namespace_mode="ce"):
        self.lock = threading.RLock()
        self.clock = Clock()
        self.started = self.clock.now()
        self._expiry = []           # heap of (time, kind, key)
        self.policies = acl.PolicyStore()
        self.tokens = TokenStore(self.clock, self._on_token_revoked,
                                 self._schedule)
        self.leases = LeaseTable(self.clock, self._schedule)
        self.faults = Faults()
        self.audit = AuditLog(audit_path)
        self.stats = Stats()
        self.namespace_mode = namespace_mode
        self.mounts = {}
        self._mount_defaults()
        self.root_token = self._make_root(root_token)

    # --- expiry --------------------------------------------------------------

    def _schedule(self, when, kind, key):
        heapq.heappush(self._expiry, (when, kind, key))

    def _on_token_revoked(self, token):
        self.leases.revoke_owned_by(token.id)

    def sweep(self):
        """Revokes every token and lease whose time has come. Called before
        each request and whenever the clock moves."""
        now = self.clock.now()
        with self.lock:
            while self._expiry and self._expiry[0][0] <= now:
                _, kind, key = heapq.heappop(self._expiry)
                if kind == "token":
                    self.tokens.expire_if_due(key, now)
                else:
                    self.leases.expire_if_due(key, now)

    # --- mounts --------------------------------------------------------------

    def _add_mount(self, path, backend, options=None, kind="secret",
                   description=""):
        prefix = "auth_" if kind == "auth" else ""
        mount = Mount(path, backend, options=options, description=description,
                      accessor="%s%s_%s" % (prefix, backend.type,
                                            random_base62(8).lower()),
                      uuid=new_uuid(), kind=kind)
        self.mounts[path] = mount
        return mount

    def _mount_defaults(self):
        self._add_mount("sys/", SystemBackend(self), kind="system",
                        description="system endpoints used for control, "
                                    "policy and debugging")
        self._add_mount("cubbyhole/", CubbyholeBackend(self),
                        description="per-token private secret storage")
        self._add_mount("auth/token/", TokenBackend(self), kind="auth",
                        description="token based credentials")
        self._add_mount("auth/approle/", AppRoleBackend(self), kind="auth")
        self.mount_secret_engine("secret/", "kv", {"version": "2"})

    def mount_secret_engine(self, path, mtype, options=None, config=None):
        path = path.strip("/") + "/"
        config = config or {}
        options = dict(options or {})
        if mtype in ("kv", "generic", "kv-v2", "kv-v1"):
            version = str(options.get("version") or
                          ("2" if mtype == "kv-v2" else "1"))
            if version == "2":
                backend = KVv2Backend(self)
            else:
                backend = KVv1Backend(self)
            options["version"] = version
        elif mtype == "database":
            backend = DatabaseBackend(self, config.get("roles"))
            options = options or None
        elif mtype == "pki":
            backend = PKIBackend(self, config.get("roles"))
            options = options or None
        else:
            raise VaultError(400, ['plugin not found in the catalog: %s'
                                   % mtype])
        return self._add_mount(path, backend, options=options or None)

    def unmount(self, path):
        mount = self.mounts.get(path)
        if mount is None or mount.kind != "secret" or path == "cubbyhole/":
            if mount is not None:
                raise VaultError(400, ["cannot unmount %r" % path])
            return
        for lease in [x for x in self.leases.live()
                      if x.id.startswith(path)]:
            self.leases.revoke(lease)
        del self.mounts[path]

    def find_mount(self, path):
        """The mount owning `path` (longest prefix), or None."""
        best = None
        for mpath, mount in self.mounts.items():
            if (path.startswith(mpath) or path + "/" == mpath) and \
                    (best is None or len(mpath) > len(best.path)):
                best = mount
        return best

    def backend(self, mount_path):
        return self.mounts[mount_path].backend

    # --- tokens --------------------------------------------------------------

    def _make_root(self, token_id):
        token = Token(id=token_id, accessor=self.tokens.new_accessor(),
                      policies=["root"], parent_id=None, orphan=True,
                      display_name="root", path="auth/token/root",
                      creation_time=self.clock.now(), ttl=0, renewable=False)
        self.tokens.add(token)
        return token

    def acl_for(self, token):
        return self.policies.acl_for(token.policies)

    # --- start-up configuration ----------------------------------------------

    def load_config(self, cfg):
        """Applies a start-up config (see README.md); order matters only in
        that policies and mounts exist before tokens and KV data."""
        if not isinstance(cfg, dict):
            raise ValueError("config must be a JSON object")
        self.namespace_mode = cfg.get("namespaces", self.namespace_mode)
        if self.namespace_mode not in ("ce", "prefix"):
            raise ValueError("namespaces must be 'ce' or 'prefix'")
        length = cfg.get("token_id_length", self.tokens.id_length)
        if not isinstance(length, int) or not 20 <= length <= 200:
            raise ValueError("token_id_length must be an integer, 20 to 200")
        self.tokens.id_length = length
        for name, policy in (cfg.get("policies") or {}).items():
            self.policies.put(name, policy)
        for name, body in (cfg.get("token_roles") or {}).items():
            role = default_role(name.lower())
            self.tokens.roles[name.lower()] = apply_role_fields(role, body)
        for path, spec in (cfg.get("mounts") or {}).items():
            self._config_mount(path, spec)
        for path, data in (cfg.get("kv") or {}).items():
            self.put_kv(path, data)
        for spec in cfg.get("tokens") or []:
            self._config_token(spec)
        approle = cfg.get("approle") or {}
        for name, body in (approle.get("roles") or {}).items():
            self._config_approle(name, body)

    def _config_mount(self, path, spec):
        path = path.strip("/") + "/"
        if path in self.mounts:
            if self.mounts[path].kind != "secret" or path == "cubbyhole/":
                raise ValueError("cannot replace mount %s" % path)
            del self.mounts[path]
        config = {"roles": spec.get("roles") or {}}
        self.mount_secret_engine(path, spec.get("type", "kv"),
                                 spec.get("options"), config)

    def put_kv(self, full_path, data):
        mount = self.find_mount(full_path)
        if mount is None or mount.type != "kv":
            raise ValueError("no KV mount for %s" % full_path)
        rel = full_path[len(mount.path):]
        if isinstance(mount.backend, KVv2Backend):
            if rel.startswith("data/"):
                rel = rel[len("data/"):]
            mount.backend.put(rel, data)
        else:
            mount.backend.put(rel, data)

    def _config_token(self, spec):
        ttype = spec.get("type", "service")
        policies = sanitize_policies(parse_str_list(spec.get("policies")))
        if not parse_bool(spec.get("no_default_policy"), default=False) and \
                "default" not in policies and "root" not in policies:
            policies.append("default")
        period = parse_duration(spec.get("period"))
        ttl = period or parse_duration(spec.get("ttl"))
        if ttl == 0 and "root" not in policies:
            ttl = 768 * 3600
        orphan = parse_bool(spec.get("orphan"), default=True)
        token = Token(
            id=spec.get("id") or self.tokens.new_id(ttype),
            accessor="" if ttype == "batch" else self.tokens.new_accessor(),
            policies=sorted(set(policies)),
            parent_id=None if orphan else self.root_token.id, orphan=orphan,
            meta=dict(spec.get("meta") or {}) or None,
            display_name="token-" + spec["display_name"]
            if spec.get("display_name") else "token",
            path=spec.get("path", "auth/token/create"),
            creation_time=self.clock.now(), ttl=ttl,
            explicit_max_ttl=parse_duration(spec.get("explicit_max_ttl")),
            period=period, num_uses=parse_int(spec.get("num_uses")),
            renewable=parse_bool(spec.get("renewable"), default=True)
            and ttl > 0 and ttype == "service", type=ttype)
        if token.id in self.tokens.by_id:
            raise ValueError("duplicate token id in config")
        self.tokens.add(token)
        if spec.get("write_to"):
            write_secret_file(spec["write_to"], token.id)

    def _config_approle(self, name, body):
        backend = self.mounts["auth/approle/"].backend
        role = backend.put_role(name, body)
        if body.get("role_id_write_to"):
            write_secret_file(body["role_id_write_to"], role["role_id"])
        for sid in body.get("secret_ids") or []:
            entry = backend.new_secret_id(
                name, secret_id=sid.get("secret_id"),
                metadata={str(k): str(v) for k, v in
                          (sid.get("metadata") or {}).items()},
                num_uses=sid.get("num_uses"),
                ttl=parse_duration(sid["ttl"]) if "ttl" in sid else None)
            if sid.get("write_to"):
                write_secret_file(sid["write_to"], entry["secret_id"])

    # --- control-API views ---------------------------------------------------

    def live_tokens(self):
        self.sweep()
        now = self.clock.now()
        with self.lock:
            return [t.public_state(now, self.tokens)
                    for t in self.tokens.live()]

    def live_leases(self):
        self.sweep()
        now = self.clock.now()
        with self.lock:
            return [x.public_state(now, self.tokens)
                    for x in self.leases.live()]


def write_secret_file(path, value):
    """Writes `value` to `path` with mode 0600, atomically."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
