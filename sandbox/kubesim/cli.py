"""``python -m sandbox.kubesim``: serve an emulated cluster until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .emulator import DEFAULT_TOKEN, Emulator, shipped_seeds
from .rbac import User
from .runner import EmulatorServer


def parse_token(spec: str) -> tuple[str, User]:
    """``TOKEN[:user[:group,group]]``; a bare token is a cluster admin (system:masters)."""
    token, _, rest = spec.partition(":")
    if not rest:
        return token, User("admin", ("system:masters",))
    user, _, groups = rest.partition(":")
    return token, User(user, tuple(g for g in groups.split(",") if g))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.kubesim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN[:user[:group,group]]",
                        help=f"may repeat; default: {DEFAULT_TOKEN} as admin in system:masters")
    parser.add_argument("--seed", action="append", default=[], metavar="FILE",
                        help=f"YAML file or shipped seed name ({', '.join(shipped_seeds())}); may repeat")
    parser.add_argument("--no-controllers", action="store_true", help="no deployment/statefulset/... controllers")
    parser.add_argument("--version", default="v1.31.4", help="Kubernetes version the server reports")
    parser.add_argument("--live-logs", type=float, default=None, metavar="SECONDS",
                        help="append an access-log line to every running pod this often")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS with a fresh CA (needed by kubectl, which sends no token over HTTP)")
    parser.add_argument("--kubeconfig", metavar="PATH", help="also write a kubeconfig for the first token here")
    parser.add_argument("--print-port", action="store_true", help="print the bare port number on its own line first")
    args = parser.parse_args(argv)

    tokens = dict(parse_token(t) for t in args.token) if args.token else None
    emulator = Emulator(tokens=tokens, seed_files=args.seed, controllers=not args.no_controllers,
                        version=args.version)
    server = EmulatorServer(emulator, host=args.host, port=args.port, tls=args.tls, live_logs=args.live_logs).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.print_port:
        print(server.port, flush=True)
    if args.kubeconfig:
        server.write_kubeconfig(args.kubeconfig, token=next(iter(emulator.tokens)))
    print(f"listening on {server.url}", flush=True)
    for token, user in emulator.tokens.items():
        print(f"token {token}: user {user.name} groups {','.join(user.groups) or '-'}", file=sys.stderr, flush=True)
    stop.wait()
    server.stop()
    return 0
