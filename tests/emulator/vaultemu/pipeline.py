"""One API request from parsed HTTP to reply, in Vault's order: wrap-TTL
header, body, token, ACL, wrapping limits, use count, handler, envelope,
response wrapping, then audit and counters. Transport faults are the HTTP
layer's business (server.py)."""

import json
import os
import re
import sys
import traceback

from .common import (VaultError, bad_request, invalid_token,
                     new_uuid, parse_duration, permission_denied)
from .routing import Request, unsupported_operation
from .sysbackend import sys_injects
from .wrapping import wrapped_reply

MAX_BODY = 32 * 1024 * 1024

_OPERATIONS = {"GET": "read", "HEAD": "read", "POST": "update",
               "PUT": "update", "DELETE": "delete", "LIST": "list",
               "PATCH": "patch"}

# Paths that carry a token in the URL; logs and the audit never show it.
_TOKEN_IN_URL = re.compile(
    r"^(auth/token/(?:lookup|renew|revoke|revoke-orphan))/.+$")


def redact_path(path):
    return _TOKEN_IN_URL.sub(r"\1/<redacted>", path)


def dumps(obj):
    # Go's json.Encoder ends its output with a newline.
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


class Reply:
    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.accessor = None
        self.operation = None
        self.path = None
        self.wrap_ttl = None
        self.issued = {}


def error_reply(err):
    body = err.body if err.body is not None else {"errors": err.errors}
    return Reply(err.status, dumps(body), dict(err.headers))


def client_token_of(headers):
    token = headers.get("X-Vault-Token")
    if token:
        return token.strip()
    auth = headers.get("Authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def operation_of(method, query):
    op = _OPERATIONS.get(method)
    if op == "read" and (query.get("list") or "").lower() in ("true", "1"):
        op = "list"
    return op


def _report_bug(exc):
    # Only the exception type and where it happened: its message could
    # quote a token or a secret value.
    tb = traceback.extract_tb(exc.__traceback__)
    where = ", ".join("%s:%d" % (os.path.basename(f.filename), f.lineno)
                      for f in tb[-3:])
    sys.stderr.write("vault-emulator: internal error %s at %s\n"
                     % (type(exc).__name__, where))
    sys.stderr.flush()


class Pipeline:
    def __init__(self, state):
        self.state = state

    def run(self, method, api_path, query, body_bytes, headers, remote,
            connection):
        """The Reply to one /v1/ request; never raises VaultError."""
        reply = None
        req = None
        try:
            req = self._parse(method, api_path, query, body_bytes, headers)
            req.remote, req.connection = remote, connection
            with self.state.lock:
                self.state.sweep()
                reply = self._process(req)
        except VaultError as err:
            reply = error_reply(err)
        except Exception as exc:    # an emulator bug: answer, do not hang
            reply = Reply(500, dumps({"errors": [
                "1 error occurred:\n\t* internal error\n\n"]}))
            _report_bug(exc)
        self._annotate(reply, req, method, api_path, query, headers)
        return reply

    def _annotate(self, reply, req, method, api_path, query, headers):
        reply.operation = (req.operation if req else
                           operation_of(method, query)) or method.lower()
        reply.path = redact_path(req.path if req else api_path)
        reply.accessor = req.token.accessor or None \
            if req and req.token else self.accessor_of(headers)
        reply.wrap_ttl = req.wrap_ttl if req else None
        reply.issued = dict(req.issued) if req else {}

    def accessor_of(self, headers):
        token = self.state.tokens.by_id.get(client_token_of(headers) or "")
        return token.accessor or None if token else None

    # --- parsing -------------------------------------------------------------

    def _parse(self, method, api_path, query, body_bytes, headers):
        op = operation_of(method, query)
        if op is None:
            raise unsupported_operation()
        path = self._apply_namespace(api_path.lstrip("/"), headers)
        if op == "list" and not path.endswith("/"):
            path += "/"
        if op in ("update", "create") and path.endswith("/"):
            raise bad_request("cannot write to a path ending in '/'")
        req = Request(method, op, path, query, {}, headers)
        req.wrap_ttl = self._wrap_ttl(headers)
        if op in ("update", "patch", "delete") and body_bytes.strip():
            req.body = self._json_body(body_bytes)
        req.client_token = client_token_of(headers)
        return req

    def _apply_namespace(self, path, headers):
        ns = (headers.get("X-Vault-Namespace") or "").strip().strip("/")
        if ns in ("", "root"):
            return path
        if self.state.namespace_mode == "prefix":
            # A mount named "<ns>/<path>" answers for the namespace; paths
            # with no such mount (sys/, auth/token/, ...) resolve in the
            # root namespace, so a client may send the header everywhere.
            candidate = ns + "/" + path
            mount = self.state.find_mount(candidate)
            if mount is not None and mount.path.startswith(ns + "/"):
                return candidate
            return path
        raise VaultError(403, ["namespaces feature not enabled"])

    def _wrap_ttl(self, headers):
        value = (headers.get("X-Vault-Wrap-TTL") or "").strip()
        if not value:
            return 0
        ttl = parse_duration(value, "wrap ttl")
        if ttl < 0:
            raise bad_request("requested wrap ttl cannot be negative")
        return ttl

    def _json_body(self, body_bytes):
        try:
            body = json.loads(body_bytes)
        except ValueError as e:
            raise bad_request("failed to parse JSON input: %s" % e)
        if not isinstance(body, dict):
            raise bad_request("failed to parse JSON input: expected a JSON "
                              "object")
        return body

    # --- processing ----------------------------------------------------------

    def _process(self, req):
        mount = self.state.find_mount(req.path)
        route = match = None
        if mount is not None:
            req.mount = mount
            req.rel = req.path[len(mount.path):]
            route, match = mount.backend.match(req.rel)
        if route is not None and route.unauth:
            req.token = self.state.tokens.get(req.client_token or "")
            req.acl = self.state.acl_for(req.token) if req.token else None
        else:
            self._authenticate(req)
        try:
            if not (route is not None and route.unauth):
                self._authorize(req, route, match)
            return self._dispatch(req, mount, route, match)
        finally:
            self._spend_done(req)

    def _dispatch(self, req, mount, route, match):
        if route is None:
            raise VaultError(404, ["no handler for route \"%s\". route "
                                   "entry not found." % req.path]
                             if mount is None else
                             ["1 error occurred:\n\t* unsupported path\n\n"])
        handler = route.handler_for(req.operation)
        if handler is None:
            raise unsupported_operation()
        return self._reply(req, handler(req, match))

    def _authenticate(self, req):
        if not req.client_token:
            raise permission_denied()
        token = self.state.tokens.get(req.client_token)
        if token is None or token.exhausted:
            raise invalid_token()
        req.token = token
        req.acl = self.state.acl_for(token)

    def _authorize(self, req, route, match):
        """ACL check, wrapping-TTL limits, then one use of the token."""
        acl = req.acl
        if not acl.root and (route is None or route.acl):
            cap = self._capability(req, route, match)
            if not acl.allows(req.path, cap, req.operation):
                raise permission_denied()
            if route is not None and route.sudo and \
                    not acl.allows(req.path, "sudo", req.operation):
                raise permission_denied()
            self._check_wrapping_limits(req)
        token = req.token
        if token.num_uses > 0:
            token.num_uses -= 1
            if token.num_uses == 0:
                token.exhausted = True

    def _capability(self, req, route, match):
        op = req.operation
        if op == "update" and route is not None and route.existence:
            return "update" if route.existence(req, match) else "create"
        return op

    def _check_wrapping_limits(self, req):
        rule = req.acl.rule_for(req.path)
        if rule is None:
            return
        ttl = req.wrap_ttl
        if rule.min_wrapping_ttl and (not ttl or ttl < rule.min_wrapping_ttl):
            raise permission_denied()
        if rule.max_wrapping_ttl and (not ttl or ttl > rule.max_wrapping_ttl):
            raise permission_denied()

    def _spend_done(self, req):
        # A token whose last use this request spent dies with the request,
        # taking its leases along (spec §4).
        token = req.token
        if token is not None and token.exhausted and \
                token.id in self.state.tokens.by_id:
            self.state.tokens.revoke_tree(token)

    # --- replies -------------------------------------------------------------

    def _reply(self, req, resp):
        if resp is None:
            if req.operation in ("read", "list"):
                return Reply(404, dumps({"errors": []}))
            return Reply(204)
        if resp.raw is not None:
            return self._raw_reply(resp, req)
        if req.operation == "list" and resp.status == 200 and \
                not (resp.data or {}).get("keys") and not resp.warnings:
            return Reply(404, dumps({"errors": []}))
        if resp.status == 202 and resp.is_empty():
            return Reply(202)
        envelope = self._envelope(req, resp)
        if req.wrap_ttl and resp.status == 200 and not resp.is_empty():
            envelope = self._wrap(req, resp, envelope)
        return Reply(resp.status, dumps(envelope), dict(resp.headers))

    def _raw_reply(self, resp, req):
        if req.method == "HEAD":
            return Reply(resp.status, b"")
        body = resp.raw
        if isinstance(body, (dict, list)):
            body = dumps(body)
        elif isinstance(body, str):
            body = body.encode()
        return Reply(resp.status, body, dict(resp.headers))

    def _envelope(self, req, resp):
        env = {"request_id": new_uuid(), "lease_id": "", "renewable": False,
               "lease_duration": 0, "data": resp.data, "wrap_info": None,
               "warnings": resp.warnings or None, "auth": resp.auth,
               "mount_type": req.mount.type if req.mount else ""}
        if resp.lease is not None:
            env["lease_id"] = resp.lease.id
            env["renewable"] = resp.lease.renewable
            env["lease_duration"] = resp.lease.ttl
        if resp.lease_fields is not None:
            (env["lease_id"], env["renewable"],
             env["lease_duration"]) = resp.lease_fields
        if isinstance(resp.data, dict) and sys_injects(req.path):
            for key, value in resp.data.items():
                env.setdefault(key, value)
        return env

    def _wrap(self, req, resp, envelope):
        wrapped_accessor = resp.wrapped_accessor or (
            resp.auth.get("accessor") if resp.auth else None)
        info = self.state.mounts["sys/"].backend.wrapper.wrap(
            dumps(envelope).decode(), 200, req.wrap_ttl, req.path,
            wrapped_accessor)
        req.issued["wrapping_accessor"] = info["accessor"]
        if wrapped_accessor:
            req.issued["wrapped_accessor"] = wrapped_accessor
        return wrapped_reply(info, envelope["mount_type"])

