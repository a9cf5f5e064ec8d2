"""Graceful restart of a hub replica (SIGTERM on `manage.py runhub`).

1. The replica stops taking agents (`/agent/connect` answers 503 with Retry-After) and
   leaves the load balancer's rotation (`/readyz` answers 503).
2. Every agent gets a DRAIN frame: it dials again at once, reaches another replica through
   the load balancer, which takes the cluster's routing entry over; new requests follow the
   entry there (this replica forwards what still reaches it).
3. Requests in flight here finish, up to `deadline` seconds; streams still open then
   (watches, `logs -f`) are ended cleanly, so their clients start them again elsewhere.
4. Hub.stop(): the remaining connections are closed with 1001.
"""

from __future__ import annotations

import asyncio
import logging

from cceone_tunnel import protocol as p

from .connection import ENDED

log = logging.getLogger("cceone.hub")

REASON = "hub replica shutting down"


def in_flight(hub) -> int:
    """Requests this replica is carrying: tunnelled streams and requests relayed to others."""
    streams = sum(len(c.streams) for c in hub.connections)
    return streams + (hub.replicas.forwarding if hub.replicas is not None else 0)


async def drain(hub, deadline: float) -> None:
    hub.draining = True
    conns = list(hub.connections)
    frame = p.json_frame(p.DRAIN, 0, {"reason": REASON, "deadline": deadline}, flags=p.FLAG_IGNORABLE)
    for c in conns:
        c.send_nowait(frame)
    log.info("draining: %d agent connection(s), %d request(s) in flight, deadline %.1fs",
             len(conns), in_flight(hub), deadline)
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while in_flight(hub) and loop.time() < end:
        await asyncio.sleep(0.05)
    left = in_flight(hub)
    if left:
        log.info("drain deadline: ending %d stream(s) still open", left)
        for c in list(hub.connections):
            for st in list(c.streams.values()):
                st.feed((ENDED, REASON))
        if hub.replicas is not None:
            hub.replicas.end_forwarded()
        grace = loop.time() + 2.0
        while in_flight(hub) and loop.time() < grace:
            await asyncio.sleep(0.05)
    log.info("drained")
