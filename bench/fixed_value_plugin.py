#!/usr/bin/python3
"""The reference secrets driver of the Swarm scale-out benchmark.

It does the least a driver can do: answers /Plugin.Activate and gives
every /SecretProvider.GetSecret the same fixed value, with no Vault behind
it. A service scaled out with this driver shows what Swarm itself costs;
the same service with vsp shows what vsp adds. Standard library only; one
thread per connection, like vsp's worker pool is for concurrent calls.

usage: fixed_value_plugin.py SOCKET [VALUE]
Runs until SIGTERM or SIGINT, then removes its socket.
"""

import base64
import http.server
import json
import os
import signal
import socketserver
import sys

CONTENT_TYPE = "application/vnd.docker.plugins.v1+json"


def make_handler(value):
    secret = json.dumps(
        {"Value": base64.b64encode(value.encode()).decode(), "DoNotReuse": True}
    ).encode()
    activate = json.dumps({"Implements": ["secretprovider"]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = activate if self.path == "/Plugin.Activate" else secret
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[-2])
    sock = sys.argv[1]
    value = sys.argv[2] if len(sys.argv) == 3 else "reference-value"
    if os.path.exists(sock):
        os.unlink(sock)
    server = Server(sock, make_handler(value))

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
