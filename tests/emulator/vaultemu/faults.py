"""Fault injection (spec §9.7), set through POST /_emulator/faults.

The fault set is a JSON object; each key is one fault and its value an
object (or `true`, or a number for latency_ms). Every fault accepts
`path_prefix` (only requests whose API path, without /v1/, starts with it)
and `count` (how many matching requests it affects before it clears
itself). Faults apply after the request has been read."""

import threading

from .common import VaultError

KINDS = ("latency_ms", "reset", "hang", "sealed", "standby", "rate_limit",
         "raw", "error")

_DEFAULT_MESSAGES = {
    412: "required index state not present",
    500: "internal error",
    502: "upstream error: emulated bad gateway",
    503: "Vault is temporarily unavailable",
}


def _normalise(kind, value):
    """A validated copy of one fault's settings."""
    if value is True:
        value = {}
    if kind == "latency_ms" and isinstance(value, (int, float)) and \
            not isinstance(value, bool):
        value = {"ms": value}
    if not isinstance(value, dict):
        raise VaultError(400, ["fault %r must be an object" % kind])
    spec = dict(value)
    spec["path_prefix"] = str(spec.get("path_prefix") or "").lstrip("/")
    count = spec.get("count")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise VaultError(400, ["fault %r: count must be a positive integer"
                               % kind])
    _validate(kind, spec)
    return spec


def _validate(kind, spec):
    if kind == "latency_ms":
        spec["ms"] = float(spec.get("ms", 0))
    elif kind == "standby":
        spec.setdefault("active_address", "http://127.0.0.1:8200")
    elif kind == "rate_limit":
        spec["retry_after"] = int(spec.get("retry_after", 1))
    elif kind == "error":
        status = int(spec.get("status", 500))
        if not 400 <= status <= 599:
            raise VaultError(400, ["fault 'error': status must be 4xx/5xx"])
        spec["status"] = status
        spec.setdefault("errors", [_DEFAULT_MESSAGES.get(
            status, "emulated error %d" % status)])
        spec["after_effect"] = bool(spec.get("after_effect", False))
    elif kind == "raw":
        spec["status"] = int(spec.get("status", 200))
        spec.setdefault("headers", {})
        spec.setdefault("body", "")
        spec["after_effect"] = bool(spec.get("after_effect", False))
    elif kind == "reset":
        spec["after_effect"] = bool(spec.get("after_effect", False))


class Faults:
    def __init__(self):
        self._cond = threading.Condition()
        self._active = {}
        # Bumped on every replacement; a hung request waits for a change.
        self.generation = 0

    def replace(self, spec):
        if not isinstance(spec, dict):
            raise VaultError(400, ["the fault set must be a JSON object"])
        unknown = [k for k in spec if k not in KINDS]
        if unknown:
            raise VaultError(400, ["unknown fault(s): %s; known: %s"
                                   % (", ".join(unknown), ", ".join(KINDS))])
        new = {k: _normalise(k, v) for k, v in spec.items()
               if v is not None and v is not False}
        with self._cond:
            self._active = new
            self.generation += 1
            self._cond.notify_all()

    def snapshot(self):
        with self._cond:
            return {k: dict(v) for k, v in self._active.items()}

    def _matching(self, kind, path):
        spec = self._active.get(kind)
        if spec is None or not path.startswith(spec["path_prefix"]):
            return None
        return spec

    def peek(self, kind, path):
        with self._cond:
            spec = self._matching(kind, path)
            return dict(spec) if spec else None

    def take(self, kind, path):
        """The fault's settings if it applies to `path`, counting one use."""
        with self._cond:
            spec = self._matching(kind, path)
            if spec is None:
                return None
            if spec.get("count") is not None:
                spec["count"] -= 1
                if spec["count"] <= 0:
                    del self._active[kind]
            return dict(spec)

    def active_address(self):
        with self._cond:
            spec = self._active.get("standby")
            return spec["active_address"] if spec else None

    def wake_waiters(self):
        """Lets hung requests re-check whether they are still wanted."""
        with self._cond:
            self._cond.notify_all()

    def wait_for_change(self, generation, still_wanted, poll=0.2):
        """Blocks until the fault set is replaced or still_wanted() turns
        false (the client went away, or the server is stopping)."""
        with self._cond:
            while self.generation == generation:
                self._cond.wait(poll)
                if not still_wanted():
                    return False
        return True
