"""Forward one HTTP request through an agent tunnel (shared by both listeners)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from cceone_tunnel import protocol as p

from .connection import ENDED, LOST, AgentConnection, HubStream, StreamBroken
from .upgrade import Sessions, forward_upgrade, upgrade_token

# Response headers aiohttp computes itself for a complete body.
_FRAMING = frozenset({"content-length"})


def status_body(code: int, reason: str, message: str) -> bytes:
    """A Kubernetes `Status` object, so kubectl and client-go print `message`."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return json.dumps(body).encode()


STATUS_MESSAGE = web.ResponseKey("status_message", str)


def status_response(code: int, reason: str, message: str) -> web.Response:
    response = web.Response(status=code, body=status_body(code, reason, message), content_type="application/json")
    response[STATUS_MESSAGE] = message  # the hub's own answer, not the cluster's
    return response


def readable_by_kubectl(request: web.BaseRequest, response: web.StreamResponse) -> web.StreamResponse:
    """kubectl's discovery client (it asks for `apidiscovery` documents first) decodes no v1
    `Status` and prints "unknown": give it the hub's own refusals as plain text, which it
    prints as they are."""
    if STATUS_MESSAGE in response and "apidiscovery" in request.headers.get("Accept", ""):
        plain = web.Response(status=response.status, text=response[STATUS_MESSAGE])
        for name in ("Retry-After",):
            if name in response.headers:
                plain.headers[name] = response.headers[name]
        return plain
    return response


def split_cluster_path(raw_path: str, prefix: str) -> tuple[str, str] | None:
    """'/k8s/clusters/c1/api/v1/pods?x=1' -> ('c1', '/api/v1/pods?x=1').

    Works on the raw (still percent-encoded) path so the query and any
    encoded characters reach the API server byte for byte.
    """
    if not raw_path.startswith(prefix):
        return None
    rest = raw_path[len(prefix) :]
    cut = len(rest)
    for sep in "/?":
        i = rest.find(sep)
        if i != -1 and i < cut:
            cut = i
    cluster_id, tail = rest[:cut], rest[cut:]
    if not cluster_id:
        return None
    if not tail.startswith("/"):
        tail = "/" + tail
    return cluster_id, tail


def _offers_h2c(request: web.BaseRequest) -> bool:
    # An offer of HTTP/2 (curl --http2) may be declined by answering in
    # HTTP/1.1; the rest of the connection would be HTTP/2, so it closes after.
    return request.headers.get("Upgrade", "").strip().lower() == "h2c"


async def forward(
    request: web.BaseRequest, conn: AgentConnection | None, cluster_id: str, path: str, headers: list,
    sessions: Sessions | None = None,
) -> web.StreamResponse:
    if conn is None:
        return status_response(503, "ServiceUnavailable", f"cluster {cluster_id} is disconnected (no agent connected)")
    token = upgrade_token(request)
    if token is not None:
        # exec, attach, port-forward: one byte stream each way after the switch.
        return await forward_upgrade(request, conn, cluster_id, path, headers, token, sessions, _relay_response)
    st = conn.open_stream()
    pump = None
    try:
        body, end = b"", True
        if request.body_exists:
            length = request.content_length
            if length is not None and length <= p.MAX_INLINE:
                body = await request.read()
            else:
                end = False
        head = {"method": request.method, "path": path, "headers": headers}
        await conn.send(p.head_frame(p.REQUEST, st.sid, head, body, end))
        if not end:
            pump = asyncio.ensure_future(_pump_body(request, conn, st))
        resp = await _relay_response(request, conn, st, cluster_id)
        if _offers_h2c(request):
            resp.force_close()
        return resp
    except StreamBroken:
        return status_response(502, "InternalError", f"cluster {cluster_id}: agent connection lost")
    finally:
        if pump is not None and not pump.done():
            pump.cancel()
        conn.forget(st)


async def _pump_body(request: web.BaseRequest, conn: AgentConnection, st: HubStream) -> None:
    """Stream a large/chunked request body to the agent within its credit."""
    reader = request.content
    try:
        while True:
            chunk = await reader.read(p.MAX_DATA)
            await conn.send_data(st, chunk)
            if not chunk:
                return
    except (StreamBroken, ConnectionError):
        pass  # the response side reports the failure


async def _relay_response(request, conn: AgentConnection, st: HubStream, cluster_id: str,
                          first: tuple | None = None) -> web.StreamResponse:
    item = first if first is not None else await st.get()
    kind = item[0]
    if kind == LOST:
        return status_response(502, "InternalError", f"cluster {cluster_id}: {item[1]}")
    if kind == ENDED:
        response = status_response(503, "ServiceUnavailable", f"cluster {cluster_id}: {item[1]}")
        response.headers["Retry-After"] = "1"
        return response
    if kind == p.RESET:
        return status_response(502, "InternalError", f"cluster {cluster_id}: agent reset the request ({item[1]}: {item[2]})")
    if kind != p.RESPONSE:
        return status_response(502, "InternalError", f"cluster {cluster_id}: agent sent body before response head")
    _, status, headers, body, end = item
    bodyless = request.method == "HEAD" or status in (204, 304)
    if end and not bodyless:
        # Fast path: the whole answer arrived in one frame (aiohttp states
        # the length itself).
        return web.Response(status=status, body=bytes(body), headers=p.strip_hop_by_hop(headers, _FRAMING))
    resp = web.StreamResponse(status=status, headers=p.strip_hop_by_hop(headers))
    await resp.prepare(request)
    if bodyless:
        return resp
    # Body bytes still due when the agent stated a length: more or fewer
    # would spill into (or eat) the next answer on a kept-alive connection.
    owed = resp.content_length
    if owed is not None and len(body) > owed:
        return _cut(request, resp)
    if body:
        await resp.write(bytes(body))
        owed = None if owed is None else owed - len(body)
    while not end:
        item = await st.get()
        kind = item[0]
        if kind == ENDED and owed is None:
            return resp  # a drain: a clean end of a chunked body, so a watch's client watches again
        if kind != p.DATA:
            return _cut(request, resp)
        data, end = item[1], item[2]
        if owed is not None:
            owed -= len(data)
            if owed < 0 or (end and owed > 0):
                return _cut(request, resp)
        if data:
            # write() waits while the client's socket is full: the credit
            # we return below then stops, and the agent stops sending.
            await resp.write(data)
            st.consumed(len(data))
    return resp


def _cut(request: web.BaseRequest, resp: web.StreamResponse) -> web.StreamResponse:
    """The head is out, so no error status is possible any more: cut the
    connection so the client sees a truncated body, not a clean end it would trust."""
    if request.transport is not None:
        request.transport.abort()
    return resp
