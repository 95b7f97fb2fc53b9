"""Requests, routes and mounted backends.

Every backend is mounted at a path (`secret/`, `auth/token/`, `sys/`) and
holds a list of routes: a regex over the path inside the mount plus one
handler per operation (read, list, update, create, delete, patch)."""

import re

from .common import VaultError


class Request:
    """One API request after the HTTP layer parsed it."""

    def __init__(self, method, operation, path, query, body, headers):
        self.method = method
        self.operation = operation
        self.path = path            # without /v1/, namespace applied
        self.query = query          # {name: last value}
        self.body = body            # dict (JSON object) or {}
        self.headers = headers
        self.client_token = None    # the token id the client sent
        self.token = None           # tokens.Token or None
        self.acl = None
        self.wrap_ttl = 0
        self.mount = None
        self.rel = ""               # path inside the mount
        self.remote = ""
        self.connection = 0
        # What this request issued, for the audit log.
        self.issued = {}

    def param(self, name, default=None):
        """A body parameter, falling back to the query string (Vault merges
        both for GET-style requests)."""
        if name in self.body:
            return self.body[name]
        return self.query.get(name, default)

    @property
    def is_root(self):
        return self.acl is not None and self.acl.root


class Route:
    def __init__(self, pattern, handlers, sudo=False, unauth=False,
                 existence=None, acl=True):
        self.regex = re.compile(pattern)
        self.handlers = handlers
        self.sudo = sudo
        self.unauth = unauth
        # existence(req, match) -> bool: writes need `create` when False.
        self.existence = existence
        # False: any valid token may call it; the handler checks access.
        self.acl = acl

    def handler_for(self, operation):
        h = self.handlers.get(operation)
        if h is None and operation == "create":
            h = self.handlers.get("update")
        if h is None and operation == "update":
            h = self.handlers.get("create")
        return h


class Backend:
    """Base class of every mounted backend."""

    type = "unknown"

    def __init__(self, state):
        self.state = state
        self.routes = []

    def add(self, pattern, sudo=False, unauth=False, existence=None,
            acl=True, **ops):
        self.routes.append(Route(pattern, ops, sudo, unauth, existence, acl))

    def match(self, rel):
        for route in self.routes:
            m = route.regex.fullmatch(rel)
            if m:
                return route, m
        return None, None


class Mount:
    def __init__(self, path, backend, options=None, description="",
                 accessor="", uuid="", kind="secret"):
        self.path = path
        self.backend = backend
        self.type = backend.type
        self.options = options
        self.description = description
        self.accessor = accessor
        self.uuid = uuid
        self.kind = kind            # "secret", "auth" or "system"

    def info(self):
        return {
            "accessor": self.accessor,
            "config": {"default_lease_ttl": 0, "force_no_cache": False,
                       "max_lease_ttl": 0},
            "description": self.description,
            "external_entropy_access": False,
            "local": False,
            "options": dict(self.options) if self.options else None,
            "plugin_version": "",
            "running_plugin_version": "",
            "running_sha256": "",
            "seal_wrap": False,
            "type": self.type,
            "uuid": self.uuid,
        }


def unsupported_path():
    return VaultError(404, ["1 error occurred:\n\t* unsupported path\n\n"])


def unsupported_operation():
    return VaultError(405, ["1 error occurred:\n\t* unsupported operation"
                            "\n\n"])
