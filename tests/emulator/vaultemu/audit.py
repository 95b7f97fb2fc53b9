"""The audit log (spec §9.8): one JSON object per API request, kept in
memory and appended to a JSON-lines file. Entries hold accessors and lease
ids, never a token id or a secret value."""

import json
import threading

from .common import rfc3339


class AuditLog:
    def __init__(self, path=None):
        self._lock = threading.Lock()
        self._entries = []
        self._seq = 0
        self._file = open(path, "a", encoding="utf-8") if path else None

    def record(self, now, method, operation, path, accessor, wrap_ttl,
               status, issued, remote, connection):
        issued = {k: v for k, v in (issued or {}).items() if v}
        with self._lock:
            self._seq += 1
            entry = {"time": rfc3339(now), "seq": self._seq,
                     "method": method, "operation": operation, "path": path,
                     "accessor": accessor, "wrap_ttl": wrap_ttl or None,
                     "status": status, "issued": issued or None,
                     "remote": remote, "connection": connection}
            self._entries.append(entry)
            if self._file:
                self._file.write(json.dumps(entry) + "\n")
                self._file.flush()
        return entry

    def since(self, seq):
        with self._lock:
            return [dict(e) for e in self._entries if e["seq"] > seq]

    def close(self):
        with self._lock:
            if self._file:
                self._file.close()
                self._file = None
