#!/usr/bin/python3
"""A stand-in secretprovider plugin (legacy, v1) for sandbox tests.

Listens on a Unix socket and answers the two calls dockerd makes:

  /Plugin.Activate           -> {"Implements": ["secretprovider"]}
  /SecretProvider.GetSecret  -> {"Value": base64(VALUE), "DoNotReuse": true},
                                or {"Err": "stub: refusing NAME"} when the
                                secret's name starts with "err"

Every request is appended to LOG as one JSON object per line
({"path": ..., "body": <parsed JSON or raw text>}) so tests can check what
dockerd sent. Standard library only. Stops on SIGTERM/SIGINT and removes
its socket.

usage: stub_secretprovider.py SOCKET LOG [VALUE]
"""

import base64
import http.server
import json
import os
import signal
import socketserver
import sys
import threading

CONTENT_TYPE = "application/vnd.docker.plugins.v1+json"


def reply_for(path, request, value):
    """The JSON object the stub answers PATH with."""
    if path == "/Plugin.Activate":
        return {"Implements": ["secretprovider"]}
    if path == "/SecretProvider.GetSecret":
        fields = request if isinstance(request, dict) else {}
        name = fields.get("SecretName", "")
        if name.startswith("err"):
            return {"Err": "stub: refusing " + name}
        encoded = base64.b64encode(value.encode()).decode()
        return {"Value": encoded, "DoNotReuse": True}
    return {"Err": "stub: no endpoint " + path}


def make_handler(log_path, value):
    log_lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            # The default writes client_address, which is "" on a Unix socket.
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace")
            try:
                request = json.loads(raw) if raw.strip() else {}
            except ValueError:
                request = raw
            entry = json.dumps({"path": self.path, "body": request})
            with log_lock, open(log_path, "a") as log:
                log.write(entry + "\n")
            body = json.dumps(reply_for(self.path, request, value)).encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1])
    sock, log_path = sys.argv[1], sys.argv[2]
    value = sys.argv[3] if len(sys.argv) == 4 else "hello"
    if os.path.exists(sock):
        os.unlink(sock)
    server = Server(sock, make_handler(log_path, value))

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        os.unlink(sock)


if __name__ == "__main__":
    main()
