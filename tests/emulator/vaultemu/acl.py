"""Policies and the ACL they compile to (spec §3.1, §9.3).

A policy is Vault's JSON form, `{"path": {"<glob>": {"capabilities": [...],
"min_wrapping_ttl": ..., "max_wrapping_ttl": ...}}}`, or the same in HCL
(a small subset: `path "x" { key = value }` blocks). Globs: a trailing `*`
is a prefix match, a `+` segment matches exactly one path segment."""

import json
import re

from .common import VaultError, bad_request, parse_duration

CAPABILITIES = ("create", "read", "update", "patch", "delete", "list",
                "sudo", "deny", "subscribe", "recover")

# Spec §2.8: what every token may do unless no_default_policy.
DEFAULT_POLICY = {"path": {
    "auth/token/lookup-self": {"capabilities": ["read"]},
    "auth/token/renew-self": {"capabilities": ["update"]},
    "auth/token/revoke-self": {"capabilities": ["update"]},
    "sys/capabilities-self": {"capabilities": ["update"]},
    "sys/leases/lookup": {"capabilities": ["update"]},
    "sys/leases/renew": {"capabilities": ["update"]},
    "sys/renew": {"capabilities": ["update"]},
    "sys/wrapping/wrap": {"capabilities": ["update"]},
    "sys/wrapping/lookup": {"capabilities": ["update"]},
    "sys/wrapping/unwrap": {"capabilities": ["update"]},
    "sys/tools/hash": {"capabilities": ["update"]},
    "sys/tools/hash/*": {"capabilities": ["update"]},
    "cubbyhole/*": {"capabilities": ["create", "read", "update", "delete",
                                     "list"]},
    "identity/entity/id/{{identity.entity.id}}": {"capabilities": ["read"]},
    "sys/internal/ui/resultant-acl": {"capabilities": ["read"]},
}}

# The policy of wrapping tokens; it cannot be assigned to other tokens.
RESPONSE_WRAPPING_POLICY = {"path": {
    "cubbyhole/response": {"capabilities": ["create", "read"]},
    "sys/wrapping/unwrap": {"capabilities": ["update"]},
    "sys/wrapping/lookup": {"capabilities": ["update"]},
    "sys/wrapping/rewrap": {"capabilities": ["update"]},
}}

INTERNAL_POLICIES = ("response-wrapping", "control-group")


class Rule:
    """The merged permissions of one path pattern."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.capabilities = set()
        self.min_wrapping_ttl = 0
        self.max_wrapping_ttl = 0

    def merge(self, caps, min_wrap, max_wrap):
        self.capabilities |= set(caps)
        # Across policies Vault keeps the loosest bound that is set.
        if min_wrap and (not self.min_wrapping_ttl
                         or min_wrap < self.min_wrapping_ttl):
            self.min_wrapping_ttl = min_wrap
        if max_wrap and max_wrap > self.max_wrapping_ttl:
            self.max_wrapping_ttl = max_wrap

    def allowed(self):
        if "deny" in self.capabilities:
            return set()
        return set(self.capabilities)

    def matches(self, path):
        return _glob_regex(self.pattern).fullmatch(path) is not None


_REGEX_CACHE = {}


def _glob_regex(pattern):
    rx = _REGEX_CACHE.get(pattern)
    if rx is None:
        body = pattern[:-1] if pattern.endswith("*") else pattern
        parts = [re.escape(p) if p != "+" else "[^/]+"
                 for p in body.split("/")]
        text = "/".join(parts) + (".*" if pattern.endswith("*") else "")
        rx = re.compile(text, re.S)
        _REGEX_CACHE[pattern] = rx
    return rx


def _priority(pattern):
    """A sort key: the higher, the more specific (Vault's documented
    priority rules for overlapping patterns)."""
    segs = pattern.split("/")
    first_wild = len(pattern)
    for i, ch in enumerate(pattern):
        if ch == "*" or (ch == "+" and _is_plus_segment(pattern, i)):
            first_wild = i
            break
    plus_count = sum(1 for s in segs if s == "+")
    return (first_wild, 0 if pattern.endswith("*") else 1, -plus_count,
            len(pattern), pattern)


def _is_plus_segment(pattern, i):
    before = i == 0 or pattern[i - 1] == "/"
    after = i == len(pattern) - 1 or pattern[i + 1] == "/"
    return before and after


class ACL:
    """The union of a token's policies, asked one path at a time."""

    def __init__(self, policies, root=False):
        self.root = root
        self.rules = {}
        for policy in policies:
            for pattern, perms in policy.items():
                rule = self.rules.setdefault(pattern, Rule(pattern))
                rule.merge(perms["capabilities"], perms["min_wrapping_ttl"],
                           perms["max_wrapping_ttl"])

    def rule_for(self, path, operation=None):
        """The most specific rule matching `path`, or None. A LIST path
        (with the trailing `/` Vault adds) also matches an exact rule
        without the slash, before any glob, as Vault's ACL does: a policy
        on `auth/token/accessors` allows listing it."""
        exact = self.rules.get(path)
        if exact is not None and "*" not in path:
            return exact
        if operation == "list" and path.endswith("/"):
            trimmed = self.rules.get(path[:-1])
            if trimmed is not None:
                return trimmed
        best = None
        for rule in self.rules.values():
            if rule.matches(path) and (best is None or _priority(
                    rule.pattern) > _priority(best.pattern)):
                best = rule
        return best

    def capabilities(self, path):
        if self.root:
            return ["root"]
        rule = self.rule_for(path)
        if rule is None:
            return ["deny"]
        caps = rule.allowed()
        return sorted(caps) if caps else ["deny"]

    def allows(self, path, capability, operation=None):
        if self.root:
            return True
        rule = self.rule_for(path, operation)
        return rule is not None and capability in rule.allowed()

    def has_any_access_under(self, prefix):
        """True if some rule grants anything on `prefix` or beneath it;
        sys/internal/ui/mounts needs only that."""
        if self.root:
            return True
        for rule in self.rules.values():
            if not rule.allowed():
                continue
            body = rule.pattern.rstrip("*")
            if body.startswith(prefix) or prefix.startswith(body) or \
                    rule.matches(prefix):
                return True
            if "+" in rule.pattern and _glob_regex(
                    rule.pattern.rstrip("*") + "*").match(prefix):
                return True
        return False


# --- parsing -----------------------------------------------------------------

def parse_policy(source, name="policy"):
    """A normalised policy `{pattern: {capabilities, min/max_wrapping_ttl}}`
    from a dict, a JSON string or an HCL string."""
    if isinstance(source, str):
        text = source.strip()
        if text.startswith("{"):
            try:
                source = json.loads(text)
            except ValueError as e:
                raise bad_request("failed to parse policy: %s" % e)
        else:
            source = _parse_hcl(text)
    if not isinstance(source, dict):
        raise bad_request("failed to parse policy: not an object")
    paths = source.get("path", {})
    if isinstance(paths, list):  # HCL-as-JSON list form
        merged = {}
        for item in paths:
            merged.update(item)
        paths = merged
    if not isinstance(paths, dict):
        raise bad_request("failed to parse policy: 'path' must be a map")
    return {pattern: _parse_rule(pattern, body)
            for pattern, body in paths.items()}


def _parse_rule(pattern, body):
    if isinstance(body, list):
        merged = {}
        for item in body:
            merged.update(item)
        body = merged
    if not isinstance(body, dict):
        raise bad_request('failed to parse policy: path "%s"' % pattern)
    caps = body.get("capabilities", [])
    if isinstance(caps, str):
        caps = [caps]
    caps = [str(c).lower() for c in caps]
    for c in caps:
        if c not in CAPABILITIES:
            raise bad_request('path "%s": invalid capability "%s"'
                              % (pattern, c))
    policy_word = body.get("policy")  # legacy shorthand
    if policy_word:
        caps += {"deny": ["deny"], "read": ["read", "list"],
                 "write": ["create", "read", "update", "delete", "list"],
                 "sudo": ["create", "read", "update", "delete", "list",
                          "sudo"]}.get(policy_word, [])
    min_wrap = parse_duration(body.get("min_wrapping_ttl"), "min_wrapping_ttl")
    max_wrap = parse_duration(body.get("max_wrapping_ttl"), "max_wrapping_ttl")
    if min_wrap and max_wrap and max_wrap < min_wrap:
        raise bad_request('path "%s": max_wrapping_ttl cannot be less than '
                          'min_wrapping_ttl' % pattern)
    return {"capabilities": caps, "min_wrapping_ttl": min_wrap,
            "max_wrapping_ttl": max_wrap}


_HCL_TOKEN = re.compile(r'''
    \s+ | \#[^\n]* | //[^\n]* | /\*.*?\*/
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_\-]*)
  | (?P<punct>[{}\[\]=,])
''', re.S | re.X)


def _hcl_tokens(text):
    pos = 0
    while pos < len(text):
        m = _HCL_TOKEN.match(text, pos)
        if not m:
            raise bad_request("failed to parse policy near: %r"
                              % text[pos:pos + 20])
        pos = m.end()
        if m.group("str") is not None:
            yield ("str", json.loads(m.group("str")))
        elif m.group("num") is not None:
            yield ("num", int(m.group("num")))
        elif m.group("ident") is not None:
            yield ("ident", m.group("ident"))
        elif m.group("punct") is not None:
            yield ("punct", m.group("punct"))


def _parse_hcl(text):
    """`path "p" { capabilities = [..] min_wrapping_ttl = "1s" }` blocks."""
    toks = list(_hcl_tokens(text))
    paths, i = {}, 0

    def expect(kind, value=None):
        nonlocal i
        if i >= len(toks) or toks[i][0] != kind or \
                (value is not None and toks[i][1] != value):
            raise bad_request("failed to parse policy: unexpected %r"
                              % (toks[i][1] if i < len(toks) else "EOF",))
        i += 1
        return toks[i - 1][1]

    def value():
        nonlocal i
        kind, val = toks[i]
        if kind in ("str", "num"):
            i += 1
            return val
        if kind == "ident" and val in ("true", "false"):
            i += 1
            return val == "true"
        expect("punct", "[")
        items = []
        while toks[i] != ("punct", "]"):
            items.append(value())
            if toks[i] == ("punct", ","):
                i += 1
        i += 1
        return items

    while i < len(toks):
        if expect("ident") != "path":
            raise bad_request("failed to parse policy: only path blocks")
        pattern = expect("str")
        expect("punct", "{")
        body = {}
        while toks[i] != ("punct", "}"):
            key = expect("ident")
            expect("punct", "=")
            body[key] = value()
        i += 1
        paths[pattern] = body
    return {"path": paths}


def check_policy_name(name):
    if not name or not re.fullmatch(r"[A-Za-z0-9_\-.@/]+", name):
        raise VaultError(400, ["invalid policy name"])
    return name.lower()


class PolicyStore:
    """Named policies: their source text (what reads return) and parsed
    form. `root` is implicit; `response-wrapping` is internal."""

    def __init__(self):
        self.sources = {}
        self.parsed = {}
        self.put("default", json.dumps(DEFAULT_POLICY, indent=2))

    def exists(self, name):
        return name == "root" or name in self.parsed

    def names(self):
        return sorted(list(self.parsed) + ["root"])

    def put(self, name, source):
        name = check_policy_name(name)
        if name in ("root", "response-wrapping", "control-group"):
            raise bad_request("cannot update %s policy" % name)
        text = source if isinstance(source, str) else json.dumps(source,
                                                                 indent=2)
        self.parsed[name] = parse_policy(source, name)
        self.sources[name] = text

    def delete(self, name):
        name = name.lower()
        if name in ("root", "default"):
            raise bad_request("cannot delete %s policy" % name)
        self.parsed.pop(name, None)
        self.sources.pop(name, None)

    def acl_for(self, policies):
        if "root" in policies:
            return ACL([], root=True)
        chosen = []
        for name in policies:
            if name == "response-wrapping":
                chosen.append(parse_policy(RESPONSE_WRAPPING_POLICY))
            elif name in self.parsed:
                chosen.append(self.parsed[name])
        return ACL(chosen)
