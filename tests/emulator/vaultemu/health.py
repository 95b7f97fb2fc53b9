"""sys/health, sys/seal-status and sys/leader (spec §6): unauthenticated
status endpoints whose answers follow the sealed/standby faults."""

from .common import Response, VaultError, bad_request, rfc3339_seconds

VERSION = "1.15.0+emulator"
CLUSTER_NAME = "vsp-emulator"
CLUSTER_ID = "00000000-0000-4000-8000-00000000e411"

# (query override, default status) per server state.
_CODES = {
    "active": ("activecode", 200),
    "standby": ("standbycode", 429),
    "perfstandby": ("performancestandbycode", 473),
    "drsecondary": ("drsecondarycode", 472),
    "sealed": ("sealedcode", 503),
    "uninit": ("uninitcode", 501),
}


def _code(req, name, default):
    value = req.query.get(name)
    if value in (None, ""):
        return default
    try:
        code = int(value)
    except ValueError:
        raise bad_request("unable to parse %s: %r" % (name, value))
    if code < 1:
        raise bad_request("invalid %s: %d" % (name, code))
    return code


def _flag(req, name):
    value = (req.query.get(name) or "").lower()
    return value in ("", "true", "1", "t") if name in req.query else False


class Health:
    def __init__(self, state):
        self.state = state

    def server_state(self, path):
        faults = self.state.faults
        if faults.peek("sealed", path):
            return "sealed"
        if faults.peek("standby", path):
            return "standby"
        return "active"

    def health(self, req, m):
        st = self.server_state(req.path)
        if st == "standby" and _flag(req, "standbyok"):
            code_state = "active"
        else:
            code_state = st
        name, default = _CODES[code_state]
        status = _code(req, name, default)
        body = {
            "initialized": True,
            "sealed": st == "sealed",
            "standby": st == "standby",
            "performance_standby": False,
            "replication_performance_mode": "disabled",
            "replication_dr_mode": "disabled",
            "server_time_utc": int(self.state.clock.now()),
            "version": VERSION,
            "cluster_name": CLUSTER_NAME,
            "cluster_id": CLUSTER_ID,
            "enterprise": False,
            "echo_duration_ms": 0,
            "clock_skew_ms": 0,
        }
        if st == "sealed":
            for key in ("cluster_name", "cluster_id"):
                body.pop(key)
        return Response(raw=body, status=status)

    def seal_status(self, req, m):
        sealed = self.server_state(req.path) == "sealed"
        return Response(raw={
            "type": "shamir", "initialized": True, "sealed": sealed,
            "t": 1, "n": 1, "progress": 0, "nonce": "", "version": VERSION,
            "build_date": "2024-01-01T00:00:00Z", "migration": False,
            "cluster_name": CLUSTER_NAME, "cluster_id": CLUSTER_ID,
            "recovery_seal": False, "storage_type": "inmem"})

    def leader(self, req, m):
        st = self.server_state(req.path)
        if st == "sealed":
            raise VaultError(503, ["Vault is sealed"])
        active = self.state.faults.active_address() or ""
        return Response(raw={
            "ha_enabled": st == "standby", "is_self": st == "active",
            "active_time": rfc3339_seconds(self.state.started),
            "leader_address": active, "leader_cluster_address": "",
            "performance_standby": False,
            "performance_standby_last_remote_wal": 0})
