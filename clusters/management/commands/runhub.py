"""Run the access hub: agents' WebSocket tunnels, the kubeconfig proxy and the gateway's
internal proxy (ARCHITECTURE decision 5), with the database as its directory.

With `--redis-url` (CCEONE_HUB_REDIS_URL) it is one of several replicas behind one address
(cceone/hub/replicas.py); SIGTERM drains it (cceone/hub/drain.py) before it exits."""
import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from cceone.hub.__main__ import raise_fd_limit
from cceone.hub.server import Hub, run_loop
from clusters.hub_directory import DatabaseDirectory
from clusters.hub_tls import hub_tls


def _addr(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "0.0.0.0", int(port)


class Command(BaseCommand):
    help = "Run the access hub (public listener for agents and kubeconfigs, internal proxy for the console)."

    def add_arguments(self, parser):
        parser.add_argument("--public", default=settings.CCEONE_HUB_PUBLIC_LISTEN)
        parser.add_argument("--internal", default=settings.CCEONE_HUB_INTERNAL_LISTEN)
        parser.add_argument("--heartbeat-window", type=float, default=settings.CCEONE_HUB_HEARTBEAT_WINDOW)
        parser.add_argument("--redis-url", default=settings.CCEONE_HUB_REDIS_URL,
                            help="routing directory shared by hub replicas (empty: a single hub)")
        parser.add_argument("--redis-prefix", default=settings.CCEONE_HUB_REDIS_PREFIX)
        parser.add_argument("--replica-id", default=settings.CCEONE_HUB_REPLICA_ID)
        parser.add_argument("--advertise", default=settings.CCEONE_HUB_ADVERTISE_URL,
                            help="URL other replicas reach this one's internal listener at")
        parser.add_argument("--drain-seconds", type=float, default=settings.CCEONE_HUB_DRAIN_SECONDS,
                            help="on SIGTERM, how long requests in flight may take to finish")
        parser.add_argument("--prepare", action="store_true",
                            help="only create the hub's CA and certificate (before web and hub start together)")

    def handle(self, *args, public, internal, heartbeat_window, prepare, redis_url, redis_prefix, replica_id,
               advertise, drain_seconds, **options):
        if prepare:
            self.stdout.write(f"hub CA: {hub_tls().ca_file}")
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        raise_fd_limit()
        replicas = None
        if redis_url:
            from cceone.hub.replicas import Replicas

            replicas = Replicas(redis_url, replica_id=replica_id or None, advertise=advertise or None,
                                prefix=redis_prefix)
        hub = Hub(DatabaseDirectory(), public=_addr(public), internal=_addr(internal),
                  secret=settings.CCEONE_HUB_SECRET, tls=hub_tls(), heartbeat_window=heartbeat_window,
                  session_idle_timeout=settings.CCEONE_HUB_SESSION_IDLE_SECONDS,
                  audit_capacity=settings.CCEONE_HUB_AUDIT_CAPACITY,
                  audit_interval=settings.CCEONE_HUB_AUDIT_INTERVAL_SECONDS, replicas=replicas)
        run_loop(self._serve(hub, drain_seconds))

    async def _serve(self, hub: Hub, drain_seconds: float) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await hub.start()  # logs where it listens
        await stop.wait()
        if drain_seconds > 0:
            await hub.drain(drain_seconds)
        await hub.stop()
