"""Internal listener: the console's Kubernetes gateway reaches clusters here.

Bound to loopback by default and guarded by a shared secret. The gateway
sends Impersonate-* itself (it knows the console user), so they pass as is.
The secret is accepted as `X-Hub-Secret: <secret>` or, so a stock
Kubernetes client configuration can carry it, `Authorization: Bearer <secret>`.

Served by aiohttp's low-level server (one handler, no Application): every
console request to a cluster crosses it, and three paths need no router.
A tunnelled request is relayed by proxy.forward, as on the public listener.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import time
import urllib.parse

from aiohttp import web

from cceone_tunnel import protocol as p

from .proxy import split_cluster_path, status_response

CLUSTER_PREFIX = "/clusters/"
SECRET_HEADER = "X-Hub-Secret"
_NOT_FORWARDED = frozenset({"authorization", "x-hub-secret", "x-cceone-replica-hop"})


def make_internal_handler(hub):
    expected = hub.secret.encode()

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        raw = request.raw_path  # no URL object built: this runs for every request
        if raw == "/healthz" or raw.startswith("/healthz?"):
            return web.json_response(healthz(hub))
        if raw == "/metrics":  # Prometheus (cceone/hub/metrics.py)
            from .metrics import CONTENT_TYPE

            return web.Response(body=hub.metrics.render(), headers={"Content-Type": CONTENT_TYPE})
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            given = token.strip() if scheme.lower() == "bearer" else ""
        if not hmac.compare_digest(given.encode(), expected):
            hub.metrics.auth_failure("internal", 401)
            return status_response(401, "Unauthorized", "missing or wrong hub secret")
        if request.version >= (1, 1) and request.headers.get("Expect", "").strip().lower() == "100-continue":
            # What web.Application's router does for the public listener: the
            # client waits for this before it sends the body.
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return await cluster_route(hub, request)

    return handle


async def cluster_route(hub, request: web.BaseRequest) -> web.StreamResponse:
    parts = split_cluster_path(request.raw_path, CLUSTER_PREFIX)
    if parts is None:
        return status_response(404, "NotFound", "the server could not find the requested resource")
    cluster_id, path = parts
    if path == "/_status" or path.startswith("/_status?"):
        return web.json_response(cluster_status(hub, cluster_id))
    if path == "/_disconnect" or path.startswith("/_disconnect?"):
        if request.method != "POST":
            return status_response(405, "MethodNotAllowed", "use POST to disconnect a cluster's agents")
        # ?credential=<token hash>: only the agents that connected with that (rotated) token.
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        credential = (query.get("credential") or [None])[0]
        try:
            # Shielded: the disconnect goes on if the client leaves.
            closed = await asyncio.shield(hub.disconnect_everywhere(
                cluster_id, credential=credential, hop=request.headers.get("X-CCEOne-Replica-Hop")))
        except Exception as exc:
            return status_response(500, "InternalError", f"disconnecting cluster {cluster_id} failed: {exc}")
        return web.json_response({"closed": closed})
    headers = p.strip_hop_by_hop(request.headers.items(), _NOT_FORWARDED)
    return await hub.relay(request, cluster_id, path, headers)


def healthz(hub) -> dict:
    return {
        "status": "ok",
        "connections": len(hub.connections),
        "clusters": sum(1 for cs in hub.registry.clusters.values() if cs.connected),
        "heartbeats": hub.registry.heartbeats_total,
        "request_audit": hub.audit.stats() if hub.audit is not None else None,
    }


def _iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return dt.datetime.fromtimestamp(wall, dt.timezone.utc).isoformat(timespec="milliseconds")


def _rtt_ms(rtt: float | None) -> float | None:
    return None if rtt is None else round(rtt * 1000, 3)


def cluster_status(hub, cluster_id: str) -> dict:
    cs = hub.registry.clusters.get(cluster_id)
    if cs is None:
        return {"cluster": cluster_id, "connected": False, "connections": [], "last_heartbeat": None, "rtt_ms": None}
    now = time.monotonic()
    conns = [
        {
            "id": c.conn_id,
            "remote": c.remote,
            "agent_version": c.agent_version,
            "instance": c.instance,
            "connected_at": _iso(c.connected_wall),
            "last_heartbeat": _iso(c.last_heartbeat_wall),
            "seconds_since_seen": round(now - c.last_seen, 3),
            "rtt_ms": _rtt_ms(c.rtt),
            "streams": len(c.streams),
            "draining": c.draining,
        }
        for c in cs.conns
    ]
    rtts = [c.rtt for c in cs.conns if c.rtt is not None]
    return {
        "cluster": cluster_id,
        "connected": cs.connected and bool(cs.conns),
        "connections": conns,
        "last_heartbeat": _iso(cs.last_heartbeat_wall),
        "rtt_ms": _rtt_ms(min(rtts)) if rtts else None,
        "heartbeat_window": hub.heartbeat_window,
    }
