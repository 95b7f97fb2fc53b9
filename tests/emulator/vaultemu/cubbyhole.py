"""cubbyhole/: a private key/value space per token. A wrapping token's
cubbyhole holds `response` (the wrapped reply) for old-style unwrapping."""

from .common import Response, bad_request, rfc3339
from .routing import Backend


class CubbyholeBackend(Backend):
    type = "cubbyhole"

    def __init__(self, state):
        super().__init__(state)
        self.add(r"(?P<path>.*)", read=self.read, update=self.write,
                 delete=self.delete, list=self.list)

    def _space(self, req):
        token = req.token
        space = dict(token.cubbyhole)
        if token.wrapped is not None:
            w = token.wrapped
            space["response"] = {"response": w["response"]}
            space["wrapinfo"] = {"creation_ttl": w["creation_ttl"],
                                 "creation_time": rfc3339(w["creation_time"]),
                                 "creation_path": w["creation_path"]}
        return space

    def read(self, req, m):
        value = self._space(req).get(m.group("path"))
        return None if value is None else Response(data=dict(value))

    def write(self, req, m):
        if not m.group("path"):
            raise bad_request("missing path")
        req.token.cubbyhole[m.group("path")] = dict(req.body)
        return None

    def delete(self, req, m):
        req.token.cubbyhole.pop(m.group("path"), None)
        return None

    def list(self, req, m):
        prefix = m.group("path")
        keys = set()
        for key in self._space(req):
            if key.startswith(prefix):
                head, sep, _ = key[len(prefix):].partition("/")
                keys.add(head + sep)
        return Response(data={"keys": sorted(keys)})
