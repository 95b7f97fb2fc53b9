"""Response wrapping (spec §3): the wrapping token, the wrapped reply and
the sys/wrapping/* endpoints."""

import json

from .common import Response, bad_request, rfc3339
from .tokens import Token

INVALID = "wrapping token is not valid or does not exist"


def wrapped_reply(info, mount_type=""):
    """The body of a wrapped reply: only wrap_info is set (spec §3.1)."""
    return {"request_id": "", "lease_id": "", "renewable": False,
            "lease_duration": 0, "data": None, "wrap_info": info,
            "warnings": None, "auth": None, "mount_type": mount_type}


class Wrapper:
    def __init__(self, state):
        self.state = state

    def wrap(self, body_text, status, ttl, creation_path, wrapped_accessor):
        """Stores an original response under a new wrapping token and
        returns the wrap_info object."""
        store = self.state.tokens
        now = self.state.clock.now()
        token = Token(id=store.new_id(), accessor=store.new_accessor(),
                      policies=["response-wrapping"], parent_id=None,
                      orphan=True, path=creation_path, creation_time=now,
                      ttl=ttl, explicit_max_ttl=ttl, num_uses=1,
                      renewable=False, display_name="", meta=None)
        token.wrapped = {"response": body_text, "status": status,
                         "creation_ttl": ttl, "creation_time": now,
                         "creation_path": creation_path,
                         "wrapped_accessor": wrapped_accessor or ""}
        store.add(token)
        info = {"token": token.id, "accessor": token.accessor, "ttl": ttl,
                "creation_time": rfc3339(now),
                "creation_path": creation_path}
        if wrapped_accessor:
            info["wrapped_accessor"] = wrapped_accessor
        return info

    def _valid(self, token_id):
        """The live, unspent wrapping token with that id, else None."""
        token = self.state.tokens.get(token_id) if token_id else None
        if token is None or token.wrapped is None or token.exhausted:
            return None
        return token

    def _take(self, req):
        """The wrapping token an unwrap or rewrap is about, spent.

        With a body token (third-party mode) the header token is the
        caller; the pipeline has already spent a header wrapping token's
        only use, so the doubled header+body form fails (vault#1983)."""
        body_token = req.body.get("token")
        if body_token:
            token = self._valid(body_token)
        else:
            token = req.token if (req.token is not None
                                  and req.token.wrapped is not None) else None
        if token is None:
            raise bad_request(INVALID)
        self.state.tokens.revoke_tree(token)
        return token

    # --- endpoints -----------------------------------------------------------

    def wrap_endpoint(self, req, m):
        if not req.wrap_ttl:
            raise bad_request("endpoint requires response wrapping to be used")
        return Response(data=dict(req.body))

    def unwrap_endpoint(self, req, m):
        token = self._take(req)
        w = token.wrapped
        if w["status"] == 204 or not w["response"]:
            return None
        return Response(raw=w["response"], status=w["status"])

    def lookup_endpoint(self, req, m):
        token_id = req.body.get("token") or req.client_token
        if not token_id:
            raise bad_request('missing "token" value in input')
        token = self._valid(token_id)
        if token is None:
            raise bad_request(INVALID)
        w = token.wrapped
        return Response(data={"creation_path": w["creation_path"],
                              "creation_time": rfc3339(w["creation_time"]),
                              "creation_ttl": w["creation_ttl"]})

    def rewrap_endpoint(self, req, m):
        old = self._take(req)
        w = old.wrapped
        info = self.wrap(w["response"], w["status"], w["creation_ttl"],
                         w["creation_path"], w["wrapped_accessor"])
        req.issued["wrapping_accessor"] = info["accessor"]
        return Response(raw=json.dumps(wrapped_reply(info),
                                       separators=(",", ":")) + "\n")
