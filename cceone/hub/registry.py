"""Which agent connections serve which cluster, and cluster liveness.

A single reaper task does all periodic work (pings, dead-connection and
lost-cluster detection) for every connection: per-connection timers would
cost memory and wakeups at 2,000+ agents.

Directory notifications for one cluster go through a small per-cluster
queue so they reach the product in order (connected -> heartbeat... ->
lost) and never block a connection's read loop; queued heartbeats are
coalesced to the latest, so a slow directory sees at most one backlog entry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from .connection import AgentConnection
from .directory import ConnInfo

log = logging.getLogger("cceone.hub")


class ClusterState:
    __slots__ = ("cluster_id", "conns", "rr", "last_heartbeat", "last_heartbeat_wall", "connected", "events", "runner")

    def __init__(self, cluster_id: str):
        self.cluster_id = cluster_id
        self.conns: list[AgentConnection] = []
        self.rr = 0
        self.last_heartbeat = time.monotonic()
        self.last_heartbeat_wall: float | None = None
        self.connected = False
        self.events: deque = deque()
        self.runner: asyncio.Task | None = None


class Registry:
    def __init__(self, directory, heartbeat_window: float):
        self.directory = directory
        self.window = heartbeat_window
        self.clusters: dict[str, ClusterState] = {}
        self.heartbeats_total = 0
        self.connections_total = 0
        self.tick_hooks: list = []  # more periodic work, run after each tick

    # -- membership ------------------------------------------------------------------
    def add(self, conn: AgentConnection) -> None:
        cs = self.clusters.get(conn.cluster_id)
        if cs is None:
            cs = self.clusters[conn.cluster_id] = ClusterState(conn.cluster_id)
        first = not cs.conns
        cs.conns.append(conn)
        self.connections_total += 1
        cs.last_heartbeat = max(cs.last_heartbeat, conn.connected_at)
        info = ConnInfo(
            conn_id=conn.conn_id,
            remote_ip=conn.remote,
            agent_version=conn.agent_version,
            instance=conn.instance,
            protocol=1,
            connected_at=conn.connected_wall,
            connections=len(cs.conns),
        )
        if first or not cs.connected:
            cs.connected = True
            self._notify(cs, "connected", info)
        else:
            # Any holder of the token can add a connection and be handed user requests:
            # the product must see each one, not only the first.
            self._notify(cs, "joined", info)

    def remove(self, conn: AgentConnection) -> None:
        # The cluster state outlives its last connection until the reaper
        # declares it lost: an agent pod restart must not flap the status.
        cs = self.clusters.get(conn.cluster_id)
        if cs is not None and conn in cs.conns:
            cs.conns.remove(conn)

    def detach(self, cluster_id: str, credential: str | None = None) -> list[AgentConnection]:
        """Take every connection of the cluster out of service now (revocation), or
        only those that authenticated with `credential` (a rotated token's hash).

        In-flight streams fail at once and nothing is routed to them any more;
        the caller closes the WebSockets. Once no connection is left the cluster
        is declared lost right away (its agents are not expected back: their
        token was revoked).
        """
        cs = self.clusters.get(cluster_id)
        if cs is None:
            return []
        conns = [c for c in cs.conns if credential is None or c.credential == credential]
        cs.conns = [c for c in cs.conns if c not in conns]
        for c in conns:
            c.fail_streams("agent disconnected by the hub (cluster access revoked)")
        if cs.connected and not cs.conns:
            cs.connected = False
            self._notify(cs, "lost", None)
        return conns

    def pick(self, cluster_id: str) -> AgentConnection | None:
        """Next usable connection of the cluster, round robin."""
        cs = self.clusters.get(cluster_id)
        if cs is None:
            return None
        conns = cs.conns
        n = len(conns)
        for i in range(n):
            c = conns[(cs.rr + i) % n]
            if not c.draining and not c.closed:
                cs.rr = (cs.rr + i + 1) % n
                return c
        return None

    def connection_count(self) -> int:
        return sum(len(cs.conns) for cs in self.clusters.values())

    # -- heartbeats ------------------------------------------------------------------
    def heartbeat(self, conn: AgentConnection, facts: dict) -> None:
        now = time.monotonic()
        conn.last_heartbeat = now
        conn.last_heartbeat_wall = time.time()
        self.heartbeats_total += 1
        cs = self.clusters.get(conn.cluster_id)
        if cs is None or conn not in cs.conns:
            return
        cs.last_heartbeat = now
        cs.last_heartbeat_wall = conn.last_heartbeat_wall
        if not cs.connected:
            # Declared lost while this connection lingered: it is back.
            cs.connected = True
            self._notify(cs, "connected", ConnInfo(conn.conn_id, conn.remote, conn.agent_version, conn.instance, 1, conn.connected_wall, len(cs.conns)))
        self._notify(cs, "heartbeat", facts)

    # -- periodic work ---------------------------------------------------------------
    def tick(self) -> None:
        now = time.monotonic()
        lost_after = 2 * self.window
        ping_every = self.window / 2
        for cid, cs in list(self.clusters.items()):
            if cs.connected and now - cs.last_heartbeat > lost_after:
                cs.connected = False
                log.info("cluster %s: no heartbeat for %.1fs, agent lost", cid, now - cs.last_heartbeat)
                self._notify(cs, "lost", None)
            for c in list(cs.conns):
                if now - c.last_seen > lost_after:
                    # Nothing at all, not even a PONG: dead TCP path. No
                    # closing handshake, it would only wait for a timeout.
                    log.info("agent %s (%s): silent for %.1fs, dropping", c.conn_id, c.remote, now - c.last_seen)
                    c.closed = True
                    c.abort()
                elif now - c.last_heartbeat > lost_after and not c.closed:
                    # Alive but not heartbeating (wedged agent): a reconnect
                    # may cure it and keeps routing off a sick replica.
                    log.info("agent %s (%s): no heartbeat for %.1fs, closing", c.conn_id, c.remote, now - c.last_heartbeat)
                    c.closed = True
                    asyncio.ensure_future(c.close(4001, "no heartbeat"))
                elif now - c.last_ping >= ping_every:
                    c.ping()
            if not cs.conns and not cs.connected and not cs.events and cs.runner is None:
                del self.clusters[cid]

    async def reaper(self) -> None:
        interval = min(1.0, self.window / 5)
        while True:
            await asyncio.sleep(interval)
            try:
                self.tick()
                for hook in self.tick_hooks:
                    hook()
            except Exception:  # never let bookkeeping kill liveness detection
                log.exception("hub reaper tick failed")

    # -- ordered directory notifications ---------------------------------------------
    def _notify(self, cs: ClusterState, kind: str, arg) -> None:
        if kind == "heartbeat" and cs.events and cs.events[-1][0] == "heartbeat":
            cs.events[-1] = (kind, arg)
        else:
            cs.events.append((kind, arg))
        if cs.runner is None:
            cs.runner = asyncio.ensure_future(self._run_events(cs))

    async def _run_events(self, cs: ClusterState) -> None:
        d = self.directory
        try:
            while cs.events:
                kind, arg = cs.events.popleft()
                try:
                    if kind == "heartbeat":
                        await d.heartbeat(cs.cluster_id, arg)
                    elif kind == "connected":
                        await d.agent_connected(cs.cluster_id, arg)
                    elif kind == "joined":
                        joined = getattr(d, "agent_joined", None)
                        if joined is not None:
                            await joined(cs.cluster_id, arg)
                    elif kind == "lost":
                        await d.agent_lost(cs.cluster_id)
                except Exception:
                    log.exception("directory.%s(%s) failed", kind, cs.cluster_id)
        finally:
            cs.runner = None

    async def drain(self, timeout: float) -> None:
        """Wait for queued notifications (hub shutdown)."""
        runners = [cs.runner for cs in self.clusters.values() if cs.runner is not None]
        if runners:
            await asyncio.wait(runners, timeout=timeout)
