"""Standalone hub with an in-memory directory, for development and benchmarks.

    python -m cceone.hub --config hub-dev.yaml [--tls-dir var/hub | --plain]

The config (YAML or JSON) lists clusters and user tokens:

    clusters: [{id: c1, agent_token: "...", tenant: acme}]
    users:    [{token: "...", username: alice, groups: [dev], tenant: acme}]

The product runs the hub via its own management command with a
database-backed Directory; this entry point needs no Django.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import signal

import yaml

from .certs import HubTLS
from .directory import InMemoryDirectory
from .server import Hub, run_loop


def _addr(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "0.0.0.0", int(port)


def raise_fd_limit() -> int:
    """Each agent holds a socket; the usual soft limit (1024) is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (ValueError, OSError):
            pass
    return soft


def load_directory(path: str | None, audit_log: str | None = None) -> InMemoryDirectory:
    # Heartbeat events are not kept: at thousands of agents the log would
    # grow without bound; the latest facts per cluster are.
    d = InMemoryDirectory(keep_heartbeat_events=False, audit_log=audit_log)
    if path:
        with open(path) as f:
            cfg = yaml.safe_load(f) or {}
        for c in cfg.get("clusters") or []:
            d.add_cluster(str(c["id"]), c["agent_token"], c.get("tenant", "default"))
        for u in cfg.get("users") or []:
            d.add_user_token(u["token"], u["username"], u.get("groups", ()), u.get("tenant", "default"),
                             relays_impersonation=bool(u.get("relays_impersonation")))
    return d


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m cceone.hub", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="YAML/JSON with clusters and users")
    ap.add_argument("--public", default="0.0.0.0:9443", type=_addr)
    ap.add_argument("--internal", default="127.0.0.1:9444", type=_addr)
    ap.add_argument("--secret", help="internal listener secret (default: random, printed)")
    ap.add_argument("--tls-dir", default="var/hub", help="CA and server cert live (or are created) here")
    ap.add_argument("--hostname", action="append", default=[], help="extra name for the server certificate")
    ap.add_argument("--plain", action="store_true", help="no TLS on the public listener")
    ap.add_argument("--heartbeat-window", type=float, default=30.0)
    ap.add_argument("--no-request-audit", action="store_true",
                    help="do not record kubeconfig-proxy requests (audit.py)")
    ap.add_argument("--audit-log", help="append the recorded kubeconfig-proxy requests to this file as JSON lines")
    ap.add_argument("--redis-url", help="routing directory shared by hub replicas (cceone/hub/replicas.py)")
    ap.add_argument("--redis-prefix", default="cceone:hub:")
    ap.add_argument("--replica-id")
    ap.add_argument("--drain-seconds", type=float, default=0.0, help="on SIGTERM, drain for this long first")
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise_fd_limit()
    tls = None if args.plain else HubTLS.ensure(args.tls_dir, hostnames=args.hostname or ["localhost"])
    hub = Hub(
        load_directory(args.config, args.audit_log),
        public=args.public,
        internal=args.internal,
        secret=args.secret,
        tls=tls,
        heartbeat_window=args.heartbeat_window,
        request_audit=not args.no_request_audit,
        replicas=_replicas(args),
    )
    run_loop(_serve(hub, print_secret=args.secret is None, drain_seconds=args.drain_seconds))


def _replicas(args):
    if not args.redis_url:
        return None
    from .replicas import Replicas

    return Replicas(args.redis_url, replica_id=args.replica_id, prefix=args.redis_prefix)


async def _serve(hub: Hub, print_secret: bool, drain_seconds: float = 0.0) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await hub.start()
    if print_secret:
        print(f"internal secret: {hub.secret}", flush=True)
    await stop.wait()
    if drain_seconds > 0:
        await hub.drain(drain_seconds)
    await hub.stop()


if __name__ == "__main__":
    main()
