"""The test-only control API under /_emulator/ (not part of Vault's API).
Every call needs the root token the emulator started with."""

import hmac

from .common import VaultError, parse_int, rfc3339


class Control:
    def __init__(self, state):
        self.state = state
        self._routes = {
            ("GET", "clock"): self.get_clock,
            ("POST", "clock"): self.set_clock,
            ("PUT", "clock"): self.set_clock,
            ("GET", "faults"): self.get_faults,
            ("POST", "faults"): self.set_faults,
            ("PUT", "faults"): self.set_faults,
            ("DELETE", "faults"): self.clear_faults,
            ("GET", "stats"): self.get_stats,
            ("POST", "stats/reset"): self.reset_stats,
            ("GET", "audit"): self.get_audit,
            ("GET", "tokens"): self.get_tokens,
            ("GET", "leases"): self.get_leases,
        }

    def handle(self, method, sub, query, body, client_token):
        """(status, JSON body or None) for /_emulator/<sub>."""
        expected = self.state.root_token.id
        if not client_token or not hmac.compare_digest(client_token.encode(),
                                                       expected.encode()):
            raise VaultError(403, ["the control API needs the emulator's "
                                   "root token"])
        handler = self._routes.get((method, sub.strip("/")))
        if handler is None:
            if any(s == sub.strip("/") for _, s in self._routes):
                raise VaultError(405, ["method not allowed"])
            raise VaultError(404, [])
        return handler(query, body)

    # --- clock ---------------------------------------------------------------

    def _clock_view(self):
        now = self.state.clock.now()
        return {"now": now, "now_rfc3339": rfc3339(now),
                "offset": self.state.clock.offset()}

    def get_clock(self, query, body):
        return 200, self._clock_view()

    def set_clock(self, query, body):
        try:
            if "advance" in body:
                self.state.clock.advance(float(body["advance"]))
            elif "set" in body:
                self.state.clock.set(float(body["set"]))
            else:
                raise VaultError(400, ['expected "advance" or "set"'])
        except (TypeError, ValueError) as e:
            raise VaultError(400, [str(e)])
        self.state.sweep()
        return 200, self._clock_view()

    # --- faults --------------------------------------------------------------

    def get_faults(self, query, body):
        return 200, self.state.faults.snapshot()

    def set_faults(self, query, body):
        self.state.faults.replace(body)
        return 200, self.state.faults.snapshot()

    def clear_faults(self, query, body):
        self.state.faults.replace({})
        return 200, {}

    # --- views ---------------------------------------------------------------

    def get_stats(self, query, body):
        self.state.sweep()
        snap = self.state.stats.snapshot()
        with self.state.lock:
            snap["live_tokens"] = len(self.state.tokens.by_id)
            snap["live_leases"] = len(self.state.leases.by_id)
        return 200, snap

    def reset_stats(self, query, body):
        self.state.stats.reset()
        return 200, self.state.stats.snapshot()

    def get_audit(self, query, body):
        since = parse_int(query.get("since"), "since", 0)
        return 200, {"entries": self.state.audit.since(since)}

    def get_tokens(self, query, body):
        return 200, {"tokens": self.state.live_tokens()}

    def get_leases(self, query, body):
        return 200, {"leases": self.state.live_leases()}
