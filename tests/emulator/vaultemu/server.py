"""The HTTP layer: threaded HTTP/1.1 servers (TCP, TLS, Unix socket) with
keep-alive, request reading, transport faults, the control API and the
request log."""

import http.server
import json
import re
import select
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, unquote, urlsplit

from .common import VaultError
from .control import Control
from .pipeline import (MAX_BODY, Pipeline, Reply, client_token_of, dumps,
                       error_reply, operation_of, redact_path)

_URL_PATH = re.compile(r"/v1/([^\s?'\"]+)")
_LEVELS = {"warn": 0, "info": 1, "debug": 2}
_STREAM_CHUNK = 64 * 1024


class Logger:
    """One line per write so threads never interleave."""

    def __init__(self, level="warn"):
        self.level = _LEVELS[level]
        self._lock = threading.Lock()

    def log(self, level, message):
        if _LEVELS.get(level, 0) > self.level:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with self._lock:
            sys.stderr.write("%sZ %s vault-emulator: %s\n"
                             % (stamp, level, message))
            sys.stderr.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vsp-vault-emulator"

    def version_string(self):
        return self.server_version
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 120

    # --- connection ----------------------------------------------------------

    def setup(self):
        emu = self.server.emulator
        self.connection_no = emu.state.stats.new_connection()
        if self.request.family in (socket.AF_INET, socket.AF_INET6):
            # Headers and body go out in separate writes; without this,
            # Nagle plus the client's delayed ACK costs 40 ms a request.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY,
                                    1)
        if emu.ssl_context is not None:
            self.request.settimeout(10)
            self.request = emu.ssl_context.wrap_socket(self.request,
                                                       server_side=True)
        super().setup()

    def log_request(self, code="-", size="-"):
        pass    # the emulator logs requests itself, with paths redacted

    def log_message(self, fmt, *args):
        # http.server's own messages may quote the request line.
        text = _URL_PATH.sub(lambda m: "/v1/" + redact_path(m.group(1)),
                             fmt % args)
        self.server.emulator.logger.log("debug", "http: " + text)

    def __getattr__(self, name):
        # Every verb (GET, LIST, PATCH, ...) goes through one dispatcher;
        # unknown verbs get Vault's 405.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _remote(self):
        if isinstance(self.client_address, tuple) and self.client_address:
            host, port = self.client_address[0], self.client_address[1]
            return "[%s]:%d" % (host, port) if ":" in host else \
                "%s:%d" % (host, port)
        return "unix"

    # --- request -------------------------------------------------------------

    def _read_body(self):
        """The request body; raises VaultError(413) past 32 MiB."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            raise VaultError(413, ["http: request body too large"])
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self):
        parts, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or 0, 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                raise VaultError(413, ["http: request body too large"])
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _dispatch(self):
        emu = self.server.emulator
        started = time.monotonic()
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {k: v[-1] for k, v in
                 parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = self._read_body()
        except VaultError as err:
            self._send(error_reply(err))
            return
        if path.startswith("/_emulator/"):
            reply = self._control(path[len("/_emulator/"):], query, body)
            self._send(reply)
            return
        if not path.startswith("/v1/"):
            self._send(Reply(404, dumps({"errors": []})))
            return
        reply = self._api(path[len("/v1/"):], query, body)
        if reply is not None:
            self._send(reply)
        emu.log_request(self, path[len("/v1/"):], reply, started)

    def _control(self, sub, query, body_bytes):
        emu = self.server.emulator
        try:
            body = json.loads(body_bytes) if body_bytes.strip() else {}
            if not isinstance(body, dict):
                raise VaultError(400, ["expected a JSON object"])
            status, out = emu.control.handle(
                self.command, sub, query, body, client_token_of(self.headers))
        except ValueError as e:
            return Reply(400, dumps({"errors": [str(e)]}))
        except VaultError as err:
            return error_reply(err)
        return Reply(status, dumps(out))

    # --- API requests and faults ---------------------------------------------

    def _api(self, api_path, query, body):
        """The Reply to send, or None when a fault already dealt with the
        connection."""
        emu = self.server.emulator
        faults = emu.state.faults
        latency = faults.take("latency_ms", api_path)
        if latency:
            time.sleep(latency["ms"] / 1000.0)
        reset = faults.take("reset", api_path)
        if reset and not reset["after_effect"]:
            return self._reset(api_path, query)
        hang = faults.take("hang", api_path)
        if hang and not self._hang(hang):
            return self._reset(api_path, query)
        early = self._early_fault(api_path, query)
        if early is not None:
            return early
        raw = faults.take("raw", api_path)
        # Only one of the two answers; the other keeps its count.
        error = None if raw else faults.take("error", api_path)
        if raw and not raw["after_effect"]:
            return self._faulted(api_path, query, self._raw_reply(raw))
        if error and not error["after_effect"]:
            return self._faulted(api_path, query, self._error_reply(error))
        reply = emu.pipeline.run(self.command, api_path, query, body,
                                 self.headers, self._remote(),
                                 self.connection_no)
        if reset:
            reply.status = 0    # the audit's mark for "connection reset"
            self._record(reply)
            return self._reset(api_path, query, recorded=True)
        if raw:
            reply = self._keep_audit(reply, self._raw_reply(raw))
        elif error:
            reply = self._keep_audit(reply, self._error_reply(error))
        self._record(reply)
        return reply

    def _early_fault(self, api_path, query):
        faults = self.server.emulator.state.faults
        if api_path not in ("sys/health", "sys/seal-status"):
            if faults.take("sealed", api_path):
                return self._faulted(api_path, query, Reply(
                    503, dumps({"errors": ["Vault is sealed"]})))
            if api_path != "sys/leader":
                standby = faults.take("standby", api_path)
                if standby:
                    location = standby["active_address"].rstrip("/") + \
                        self.path
                    return self._faulted(api_path, query, Reply(
                        307, b"", {"Location": location}))
        limit = faults.take("rate_limit", api_path)
        if limit:
            return self._faulted(api_path, query, Reply(429, dumps({
                "errors": ['request path "%s": rate limit quota exceeded'
                           % redact_path(api_path)]}),
                {"Retry-After": str(limit["retry_after"])}))
        return None

    def _error_reply(self, spec):
        headers = dict(spec.get("headers") or {})
        return Reply(spec["status"], dumps({"errors": spec["errors"]}),
                     headers)

    def _raw_reply(self, spec):
        reply = Reply(spec["status"], spec["body"],
                      {str(k): str(v) for k, v in spec["headers"].items()})
        reply.raw = spec
        return reply

    def _keep_audit(self, done, replacement):
        for attr in ("accessor", "operation", "path", "wrap_ttl", "issued"):
            setattr(replacement, attr, getattr(done, attr))
        return replacement

    def _faulted(self, api_path, query, reply):
        reply.operation = operation_of(self.command, query) or \
            self.command.lower()
        reply.path = redact_path(api_path)
        reply.accessor = self.server.emulator.pipeline.accessor_of(
            self.headers)
        self._record(reply)
        return reply

    def _record(self, reply):
        emu = self.server.emulator
        emu.state.stats.count(reply.path, reply.operation)
        emu.state.audit.record(
            emu.state.clock.now(), self.command, reply.operation, reply.path,
            reply.accessor, reply.wrap_ttl, reply.status, reply.issued,
            self._remote(), self.connection_no)

    def _hang(self, spec):
        """Waits until the fault set changes; False if the client left."""
        faults = self.server.emulator.state.faults
        generation = faults.generation
        return faults.wait_for_change(generation, self._client_still_there)

    def _client_still_there(self):
        if self.server.emulator.stopping.is_set():
            return False
        sock = self.connection
        if isinstance(sock, ssl.SSLSocket):
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                return sock.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False
        return True

    def _reset(self, api_path, query, recorded=False):
        """Closes the connection with a TCP reset instead of answering."""
        if not recorded:
            self._faulted(api_path, query, Reply(0))
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.server.emulator.mark_reset(self.request)
        self.close_connection = True
        return None

    # --- response ------------------------------------------------------------

    def _send(self, reply):
        spec = getattr(reply, "raw", None)
        if spec is not None and isinstance(spec, dict):
            return self._send_raw(reply, spec)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status == 204:
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            return
        if reply.body or reply.status >= 400 or reply.status == 200:
            if "Content-Type" not in reply.headers:
                self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    def _send_raw(self, reply, spec):
        """Sends a `raw` fault's answer verbatim (see README: faults)."""
        body = spec["body"]
        if isinstance(body, dict):
            unit = str(body.get("repeat", "x")).encode() or b"x"
            size = int(body.get("size", 0))
        else:
            unit, size = None, len(str(body).encode())
        self.send_response(reply.status)
        names = {k.lower() for k in reply.headers}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if "content-length" not in names and not spec.get(
                "omit_content_length"):
            self.send_header("Content-Length", str(size))
        if spec.get("close") or spec.get("omit_content_length"):
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            if unit is None:
                self.wfile.write(str(body).encode())
            else:
                chunk = (unit * (_STREAM_CHUNK // len(unit) + 1))
                sent = 0
                while sent < size:
                    part = chunk[:min(len(chunk), size - sent)]
                    self.wfile.write(part)
                    sent += len(part)
        except OSError:
            self.close_connection = True


class _ServerMixin:
    """What the TCP and Unix servers share: quiet connection errors, and
    closing (not shutting down) a socket a `reset` fault marked, so the
    peer sees a TCP reset."""

    def handle_error(self, request, client_address):
        self.emulator.logger.log("debug", "connection error: %r"
                                 % (sys.exc_info()[1],))

    def shutdown_request(self, request):
        if self.emulator.take_reset(request):
            request.close()
            return
        super().shutdown_request(request)


class _TCPServer(_ServerMixin, socketserver.ThreadingMixIn,
                 socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _TCP6Server(_TCPServer):
    address_family = socket.AF_INET6


class _UnixServer(_ServerMixin, socketserver.ThreadingMixIn,
                  socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 128


class Emulator:
    """Owns the servers; `state` is shared by all of them."""

    def __init__(self, state, logger, ssl_context=None):
        self.state = state
        self.logger = logger
        self.ssl_context = ssl_context
        self.pipeline = Pipeline(state)
        self.control = Control(state)
        self.servers = []
        self.stopping = threading.Event()
        self._resets = set()
        self._resets_lock = threading.Lock()

    def mark_reset(self, sock):
        with self._resets_lock:
            self._resets.add(id(sock))

    def take_reset(self, sock):
        with self._resets_lock:
            if id(sock) in self._resets:
                self._resets.discard(id(sock))
                return True
            return False

    def listen_tcp(self, host, port):
        cls = _TCP6Server if ":" in host else _TCPServer
        server = cls((host, port), Handler)
        server.emulator = self
        self.servers.append(server)
        return server.server_address[1]

    def listen_unix(self, path):
        server = _UnixServer(path, Handler)
        server.emulator = self
        self.servers.append(server)

    def serve(self):
        threads = []
        for server in self.servers:
            t = threading.Thread(target=server.serve_forever,
                                 kwargs={"poll_interval": 0.2}, daemon=True)
            t.start()
            threads.append(t)
        return threads

    def stop(self):
        self.stopping.set()
        self.state.faults.wake_waiters()
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.state.audit.close()

    def log_request(self, handler, api_path, reply, started):
        if self.logger.level < _LEVELS["info"]:
            return
        ms = (time.monotonic() - started) * 1000
        status = reply.status if reply is not None else "reset"
        self.logger.log("info", "%s %s status=%s ms=%.1f conn=%d remote=%s"
                        % (handler.command, redact_path(api_path), status, ms,
                           handler.connection_no, handler._remote()))
