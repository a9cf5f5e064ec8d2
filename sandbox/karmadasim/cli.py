"""``python -m sandbox.karmadasim``: serve a sandbox Karmada (API server and controllers) until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from sandbox.kubesim.cli import parse_token
from sandbox.kubesim.emulator import DEFAULT_TOKEN

from .apiserver import DEFAULT_KARMADA_VERSION
from .controllers import Settings
from .runner import KarmadaServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.karmadasim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN[:user[:group,group]]",
                        help=f"may repeat; default: {DEFAULT_TOKEN} as admin in system:masters")
    parser.add_argument("--seed", action="append", default=[], metavar="FILE", help="YAML objects to start with")
    parser.add_argument("--karmada-version", default=DEFAULT_KARMADA_VERSION,
                        help="the Karmada release to imitate (division algorithm, CRD controller-gen annotation)")
    parser.add_argument("--no-controllers", action="store_true", help="serve the API only")
    parser.add_argument("--status-interval", type=float, default=1.0, metavar="SECONDS",
                        help="how often each member is probed (Karmada: 10 s)")
    parser.add_argument("--failure-threshold", type=int, default=2, metavar="PROBES",
                        help="failed probes before a member is NotReady")
    parser.add_argument("--no-failover", action="store_true",
                        help="no NoExecute taint on NotReady members, no eviction")
    parser.add_argument("--graceful-eviction-timeout", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a fresh CA (kubectl needs it)")
    parser.add_argument("--kubeconfig", metavar="PATH", help="also write a kubeconfig for the first token here")
    parser.add_argument("--print-port", action="store_true", help="print the bare port number on its own line first")
    args = parser.parse_args(argv)

    tokens = dict(parse_token(t) for t in args.token) if args.token else None
    settings = Settings(karmada_version=args.karmada_version, cluster_status_interval=args.status_interval,
                        cluster_failure_threshold=args.failure_threshold, failover=not args.no_failover,
                        graceful_eviction_timeout=args.graceful_eviction_timeout)
    karmada = KarmadaServer(host=args.host, port=args.port, tls=args.tls, controllers=not args.no_controllers,
                            karmada_version=args.karmada_version, settings=settings, tokens=tokens,
                            seed_files=args.seed).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.print_port:
        print(karmada.port, flush=True)
    user_tokens = [t for t in karmada.emulator.tokens if t != karmada.controller_token]
    if args.kubeconfig:
        karmada.write_kubeconfig(args.kubeconfig, token=user_tokens[0])
    print(f"listening on {karmada.url} (sandbox Karmada {args.karmada_version})", flush=True)
    for token in user_tokens:
        user = karmada.emulator.tokens[token]
        print(f"token {token}: user {user.name} groups {','.join(user.groups) or '-'}", file=sys.stderr, flush=True)
    stop.wait()
    karmada.stop()
    return 0
