"""`cceone-agent` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from . import __version__
from .health import HealthServer, parse_addr
from .kubeconfig import FileToken, KubeConfigError, load_incluster, load_kubeconfig
from .tunnel import Agent


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="cceone-agent",
        description="Connect this Kubernetes cluster to a CCE One access hub.",
    )
    ap.add_argument("--hub", default=os.environ.get("CCEONE_HUB"), help="hub URL, e.g. wss://hub.example.com:9443 (env CCEONE_HUB)")
    ap.add_argument("--token-file", default=os.environ.get("CCEONE_TOKEN_FILE"), help="file holding the cluster's agent token (env CCEONE_TOKEN_FILE)")
    ap.add_argument("--ca-file", default=os.environ.get("CCEONE_CA_FILE"), help="CA bundle to verify the hub (env CCEONE_CA_FILE); default: system CAs")
    ap.add_argument("--insecure-skip-hub-verify", action="store_true", help="do not verify the hub's certificate (testing only)")
    ap.add_argument("--kubeconfig", default=os.environ.get("CCEONE_KUBECONFIG"), help="use this kubeconfig instead of the in-cluster service account")
    ap.add_argument("--context", default=None, help="kubeconfig context (default: current-context)")
    ap.add_argument("--heartbeat-interval", type=float, default=_env_float("CCEONE_HEARTBEAT_INTERVAL", 30.0), help="seconds between heartbeats (the hub may ask for less); default 30")
    ap.add_argument("--shutdown-grace", type=float, default=5.0, help="seconds to let in-flight requests finish on SIGTERM; default 5")
    ap.add_argument("--backoff-cap", type=float, default=30.0, help=argparse.SUPPRESS)
    ap.add_argument("--backoff-base", type=float, default=0.5, help=argparse.SUPPRESS)
    ap.add_argument(
        "--health-addr",
        default=os.environ.get("CCEONE_HEALTH_ADDR") or None,
        help="serve GET /healthz and /readyz on HOST:PORT (':8080' = all interfaces; env CCEONE_HEALTH_ADDR); default off",
    )
    ap.add_argument("--log-level", default=os.environ.get("CCEONE_LOG_LEVEL", "info"))
    ap.add_argument("--log-format", choices=("text", "json"), default=os.environ.get("CCEONE_LOG_FORMAT", "text"),
                    help="json: one object per line, with the request_id of a tunnelled request (env CCEONE_LOG_FORMAT)")
    ap.add_argument("--version", action="version", version=f"cceone-agent {__version__}")
    return ap


class JsonFormatter(logging.Formatter):
    """The console's JSON log shape (cceone/logs.py) without its dependencies: the agent ships alone."""

    def format(self, record: logging.LogRecord) -> str:
        import datetime
        import json

        line = {"timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(),
                "level": record.levelname.lower(), "logger": record.name, "event": record.getMessage()}
        if getattr(record, "request_id", ""):
            line["request_id"] = record.request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if args.log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO), handlers=[handler])
    if not args.hub or not args.token_file:
        sys.exit("cceone-agent: --hub and --token-file are required")
    if args.health_addr:
        try:
            parse_addr(args.health_addr)
        except ValueError as exc:
            sys.exit(f"cceone-agent: {exc}")
    try:
        kube = load_kubeconfig(args.kubeconfig, args.context) if args.kubeconfig else load_incluster()
        token = FileToken(args.token_file, max_age=0)  # re-read on every connect: rotation
        token()
    except (KubeConfigError, OSError) as exc:
        sys.exit(f"cceone-agent: {exc}")
    logging.getLogger("cceone_agent").info("cceone-agent %s: hub %s, API server %s (%s)", __version__, args.hub, kube.server, kube.source)
    try:
        agent = _make_agent(args, kube, token)
    except ValueError as exc:
        sys.exit(f"cceone-agent: {exc}")
    run_loop(_run(agent, args.health_addr))


def run_loop(coro):
    """asyncio.run, on uvloop (a dependency on Linux and macOS: less CPU and
    latency per tunnelled request). CCEONE_UVLOOP=0 forces asyncio."""
    if os.environ.get("CCEONE_UVLOOP", "1").lower() not in ("0", "false", "no", "off"):
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coro)
    return asyncio.run(coro)


def _make_agent(args, kube, token) -> Agent:
    return Agent(
        args.hub,
        token,
        kube,
        ca_file=args.ca_file,
        insecure_hub=args.insecure_skip_hub_verify,
        heartbeat_interval=args.heartbeat_interval,
        backoff_base=args.backoff_base,
        backoff_cap=args.backoff_cap,
        shutdown_grace=args.shutdown_grace,
    )


async def _run(agent: Agent, health_addr: str | None = None) -> None:
    loop = asyncio.get_running_loop()
    logging.getLogger("cceone_agent").debug("event loop: %s.%s", type(loop).__module__, type(loop).__name__)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent.stop)
    health = None
    if health_addr:
        health = HealthServer(agent, health_addr)
        try:
            await health.start()
        except OSError as exc:
            sys.exit(f"cceone-agent: cannot listen on {health_addr} for health probes: {exc}")
    try:
        await agent.run()
    finally:
        if health is not None:
            await health.close()


if __name__ == "__main__":
    main()
