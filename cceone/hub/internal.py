"""Internal listener: the console's Kubernetes gateway reaches clusters here.

Bound to loopback by default and guarded by a shared secret. The gateway
sends Impersonate-* itself (it knows the console user), so they pass as is.
The secret is accepted as `X-Hub-Secret: <secret>` or, so a stock
Kubernetes client configuration can carry it, `Authorization: Bearer <secret>`.

Served by http1.HTTPServer: `route` runs in the parser's callback and
either answers at once or hands the request to a relay.TunnelExchange.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import time
import urllib.parse

from . import protocol as p
from .http1 import Exchange, GatewayConnection, Request
from .proxy import UPGRADE_REFUSED, split_cluster_path
from .relay import TunnelExchange, respond_status

CLUSTER_PREFIX = "/clusters/"
SECRET_HEADER = "x-hub-secret"
_NOT_FORWARDED = frozenset({"authorization", "x-hub-secret"})
_JSON = [("Content-Type", "application/json")]
_background: set[asyncio.Task] = set()


def make_internal_route(hub):
    expected = hub.secret.encode()

    def route(req: Request, http: GatewayConnection):
        raw = req.raw_path
        if raw == "/healthz" or raw.startswith("/healthz?"):
            return _json(http, healthz(hub))
        given = req.header(SECRET_HEADER)
        if given is None:
            scheme, _, token = (req.header("authorization") or "").partition(" ")
            given = token.strip() if scheme.lower() == "bearer" else ""
        if not hmac.compare_digest(given.encode(), expected):
            return respond_status(http, 401, "Unauthorized", "missing or wrong hub secret")
        return cluster_route(hub, req, http)

    return route


def _json(http: GatewayConnection, obj, status: int = 200) -> None:
    http.respond(status, _JSON, json.dumps(obj).encode())


def cluster_route(hub, req: Request, http: GatewayConnection):
    parts = split_cluster_path(req.raw_path, CLUSTER_PREFIX)
    if parts is None:
        return respond_status(http, 404, "NotFound", "the server could not find the requested resource")
    cluster_id, path = parts
    if path == "/_status" or path.startswith("/_status?"):
        return _json(http, cluster_status(hub, cluster_id))
    if path == "/_disconnect" or path.startswith("/_disconnect?"):
        if req.method != "POST":
            return respond_status(http, 405, "MethodNotAllowed", "use POST to disconnect a cluster's agents")
        # ?credential=<token hash>: only the agents that connected with that (rotated) token.
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        return _disconnect(hub, http, cluster_id, (query.get("credential") or [None])[0])
    if req.upgrade:
        return respond_status(http, 400, "BadRequest", UPGRADE_REFUSED)
    conn = hub.registry.pick(cluster_id)
    if conn is None:
        return respond_status(http, 503, "ServiceUnavailable", f"cluster {cluster_id} is disconnected (no agent connected)")
    headers = p.strip_hop_by_hop(req.headers, _NOT_FORWARDED)
    return TunnelExchange(http, req, conn, cluster_id, path, headers)


def _disconnect(hub, http: GatewayConnection, cluster_id: str, credential: str | None = None):
    task = asyncio.ensure_future(hub.disconnect_cluster(cluster_id, credential=credential))
    _background.add(task)

    def answer(t: asyncio.Task) -> None:
        _background.discard(t)
        if t.cancelled() or http.closing:
            return
        if t.exception() is not None:
            return respond_status(http, 500, "InternalError", f"disconnecting cluster {cluster_id} failed: {t.exception()}")
        _json(http, {"closed": t.result()})

    task.add_done_callback(answer)
    return Exchange()  # answered by the callback; the disconnect goes on if the client leaves


def healthz(hub) -> dict:
    return {
        "status": "ok",
        "connections": len(hub.connections),
        "clusters": sum(1 for cs in hub.registry.clusters.values() if cs.connected),
        "heartbeats": hub.registry.heartbeats_total,
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
