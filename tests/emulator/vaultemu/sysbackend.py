"""The system backend, `sys/*`: health, wrapping, leases, mounts, policies,
capabilities and the UI mount lookup used for KV version detection."""

from .common import (SYSTEM_MAX_TTL, Response, VaultError, bad_request,
                     parse_str_list)
from .health import Health
from .leases import LeaseEndpoints
from .routing import Backend
from .wrapping import Wrapper

# Spec §1.2: sys paths whose `data` keys are also copied to the top level.
_INJECTED_PREFIXES = ("sys/audit", "sys/auth", "sys/config/cors",
                      "sys/capabilities", "sys/key-status", "sys/mounts",
                      "sys/policy", "sys/remount", "sys/rotate",
                      "sys/ha-status", "sys/wrapping/wrap")


def sys_injects(path):
    return path.startswith(_INJECTED_PREFIXES) and \
        not path.startswith("sys/policies")


class SystemBackend(Backend):
    type = "system"

    def __init__(self, state):
        super().__init__(state)
        self.health = Health(state)
        self.wrapper = Wrapper(state)
        self.leases = LeaseEndpoints(state)
        self._add_status_routes()
        self._add_wrapping_routes()
        self._add_lease_routes()
        self._add_config_routes()

    def _add_status_routes(self):
        h = self.health
        self.add(r"health", unauth=True, read=h.health)
        self.add(r"seal-status", unauth=True, read=h.seal_status)
        self.add(r"leader", unauth=True, read=h.leader)

    def _add_wrapping_routes(self):
        w = self.wrapper
        self.add(r"wrapping/wrap", update=w.wrap_endpoint)
        self.add(r"wrapping/unwrap", update=w.unwrap_endpoint)
        self.add(r"wrapping/lookup", unauth=True, update=w.lookup_endpoint,
                 read=w.lookup_endpoint)
        self.add(r"wrapping/rewrap", update=w.rewrap_endpoint)

    def _add_lease_routes(self):
        le = self.leases
        for base in ("leases/", ""):
            self.add(base + r"renew", update=le.renew)
            self.add(base + r"renew/(?P<lease_id>.+)", update=le.renew)
            self.add(base + r"revoke", update=le.revoke)
            self.add(base + r"revoke/(?P<lease_id>.+)", update=le.revoke)
            self.add(base + r"revoke-prefix/(?P<prefix>.+)", sudo=True,
                     update=le.revoke_prefix)
            self.add(base + r"revoke-force/(?P<prefix>.+)", sudo=True,
                     update=le.revoke_prefix)
        self.add(r"leases/lookup", update=le.lookup)
        self.add(r"leases/lookup/(?P<prefix>.*)", sudo=True,
                 list=le.list_prefix)
        self.add(r"leases/count", sudo=True, read=le.count)
        self.add(r"leases/tidy", update=le.tidy)

    def _add_config_routes(self):
        self.add(r"mounts", read=self.list_mounts)
        self.add(r"mounts/(?P<path>.+?)/tune", read=self.read_tune)
        self.add(r"mounts/(?P<path>.+)", read=self.read_mount,
                 update=self.enable_mount, delete=self.disable_mount)
        self.add(r"auth", read=self.list_auth)
        self.add(r"policy", read=self.list_policies)
        self.add(r"policy/(?P<name>[^/]+)", read=self.read_policy,
                 update=self.write_policy, delete=self.delete_policy)
        self.add(r"policies/acl/?", list=self.list_policies_acl)
        self.add(r"policies/acl/(?P<name>[^/]+)", read=self.read_policy_acl,
                 update=self.write_policy, delete=self.delete_policy)
        self.add(r"capabilities-self", update=self.capabilities_self)
        self.add(r"capabilities", update=self.capabilities)
        self.add(r"capabilities-accessor", update=self.capabilities_accessor)
        self.add(r"internal/ui/mounts", unauth=True,
                 read=self.ui_mounts_list)
        # Spec §5.3: needs some capability under the mount, not on this path.
        self.add(r"internal/ui/mounts/(?P<path>.+)", acl=False,
                 read=self.ui_mount)

    # --- mounts --------------------------------------------------------------

    def list_mounts(self, req, m):
        return Response(data={p: mt.info() for p, mt in
                              sorted(self.state.mounts.items())
                              if mt.kind != "auth"})

    def list_auth(self, req, m):
        return Response(data={p[len("auth/"):]: mt.info() for p, mt in
                              sorted(self.state.mounts.items())
                              if mt.kind == "auth"})

    def _mount_path(self, m):
        return m.group("path").strip("/") + "/"

    def read_mount(self, req, m):
        mount = self.state.mounts.get(self._mount_path(m))
        return None if mount is None else Response(data=mount.info())

    def read_tune(self, req, m):
        mount = self.state.mounts.get(self._mount_path(m))
        if mount is None:
            raise bad_request("cannot fetch sysview for path %r"
                              % m.group("path"))
        return Response(data={"default_lease_ttl": SYSTEM_MAX_TTL,
                              "max_lease_ttl": SYSTEM_MAX_TTL,
                              "force_no_cache": False,
                              "description": mount.description,
                              "options": mount.options})

    def enable_mount(self, req, m):
        path = self._mount_path(m)
        if path in self.state.mounts:
            raise bad_request("path is already in use at %s" % path)
        mtype = req.body.get("type")
        if not mtype:
            raise bad_request("backend type must be specified as a string")
        options = req.body.get("options") or {}
        self.state.mount_secret_engine(path, mtype, options,
                                       req.body.get("config") or {})
        return None

    def disable_mount(self, req, m):
        self.state.unmount(self._mount_path(m))
        return None

    # --- policies ------------------------------------------------------------

    def list_policies(self, req, m):
        names = self.state.policies.names()
        return Response(data={"keys": names, "policies": names})

    def list_policies_acl(self, req, m):
        return Response(data={"keys": self.state.policies.names()})

    def _policy_source(self, m):
        name = m.group("name").lower()
        if name == "root":
            return name, ""
        return name, self.state.policies.sources.get(name)

    def read_policy(self, req, m):
        name, source = self._policy_source(m)
        if source is None:
            return None
        return Response(data={"name": name, "rules": source})

    def read_policy_acl(self, req, m):
        name, source = self._policy_source(m)
        if source is None:
            return None
        return Response(data={"name": name, "policy": source})

    def write_policy(self, req, m):
        source = req.body.get("policy", req.body.get("rules"))
        if source is None or source == "":
            raise bad_request("'policy' parameter not supplied or empty")
        self.state.policies.put(m.group("name"), source)
        return None

    def delete_policy(self, req, m):
        self.state.policies.delete(m.group("name"))
        return None

    # --- capabilities --------------------------------------------------------

    def _paths(self, req):
        paths = parse_str_list(req.body.get("paths") or req.body.get("path"))
        if not paths:
            raise bad_request("paths must be supplied")
        return paths

    def _caps_response(self, acl, paths):
        data = {p: acl.capabilities(p) for p in paths}
        if len(paths) == 1:
            data["capabilities"] = data[paths[0]]
        return Response(data=data)

    def capabilities_self(self, req, m):
        return self._caps_response(req.acl, self._paths(req))

    def capabilities(self, req, m):
        token = self.state.tokens.get(req.body.get("token") or "")
        if token is None:
            raise bad_request("invalid token")
        acl = self.state.policies.acl_for(token.policies)
        return self._caps_response(acl, self._paths(req))

    def capabilities_accessor(self, req, m):
        token = self.state.tokens.get_by_accessor(
            req.body.get("accessor") or "")
        if token is None:
            raise bad_request("invalid accessor")
        acl = self.state.policies.acl_for(token.policies)
        return self._caps_response(acl, self._paths(req))

    # --- sys/internal/ui/mounts ----------------------------------------------

    def ui_mounts_list(self, req, m):
        # Only mounts tuned with listing_visibility=unauth appear; none do.
        return Response(data={"auth": {}, "secret": {}})

    def ui_mount(self, req, m):
        path = m.group("path")
        mount = self.state.find_mount(path.rstrip("/") + "/") or \
            self.state.find_mount(path)
        # Vault answers 403 for an unknown mount so this cannot be used to
        # enumerate mounts.
        if mount is None or mount.kind == "system" or \
                not req.acl.has_any_access_under(mount.path):
            raise VaultError(403, ["1 error occurred:\n\t* permission "
                                   "denied\n\n"])
        info = mount.info()
        info["config"] = {"default_lease_ttl": SYSTEM_MAX_TTL,
                          "max_lease_ttl": SYSTEM_MAX_TTL,
                          "force_no_cache": False}
        info["path"] = mount.path
        return Response(data=info)

