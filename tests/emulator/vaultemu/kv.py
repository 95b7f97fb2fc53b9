"""KV secrets engines, version 1 and 2 (spec §5.1, §5.2). KV never
registers leases."""

import copy

from .common import (SYSTEM_MAX_TTL, Response, VaultError, bad_request,
                     parse_bool, parse_duration, parse_int, rfc3339)
from .routing import Backend

# The spec fixes the first sentence; the rest is the emulator's wording.
V1_PATH_WARNING = ("Invalid path for a versioned K/V secrets engine. Use the "
                   "data/ and metadata/ paths of the KV v2 API (the CLI's "
                   "'kv' subcommands do this).")
DEFAULT_MAX_VERSIONS = 10


def go_duration(seconds):
    """Go's time.Duration String() for whole seconds: 0s, 90s→1m30s."""
    seconds = int(seconds)
    if seconds == 0:
        return "0s"
    h, rest = divmod(seconds, 3600)
    mnt, sec = divmod(rest, 60)
    if h:
        return "%dh%dm%ds" % (h, mnt, sec)
    if mnt:
        return "%dm%ds" % (mnt, sec)
    return "%ds" % sec


def _list_keys(paths, prefix):
    keys = set()
    for p in paths:
        if p.startswith(prefix) and p != prefix:
            head, sep, _ = p[len(prefix):].partition("/")
            keys.add(head + sep)
    return sorted(keys)


class KVv1Backend(Backend):
    type = "kv"

    def __init__(self, state):
        super().__init__(state)
        self.items = {}
        self.add(r"(?P<path>.*)", read=self.read, update=self.write,
                 delete=self.delete, list=self.list, existence=self.exists)

    def exists(self, req, m):
        return _path(m) in self.items

    def put(self, path, data):
        self.items[path] = copy.deepcopy(data)

    def read(self, req, m):
        data = self.items.get(_path(m))
        if data is None:
            return None
        duration = SYSTEM_MAX_TTL
        if "ttl" in data:
            try:
                duration = parse_duration(data["ttl"], "ttl")
            except VaultError:
                pass
        return Response(data=copy.deepcopy(data),
                        lease_fields=("", False, duration))

    def write(self, req, m):
        if not _path(m):
            raise bad_request("missing path")
        self.put(_path(m), req.body)
        return None

    def delete(self, req, m):
        self.items.pop(_path(m), None)
        return None

    def list(self, req, m):
        return Response(data={"keys": _list_keys(self.items, _path(m))})


class Secret:
    """A KV v2 key: its metadata and versions."""

    def __init__(self, now):
        self.created_time = now
        self.updated_time = now
        self.current_version = 0
        self.oldest_version = 0
        self.max_versions = 0
        self.cas_required = False
        self.delete_version_after = 0
        self.custom_metadata = None
        self.versions = {}

    def version_meta(self, n, with_custom=True):
        v = self.versions[n]
        meta = {"created_time": rfc3339(v["created_time"]),
                "deletion_time": rfc3339(v["deletion_time"])
                if v["deletion_time"] else "",
                "destroyed": v["destroyed"]}
        if with_custom:
            meta["custom_metadata"] = self.custom_metadata
            meta["version"] = n
        return meta

    def is_deleted(self, n, now):
        t = self.versions[n]["deletion_time"]
        return t is not None and t <= now

    def metadata(self):
        return {
            "cas_required": self.cas_required,
            "created_time": rfc3339(self.created_time),
            "current_version": self.current_version,
            "custom_metadata": self.custom_metadata,
            "delete_version_after": go_duration(self.delete_version_after),
            "max_versions": self.max_versions,
            "oldest_version": self.oldest_version,
            "updated_time": rfc3339(self.updated_time),
            "versions": {str(n): self.version_meta(n, with_custom=False)
                         for n in sorted(self.versions)},
        }


class KVv2Backend(Backend):
    type = "kv"

    def __init__(self, state):
        super().__init__(state)
        self.secrets = {}
        self.config = {"max_versions": 0, "cas_required": False,
                       "delete_version_after": 0}
        self.add(r"config", read=self.read_config, update=self.write_config)
        self.add(r"data/(?P<path>.+)", read=self.read, update=self.write,
                 patch=self.patch, delete=self.delete_latest,
                 existence=self.exists)
        self.add(r"delete/(?P<path>.+)", update=self.delete_versions)
        self.add(r"undelete/(?P<path>.+)", update=self.undelete)
        self.add(r"destroy/(?P<path>.+)", update=self.destroy)
        self.add(r"metadata(?:/(?P<path>.*))?", read=self.read_metadata,
                 update=self.write_metadata, patch=self.write_metadata,
                 delete=self.delete_metadata, list=self.list,
                 existence=self.exists)
        self.add(r"subkeys/(?P<path>.+)", read=self.subkeys)
        self.add(r"(?P<path>.*)", read=self.v1_path, update=self.v1_path,
                 delete=self.v1_path, list=self.v1_path, patch=self.v1_path)

    def _now(self):
        return self.state.clock.now()

    def exists(self, req, m):
        return _path(m) in self.secrets

    # --- data ----------------------------------------------------------------

    def put(self, path, data, cas=None):
        """Writes a new version; returns its number."""
        now = self._now()
        secret = self.secrets.get(path)
        cas_required = self.config["cas_required"] or (
            secret is not None and secret.cas_required)
        if cas is None and cas_required:
            raise bad_request("check-and-set parameter required for this "
                              "call")
        current = secret.current_version if secret else 0
        if cas is not None and cas != current:
            raise bad_request("check-and-set parameter did not match the "
                              "current version")
        if secret is None:
            secret = self.secrets[path] = Secret(now)
        n = secret.current_version + 1
        after = secret.delete_version_after or \
            self.config["delete_version_after"]
        secret.versions[n] = {"data": copy.deepcopy(data),
                              "created_time": now,
                              "deletion_time": now + after if after else None,
                              "destroyed": False}
        secret.current_version = n
        secret.updated_time = now
        if secret.oldest_version == 0:
            secret.oldest_version = n
        self._prune(secret)
        return secret, n

    def _prune(self, secret):
        keep = secret.max_versions or self.config["max_versions"] or \
            DEFAULT_MAX_VERSIONS
        while len(secret.versions) > keep:
            oldest = min(secret.versions)
            del secret.versions[oldest]
        if secret.versions:
            secret.oldest_version = min(secret.versions)

    def _read_version(self, req, m, key, render):
        """A read of one version (`?version=N`, default current) answering
        {key: render(data), "metadata": ...}. Spec §5.2: a deleted or
        destroyed version is a 404 with a full envelope, key null."""
        secret = self.secrets.get(_path(m))
        if secret is None:
            return None
        n = parse_int(req.query.get("version"), "version", 0) or \
            secret.current_version
        if n not in secret.versions:
            return None
        meta = secret.version_meta(n)
        v = secret.versions[n]
        if v["destroyed"] or secret.is_deleted(n, self._now()):
            return Response(status=404, data={key: None, "metadata": meta})
        return Response(data={key: render(v["data"]), "metadata": meta})

    def read(self, req, m):
        return self._read_version(req, m, "data", copy.deepcopy)

    def write(self, req, m):
        data = req.body.get("data")
        if not isinstance(data, dict):
            raise bad_request("no data provided")
        options = req.body.get("options") or {}
        cas = options.get("cas") if isinstance(options, dict) else None
        cas = None if cas is None else parse_int(cas, "cas")
        secret, n = self.put(_path(m), data, cas)
        return Response(data=secret.version_meta(n))

    def patch(self, req, m):
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype.lower() != "application/merge-patch+json":
            raise VaultError(415, ["Unsupported Media Type"])
        secret = self.secrets.get(_path(m))
        n = secret.current_version if secret else 0
        if not n or n not in secret.versions or \
                secret.versions[n]["destroyed"] or \
                secret.is_deleted(n, self._now()):
            return None
        data = req.body.get("data")
        if not isinstance(data, dict):
            raise bad_request("no data provided")
        merged = _merge_patch(copy.deepcopy(secret.versions[n]["data"]), data)
        options = req.body.get("options") or {}
        cas = options.get("cas") if isinstance(options, dict) else None
        secret, n = self.put(_path(m), merged,
                             None if cas is None else parse_int(cas, "cas"))
        return Response(data=secret.version_meta(n))

    def delete_latest(self, req, m):
        secret = self.secrets.get(_path(m))
        if secret and secret.current_version in secret.versions:
            v = secret.versions[secret.current_version]
            if v["deletion_time"] is None or v["deletion_time"] > self._now():
                v["deletion_time"] = self._now()
        return None

    def _versions(self, req):
        versions = req.body.get("versions")
        if isinstance(versions, (int, str)):
            versions = [versions]
        if not versions:
            raise bad_request("no version number provided")
        return [parse_int(v, "versions") for v in versions]

    def delete_versions(self, req, m):
        self._each_version(req, m, self._soft_delete)
        return None

    def undelete(self, req, m):
        self._each_version(req, m, lambda v: v.update(deletion_time=None)
                           if not v["destroyed"] else None)
        return None

    def destroy(self, req, m):
        self._each_version(req, m, lambda v: v.update(destroyed=True,
                                                      data=None))
        return None

    def _soft_delete(self, v):
        if not v["destroyed"] and v["deletion_time"] is None:
            v["deletion_time"] = self._now()

    def _each_version(self, req, m, action):
        versions = self._versions(req)
        secret = self.secrets.get(_path(m))
        if secret is None:
            return
        for n in versions:
            if n in secret.versions:
                action(secret.versions[n])

    # --- metadata ------------------------------------------------------------

    def read_metadata(self, req, m):
        secret = self.secrets.get(_path(m))
        return None if secret is None else Response(data=secret.metadata())

    def write_metadata(self, req, m):
        path = _path(m)
        if not path or path.endswith("/"):
            raise bad_request("missing path")
        secret = self.secrets.get(path)
        if secret is None:
            secret = self.secrets[path] = Secret(self._now())
        b = req.body
        if "max_versions" in b:
            secret.max_versions = parse_int(b["max_versions"], "max_versions")
        if "cas_required" in b:
            secret.cas_required = parse_bool(b["cas_required"],
                                             "cas_required")
        if "delete_version_after" in b:
            secret.delete_version_after = parse_duration(
                b["delete_version_after"], "delete_version_after")
        if "custom_metadata" in b:
            custom = b["custom_metadata"]
            secret.custom_metadata = dict(custom) if custom else None
        secret.updated_time = self._now()
        self._prune(secret)
        return None

    def delete_metadata(self, req, m):
        self.secrets.pop(_path(m), None)
        return None

    def list(self, req, m):
        return Response(data={"keys": _list_keys(self.secrets,
                                                 _path(m))})

    def subkeys(self, req, m):
        return self._read_version(req, m, "subkeys", _subkeys)

    # --- config and misuse ---------------------------------------------------

    def read_config(self, req, m):
        c = self.config
        return Response(data={"cas_required": c["cas_required"],
                              "delete_version_after":
                                  go_duration(c["delete_version_after"]),
                              "max_versions": c["max_versions"]})

    def write_config(self, req, m):
        b = req.body
        if "max_versions" in b:
            self.config["max_versions"] = parse_int(b["max_versions"])
        if "cas_required" in b:
            self.config["cas_required"] = parse_bool(b["cas_required"])
        if "delete_version_after" in b:
            self.config["delete_version_after"] = parse_duration(
                b["delete_version_after"])
        return None

    def v1_path(self, req, m):
        # Spec §5.2: a v1-style path on a v2 mount is a 404 whose body is an
        # envelope with data null and a warning.
        return Response(status=404, data=None, warnings=[V1_PATH_WARNING])


def _path(m):
    return m.group("path") or ""


def _merge_patch(target, patch):
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = _merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _subkeys(data):
    return {k: _subkeys(v) if isinstance(v, dict) else None
            for k, v in data.items()}
