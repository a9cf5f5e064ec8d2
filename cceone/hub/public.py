"""Public listener: agents dial in here, and users' kubeconfigs point here."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from cceone_tunnel import protocol as p

from .audit import AUDIT_KEY, RequestAudit
from .connection import AgentConnection
from .directory import Forbidden, NotFound, Unauthorized, frozen_message, hash_token
from .proxy import STATUS_MESSAGE, readable_by_kubectl, split_cluster_path, status_response
from .upgrade import upgrade_token

log = logging.getLogger("cceone.hub")

KUBE_PREFIX = "/k8s/clusters/"
# Other targets behind the kubeconfig proxy (a federation's Karmada API server): the path
# prefix and the key prefix the directory knows them by ("federation-12").
TARGET_PREFIXES = {"/k8s/federations/": "federation-"}
IMPERSONATION_REFUSED = (
    "impersonation (kubectl --as / --as-group, Impersonate-* headers) is not supported through the CCE One hub: "
    "requests always act as the kubeconfig's own user; drop --as and use a kubeconfig of the user you need"
)


def bearer(request: web.BaseRequest) -> str | None:
    value = request.headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def make_public_app(hub) -> web.Application:
    async def connect(request):
        response = await agent_connect(hub, request)
        if response.status in (401, 429):
            hub.metrics.auth_failure("agent", response.status)
        return response

    async def proxy(request):
        response = await kube_proxy(hub, request)
        if response.status in (401, 403) and STATUS_MESSAGE in response:  # the hub's refusal, not the cluster's
            hub.metrics.auth_failure("public", response.status)
        return readable_by_kubectl(request, response)

    async def audited_proxy(request):
        # Every request joins the audit timeline (cceone/hub/audit.py): one append once it ends.
        started, response = time.monotonic(), None
        try:
            response = await proxy(request)
            return response
        finally:
            hub.audit.observe(request, response, started)

    async def healthz(request):
        return web.Response(text="ok")

    async def readyz(request):  # a draining replica leaves the load balancer's rotation
        return web.Response(status=503 if hub.draining else 200, text="draining" if hub.draining else "ok")

    app = web.Application(client_max_size=0)
    if hub.audit is not None:
        app.on_response_prepare.append(RequestAudit.on_response_prepare)
    app.router.add_get("/agent/connect", connect)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    handler = proxy if hub.audit is None else audited_proxy
    app.router.add_route("*", KUBE_PREFIX + "{tail:.*}", handler)
    for prefix in TARGET_PREFIXES:
        app.router.add_route("*", prefix + "{tail:.*}", handler)
    return app


async def agent_connect(hub, request: web.Request) -> web.StreamResponse:
    remote = request.remote or "?"
    if hub.draining:  # this replica is stopping: the agent dials again and reaches another
        response = status_response(503, "ServiceUnavailable", "this hub replica is shutting down")
        response.headers["Retry-After"] = "1"
        return response
    if hub.refusals.blocked(remote):
        await hub.refusals.refused(remote, "too many refused connections")
        response = status_response(429, "TooManyRequests", "too many refused agent connections from this address; "
                                   "retry in a minute")
        response.headers["Retry-After"] = "60"
        return response
    token = bearer(request)
    if token is None:
        await hub.refusals.refused(remote, "missing agent token")
        return status_response(401, "Unauthorized", "agent token required (Authorization: Bearer ...)")
    cluster_id = await hub.directory.authenticate_agent(token)
    if cluster_id is None:
        log.warning("refused agent from %s: invalid agent token", remote)
        await hub.refusals.refused(remote, "invalid agent token")
        return status_response(401, "Unauthorized", "invalid agent token")
    ws = web.WebSocketResponse(
        protocols=(p.SUBPROTOCOL,),
        max_msg_size=p.MAX_MESSAGE,
        compress=False,  # bodies are often gzip already; CPU matters at scale
        autoping=True,
        timeout=5.0,
    )
    ready = ws.can_prepare(request)
    if not ready.ok or ready.protocol != p.SUBPROTOCOL:
        reason = f"unsupported tunnel protocol (need {p.SUBPROTOCOL})"
        await hub.refusals.refused(remote, reason)
        return status_response(400, "BadRequest", reason)
    await ws.prepare(request)
    conn = AgentConnection(
        ws,
        request.transport,
        str(cluster_id),
        remote,
        request.headers.get("X-CCEOne-Agent-Version", "")[:64],
        request.headers.get("X-CCEOne-Agent-Instance", "")[:128],
        hub.window,
        writer=request.writer,
    )
    settings = {
        "protocol": p.PROTOCOL_VERSION,
        "cluster_id": conn.cluster_id,
        "connection_id": conn.conn_id,
        "heartbeat_interval": hub.heartbeat_window,
        "ping_interval": hub.heartbeat_window / 2,
        "initial_window": hub.window,
        "max_data": p.MAX_DATA,
    }
    conn.credential = hash_token(token)
    conn.write(p.json_frame(p.SETTINGS, 0, settings))
    hub.registry.add(conn)
    hub.connections.add(conn)
    log.info("agent %s connected from %s (%s)", conn.conn_id, remote, conn.instance or "?")
    try:
        await conn.serve(hub.registry)
    finally:
        hub.registry.remove(conn)
        hub.connections.discard(conn)
        hub.metrics.retire(conn)
        log.info("agent %s disconnected", conn.conn_id)
    return ws


def _audited_user(identity, relayed: list) -> str:
    """Whom the request acts as: a relaying service's caller, else the token's own user."""
    if relayed and identity.relays_impersonation:
        return next((v for k, v in relayed if k.lower() == "impersonate-user"), identity.username)
    return identity.username


async def kube_proxy(hub, request: web.Request) -> web.StreamResponse:
    parts = split_cluster_path(request.raw_path, KUBE_PREFIX)
    for prefix, key in TARGET_PREFIXES.items():
        if parts is None and (parts := split_cluster_path(request.raw_path, prefix)) is not None:
            parts = (key + parts[0], parts[1])
    if parts is None:
        return status_response(404, "NotFound", "the server could not find the requested resource")
    cluster_id, path = parts
    token = bearer(request)
    if token is None:
        return status_response(401, "Unauthorized", "Unauthorized")
    try:
        identity = await hub.directory.authenticate_kubeconfig(cluster_id, token)
    except Unauthorized:
        return status_response(401, "Unauthorized", "Unauthorized")
    except NotFound:
        return status_response(404, "NotFound", f'clusters "{cluster_id}" not found')
    except Forbidden as exc:
        return status_response(403, "Forbidden", str(exc) or f"access to cluster {cluster_id} is not allowed")
    relayed = [(k, v) for k, v in request.headers.items() if k.lower().startswith("impersonate-")]
    if upgrade_token(request) is None:  # exec, attach, port-forward: audited as sessions (upgrade.py)
        request[AUDIT_KEY] = (cluster_id, _audited_user(identity, relayed), path)
    if relayed and not identity.relays_impersonation:
        # Dropping the headers would run `kubectl --as=bob` silently as the caller:
        # say plainly that it is not honoured instead.
        return status_response(403, "Forbidden", IMPERSONATION_REFUSED)
    is_frozen = getattr(hub.directory, "is_frozen", None)
    if is_frozen is not None and await is_frozen(cluster_id):
        return status_response(403, "Forbidden", frozen_message(cluster_id))
    # The client must not choose whom the cluster credentials act as: drop its
    # Authorization and any Impersonate-* and assert the directory's identity.
    headers = [
        (k, v)
        for k, v in p.strip_hop_by_hop(request.headers.items())
        if not (k.lower() == "authorization" or k.lower().startswith("impersonate-"))
    ]
    if relayed:
        headers += relayed
    else:
        headers.append(("Impersonate-User", identity.username))
        for g in identity.groups:
            headers.append(("Impersonate-Group", g))
    # One authorisation path for both kinds of cluster: only where the bytes go differs.
    direct_upstream = getattr(hub.directory, "direct_upstream", None)
    upstream = await direct_upstream(cluster_id) if direct_upstream is not None else None
    if upstream is not None:
        return await hub.direct.forward(request, upstream, cluster_id, path, headers)
    return await hub.relay(request, cluster_id, path, headers)
