"""The access hub process: two listeners around one registry.

Both are aiohttp: the public one (agents, kubeconfigs) an Application, the
internal one, which every console request crosses, a single low-level
handler (see internal.py).
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import logging
import os
import secrets
import ssl

from aiohttp import web

from cceone_tunnel import protocol as p

from .audit import RequestAudit
from .certs import HubTLS
from .connection import AgentConnection
from .direct import DirectForwarder
from .internal import make_internal_handler
from .metrics import HubMetrics
from .proxy import forward
from .public import make_public_app
from .refusals import Refusals
from .registry import Registry
from .upgrade import IDLE_TIMEOUT, Sessions

log = logging.getLogger("cceone.hub")


TLS_READ_BUFFER = 32 * 1024


def shrink_tls_read_buffers(size: int = TLS_READ_BUFFER) -> None:
    """Cap asyncio's per-connection TLS receive buffer.

    asyncio allocates (and zero-fills, so it is resident) a 256 KiB buffer
    for every TLS connection: 2,000 agents would cost 500 MB for buffers that
    are nearly always empty. 32 KiB still takes two full TLS records per
    read. This is a class attribute, so it applies process-wide; the hub is
    meant to run in its own process.
    """
    if asyncio.sslproto.SSLProtocol.max_size > size:
        asyncio.sslproto.SSLProtocol.max_size = size


def _uvloop():
    if os.environ.get("CCEONE_UVLOOP", "1").lower() in ("0", "false", "no", "off"):
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A loop of the kind run_loop uses (for a hub run in a thread)."""
    uv = _uvloop()
    return uv.new_event_loop() if uv is not None else asyncio.new_event_loop()


def run_loop(coro):
    """asyncio.run, on uvloop when it is installed.

    uvloop is a dependency except on Windows: it takes CPU and latency off
    every tunnelled request (benchmarks/tunnel_overhead.py) and keeps less
    memory per TLS connection than asyncio (benchmarks/hub_agents.py).
    CCEONE_UVLOOP=0 forces the standard loop.
    """
    uv = _uvloop()
    return uv.run(coro) if uv is not None else asyncio.run(coro)


class Hub:
    """Access hub.

    directory        the product's Directory implementation
    public           (host, port) of the agent / kubeconfig listener (port 0: any)
    internal         (host, port) of the gateway listener; keep it on loopback
    secret           shared secret for the internal listener (random if None)
    tls              HubTLS (see HubTLS.ensure), an ssl.SSLContext, or None for
                     plain HTTP (tests, or TLS terminated in front of the hub)
    heartbeat_window seconds between agent heartbeats; a cluster is lost after
                     two windows without one
    window           per-stream flow-control window granted to agents (bytes)
    refusal_limit    refused agent connections per source and minute before the
                     source is answered 429 without a token lookup
    session_idle_timeout  seconds without a byte either way after which an
                     exec / attach / port-forward session is closed
    request_audit    record every kubeconfig-proxy request through the directory's
                     `kube_requests` (audit.py), if it has one; `audit_capacity`
                     requests wait at most (more are dropped and counted), handed
                     over every `audit_interval` seconds in batches of `audit_batch`
    replicas         replicas.Replicas: this hub is one of several behind one address
                     (routing directory in Redis, replica link); None: the only one
    """

    def __init__(
        self,
        directory,
        public: tuple[str, int] = ("0.0.0.0", 9443),
        internal: tuple[str, int] = ("127.0.0.1", 9444),
        secret: str | None = None,
        tls: HubTLS | ssl.SSLContext | None = None,
        heartbeat_window: float = 30.0,
        window: int = p.DEFAULT_WINDOW,
        refusal_limit: int = 20,
        session_idle_timeout: float = IDLE_TIMEOUT,
        request_audit: bool = True,
        audit_capacity: int = 20_000,
        audit_batch: int = 1000,
        audit_interval: float = 1.0,
        replicas=None,
    ):
        self.replicas = replicas
        if replicas is not None:
            directory = replicas.wrap(directory)
        self.draining = False
        self.directory = directory
        self.public = public
        self.internal = internal
        self.secret = secret or secrets.token_urlsafe(32)
        self.tls = tls
        self.heartbeat_window = float(heartbeat_window)
        self.window = window
        self.registry = Registry(directory, self.heartbeat_window)
        self.refusals = Refusals(directory, limit=refusal_limit)
        self.sessions = Sessions(directory, session_idle_timeout)
        self.registry.tick_hooks.append(self.refusals.flush)
        self.connections: set[AgentConnection] = set()
        sink = getattr(directory, "kube_requests", None) if request_audit else None
        self.audit = (RequestAudit(sink, capacity=audit_capacity, batch=audit_batch, interval=audit_interval)
                      if sink is not None else None)
        self.metrics = HubMetrics(self)
        self.direct = DirectForwarder(self.sessions)  # kubeconfig requests to clusters reached without an agent
        self._runners: list[web.BaseRunner] = []
        self._reaper: asyncio.Task | None = None
        self.public_port: int | None = None
        self.internal_port: int | None = None

    @property
    def public_scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    async def start(self) -> None:
        ssl_ctx = self.tls.server_context() if isinstance(self.tls, HubTLS) else self.tls
        if ssl_ctx is not None:
            shrink_tls_read_buffers()
        self.public_port = await self._listen(make_public_app(self), self.public, ssl_ctx)
        internal = web.Server(make_internal_handler(self), handler_cancellation=True, access_log=None)
        self.internal_port = await self._listen(internal, self.internal, None)
        self._reaper = asyncio.ensure_future(self.registry.reaper())
        if self.audit is not None:
            self.audit.start()
        if self.replicas is not None:
            await self.replicas.start(self)
        log.info(
            "hub listening: public %s://%s:%s, internal http://%s:%s",
            self.public_scheme, self.public[0], self.public_port, self.internal[0], self.internal_port,
        )

    async def _listen(self, app: web.Application | web.Server, addr: tuple[str, int], ssl_ctx) -> int:
        # handler_cancellation: a client hanging up must cancel its handler so
        # the stream is reset at the agent (otherwise an idle watch would
        # stay open at the API server forever). No access log: it is a hot
        # path and the API server audits requests anyway.
        if isinstance(app, web.Application):
            runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        else:
            runner = web.ServerRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, addr[0], addr[1], ssl_context=ssl_ctx, backlog=2048, reuse_address=True)
        await site.start()
        return runner.addresses[0][1]

    async def relay(self, request: web.BaseRequest, cluster_id: str, path: str, headers: list) -> web.StreamResponse:
        """Send an authorised request to the cluster: over a tunnel of this replica, or (several
        replicas) through the replica link to the one holding it."""
        self.metrics.request(cluster_id, "internal" if request.raw_path.startswith("/clusters/") else "public")
        if not any(k.lower() == "x-request-id" for k, _ in headers):
            # The console's gateway sends its request's id; a kubeconfig's request gets one here,
            # and the agent (and the API server) see it as well.
            headers = [*headers, ("X-Request-ID", secrets.token_hex(16))]
        conn = self.registry.pick(cluster_id)
        if self.replicas is not None and (conn is None or self.draining):
            return await self.replicas.relay(self, request, cluster_id, path, headers, conn)
        return await forward(request, conn, cluster_id, path, headers, self.sessions)

    async def disconnect_everywhere(self, cluster_id: str, credential: str | None = None,
                                    hop: str | None = None) -> int:
        """disconnect_cluster on whichever replica holds the cluster's tunnels (every live one)."""
        if self.replicas is None:
            return await self.disconnect_cluster(cluster_id, credential=credential)
        return await self.replicas.disconnect(self, cluster_id, credential, hop)

    async def drain(self, deadline: float) -> None:
        """Graceful restart (SIGTERM): see drain.py."""
        from .drain import drain

        await drain(self, deadline)

    async def disconnect_cluster(self, cluster_id: str, code: int = 4003, reason: str = "revoked",
                                 credential: str | None = None) -> int:
        """Close every agent connection of a cluster now (or only those that authenticated
        with the token whose hash is `credential`); returns how many.

        In-flight requests fail immediately (502, or an aborted body if the
        response had started). Whether the agents may come back is the
        directory's decision: after an unsubscribe their token is revoked,
        so reconnects are refused.
        """
        conns = self.registry.detach(cluster_id, credential)
        if conns:
            log.info("cluster %s: closing %d agent connection(s) (%s)", cluster_id, len(conns), reason)
            # Shielded: a caller that hangs up must not leave detached sockets open.
            await asyncio.shield(asyncio.gather(*(c.close(code, reason) for c in conns), return_exceptions=True))
        return len(conns)

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        # 1001 "going away": agents reconnect (with backoff) to the next hub.
        conns = list(self.connections)
        if conns:
            await asyncio.gather(*(c.close(1001, "hub shutting down") for c in conns), return_exceptions=True)
        if self.replicas is not None:
            await self.replicas.stop(self)
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self.audit is not None:
            await self.audit.stop()
        await self.direct.close()
        await self.registry.drain(timeout=5.0)
