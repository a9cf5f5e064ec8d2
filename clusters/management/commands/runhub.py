"""Run the access hub: agents' WebSocket tunnels, the kubeconfig proxy and the gateway's
internal proxy (ARCHITECTURE decision 5), with the database as its directory."""
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
        parser.add_argument("--prepare", action="store_true",
                            help="only create the hub's CA and certificate (before web and hub start together)")

    def handle(self, *args, public, internal, heartbeat_window, prepare, **options):
        if prepare:
            self.stdout.write(f"hub CA: {hub_tls().ca_file}")
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        raise_fd_limit()
        hub = Hub(DatabaseDirectory(), public=_addr(public), internal=_addr(internal),
                  secret=settings.CCEONE_HUB_SECRET, tls=hub_tls(), heartbeat_window=heartbeat_window,
                  session_idle_timeout=settings.CCEONE_HUB_SESSION_IDLE_SECONDS,
                  audit_capacity=settings.CCEONE_HUB_AUDIT_CAPACITY,
                  audit_interval=settings.CCEONE_HUB_AUDIT_INTERVAL_SECONDS)
        run_loop(self._serve(hub))

    async def _serve(self, hub: Hub) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await hub.start()  # logs where it listens
        await stop.wait()
        await hub.stop()
