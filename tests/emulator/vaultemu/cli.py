"""Command line: parse flags, refuse non-loopback addresses, load the
config, listen, write the ready file, run until SIGTERM/SIGINT."""

import argparse
import ipaddress
import json
import os
import signal
import ssl
import stat
import sys
import threading

from .common import VaultError, random_base62
from .server import Emulator, Logger
from .state import State


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="vault_emulator.py",
        description="Vault HTTP API emulator for vsp's tests (loopback only)")
    p.add_argument("--listen", metavar="HOST:PORT",
                   help="TCP address (default 127.0.0.1:0, a free port)")
    p.add_argument("--unix", metavar="PATH",
                   help="also (or only) listen on this Unix socket")
    p.add_argument("--config", metavar="FILE", help="JSON start-up state")
    tok = p.add_mutually_exclusive_group()
    tok.add_argument("--root-token", metavar="TOKEN")
    tok.add_argument("--root-token-file", metavar="FILE")
    p.add_argument("--ready-file", metavar="PATH",
                   help="written atomically once listening")
    p.add_argument("--audit-log", metavar="PATH", help="JSON-lines audit log")
    p.add_argument("--tls-cert", metavar="PEM")
    p.add_argument("--tls-key", metavar="PEM")
    p.add_argument("--tls-client-ca", metavar="PEM",
                   help="require client certificates signed by this CA")
    p.add_argument("--log-level", choices=("warn", "info", "debug"),
                   default="warn")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        p.error("--tls-client-ca needs --tls-cert and --tls-key")
    return args


def parse_listen(value):
    """(host, port) from HOST:PORT or [v6]:PORT; loopback only."""
    if value.startswith("["):
        host, _, port = value[1:].partition("]:")
    else:
        host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("--listen wants HOST:PORT, got %r" % value)
    if host == "localhost":
        host = "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError("--listen host must be a loopback IP address, got "
                         "%r" % host)
    if not addr.is_loopback:
        raise ValueError("refusing to listen on non-loopback address %s"
                         % host)
    return str(addr), int(port)


def _root_token(args):
    if args.root_token:
        return args.root_token
    if args.root_token_file:
        with open(args.root_token_file, encoding="utf-8") as f:
            token = f.read().strip()
        if not token:
            raise ValueError("root token file is empty")
        return token
    return "hvs." + random_base62(24)


def _ssl_context(args):
    if not args.tls_cert:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.tls_cert, args.tls_key)
    if args.tls_client_ca:
        ctx.load_verify_locations(args.tls_client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _remove_stale_socket(path):
    """Removes a socket left by an earlier run; refuses other files."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ValueError("--unix %s exists and is not a socket" % path)
    os.unlink(path)


def _write_ready(path, info):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(info, f)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        listen = parse_listen(args.listen) if args.listen else None
        if listen is None and not args.unix:
            listen = ("127.0.0.1", 0)
        state = State(_root_token(args), audit_path=args.audit_log)
        if args.config:
            with open(args.config, encoding="utf-8") as f:
                state.load_config(json.load(f))
        emulator = Emulator(state, Logger(args.log_level), _ssl_context(args))
        address = None
        if listen:
            port = emulator.listen_tcp(*listen)
            host = "[%s]" % listen[0] if ":" in listen[0] else listen[0]
            scheme = "https" if args.tls_cert else "http"
            address = "%s://%s:%d" % (scheme, host, port)
        if args.unix:
            _remove_stale_socket(args.unix)
            emulator.listen_unix(args.unix)
    except (OSError, ValueError, ssl.SSLError) as e:
        sys.stderr.write("vault-emulator: error: %s\n" % e)
        return 2
    except VaultError as e:     # a bad policy or role in the config
        sys.stderr.write("vault-emulator: error: config: %s\n"
                         % "; ".join(e.errors))
        return 2
    return _run(emulator, state, args, address)


def _run(emulator, state, args, address):
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator.serve()
    info = {"address": address, "unix": args.unix,
            "root_token": state.root_token.id, "pid": os.getpid()}
    if args.ready_file:
        _write_ready(args.ready_file, info)
    emulator.logger.log("info", "listening address=%s unix=%s pid=%d"
                        % (address, args.unix, os.getpid()))
    _sweeper(state, done)
    while not done.wait(0.5):
        pass
    emulator.stop()
    if args.unix and os.path.exists(args.unix):
        os.unlink(args.unix)
    return 0


def _sweeper(state, done):
    """Applies expiry every second even without requests, so the control
    views and audit checks see expired tokens gone."""
    def loop():
        while not done.wait(1.0):
            state.sweep()
    threading.Thread(target=loop, daemon=True).start()
