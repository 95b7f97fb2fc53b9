"""Types and helpers every part of the emulator uses: errors, responses,
durations, identifiers and time formatting."""

import datetime
import json
import re
import secrets
import string
import uuid

# Vault's system-wide default and maximum lease TTL (768h), spec §1.4.
SYSTEM_MAX_TTL = 768 * 3600

_BASE62 = string.ascii_letters + string.digits


class VaultError(Exception):
    """An error answer: `status` with `{"errors": [...]}`, or with `body`
    (a full envelope dict) when Vault answers an error with one."""

    def __init__(self, status, errors=None, body=None, headers=None):
        super().__init__(status, errors)
        self.status = status
        self.errors = list(errors or [])
        self.body = body
        self.headers = headers or {}


def multierror(*messages):
    """Go's multierror layout, which Vault uses for auth failures."""
    head = "1 error occurred" if len(messages) == 1 else \
        "%d errors occurred" % len(messages)
    return head + ":\n" + "".join("\t* %s\n" % m for m in messages) + "\n"


def permission_denied():
    return VaultError(403, [multierror("permission denied")])


def invalid_token():
    # A revoked, expired or unknown token: both phrases, spec §1.3.
    return VaultError(403, [multierror("permission denied", "invalid token")])


def bad_request(message):
    return VaultError(400, [message])


def not_found():
    return VaultError(404, [])


class Response:
    """What a handler returns; the server turns it into the envelope.

    `lease` is a leases.Lease (top-level lease fields), `auth` the auth
    object, `raw` a verbatim body (unwrap passthrough), `wrapped_accessor`
    what wrap_info.wrapped_accessor shows if the reply gets wrapped."""

    def __init__(self, data=None, auth=None, warnings=None, status=200,
                 lease=None, raw=None, headers=None, wrapped_accessor=None,
                 lease_fields=None):
        self.data = data
        self.auth = auth
        self.warnings = list(warnings) if warnings else []
        self.status = status
        self.lease = lease
        self.raw = raw
        self.headers = dict(headers or {})
        self.wrapped_accessor = wrapped_accessor
        # (lease_id, renewable, lease_duration) without a registered lease:
        # KV v1 reports a lease_duration but never registers a lease.
        self.lease_fields = lease_fields

    def is_empty(self):
        return (self.raw is None and self.data is None and self.auth is None
                and self.lease is None and not self.warnings)


def random_base62(n=24):
    return "".join(secrets.choice(_BASE62) for _ in range(n))


def new_uuid():
    return str(uuid.uuid4())


# --- durations ---------------------------------------------------------------

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1,
          "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")


def parse_duration(value, name="duration"):
    """Seconds (int) from an int, float, numeric string or Go duration
    string ("90s", "1h30m"); None and "" give 0. Negative values are
    returned as is so callers can word their own error."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise bad_request("invalid %s: %r" % (name, value))
    if isinstance(value, (int, float)):
        return int(value)
    if not isinstance(value, str):
        raise bad_request("invalid %s: %r" % (name, value))
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*", text):
        return int(float(text))
    sign = 1
    if text.startswith("-"):
        sign, text = -1, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise bad_request('time: invalid duration "%s"' % value)
    return sign * int(total)


def parse_bool(value, name="value", default=False):
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("1", "t", "true", "yes"):
            return True
        if low in ("0", "f", "false", "no"):
            return False
    raise bad_request("invalid boolean for %s: %r" % (name, value))


def parse_int(value, name="value", default=0):
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise bad_request("invalid integer for %s" % name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request("invalid integer for %s: %r" % (name, value))


def parse_str_list(value):
    """A list of strings from a JSON list or a comma-separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list):
        return [str(p).strip() for p in value if str(p).strip()]
    raise bad_request("expected a list of strings, got %r" % (value,))


def parse_str_map(value, name="meta"):
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad_request("invalid %s: not a JSON object" % name)
    if not isinstance(value, dict):
        raise bad_request("invalid %s: expected a map of strings" % name)
    return {str(k): v if isinstance(v, str) else json.dumps(v)
            for k, v in value.items()}


def go_list(items):
    """Go's %q rendering of a []string, used inside some error texts."""
    return "[" + " ".join(json.dumps(i) for i in items) + "]"


# --- time --------------------------------------------------------------------

def rfc3339(ts):
    """RFC3339 with nanosecond-style fraction (trailing zeros trimmed), UTC."""
    if ts is None:
        return None
    dt = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    frac = ("%06d" % dt.microsecond).rstrip("0")
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return base + ("." + frac if frac else "") + "Z"


def rfc3339_seconds(ts):
    dt = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
