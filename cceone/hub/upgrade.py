"""Upgraded connections through the tunnel: `kubectl exec`, `attach`, `cp` and
`port-forward` (WebSocket, or SPDY for older clients).

The hub does not speak either protocol: after the API server's `101 Switching
Protocols` it carries the client's connection as one byte stream in both
directions (DATA frames on the request's stream, with the usual credit), the
agent splices the same bytes into its own upgraded connection to the API
server. RBAC (`pods/exec`, `pods/attach`, `pods/portforward`) is decided there
for the impersonated user, before the switch.

Every session is reported to the directory (`pod_session`): who, which pod,
container and command, start, end and the bytes each way — never the content.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from urllib.parse import parse_qs, unquote, urlsplit

from aiohttp import web

from cceone_tunnel import protocol as p

from .connection import LOST, AgentConnection, HubStream, StreamBroken
from .spdyports import SpdyPorts, WebSocketSpdyPorts

log = logging.getLogger("cceone.hub")

# A session without a byte either way for this long is closed (kubelet's
# streaming-connection-idle-timeout plays the same part in a cluster).
IDLE_TIMEOUT = 30 * 60.0
_WRITE_HIGH_WATER = 256 * 1024
_POD_SESSIONS = ("exec", "attach", "portforward")


class Sessions:
    """What the hub applies to upgraded connections: the idle limit and where sessions are reported."""

    def __init__(self, directory=None, idle_timeout: float = IDLE_TIMEOUT):
        self.directory = directory
        self.idle_timeout = float(idle_timeout)
        self._tasks: set[asyncio.Task] = set()

    def report(self, cluster_id: str, record: dict) -> None:
        report = getattr(self.directory, "pod_session", None)
        if report is None:
            return
        task = asyncio.ensure_future(self._report(report, cluster_id, record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report(self, report, cluster_id: str, record: dict) -> None:
        try:
            await report(cluster_id, record)
        except Exception:  # an audit failure must not take the hub down; it is logged loudly
            log.exception("cluster %s: could not record the %s session", cluster_id, record.get("kind"))


def upgrade_token(request: web.BaseRequest) -> str | None:
    """The protocol a client asks to switch to (`websocket`, `SPDY/3.1`), or None.

    `h2c` is not one: it is declined by answering in HTTP/1.1 (see proxy.forward).
    """
    token = request.headers.get("Upgrade", "").strip()
    if not token or token.lower() == "h2c":
        return None
    if "upgrade" not in request.headers.get("Connection", "").lower():
        return None
    return token


def describe(path: str, headers: list) -> dict:
    """The audit facts of a session from its request: pod, container, command, ports."""
    split = urlsplit(path)
    parts = [unquote(s) for s in split.path.strip("/").split("/")]
    query = parse_qs(split.query)
    record: dict = {"kind": "", "namespace": "", "pod": "", "container": "", "command": [], "ports": []}
    # /api/v1/namespaces/<ns>/pods/<pod>/<exec|attach|portforward>
    if len(parts) == 7 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
        record.update(namespace=parts[3], pod=parts[5], kind=parts[6] if parts[6] in _POD_SESSIONS else "")
    record["container"] = (query.get("container") or [""])[0]
    record["command"] = query.get("command", [])
    record["ports"] = [port for value in query.get("ports", []) for port in value.split(",") if port]
    record["user"] = next((v for k, v in headers if k.lower() == "impersonate-user"), "")
    record["request_id"] = next((v for k, v in headers if k.lower() == "x-request-id"), "")
    return record


class _ClientBytes:
    """Stands in for aiohttp's payload parser once the client's connection is ours:
    aiohttp's protocol hands every byte it reads to `feed_data`. Reading pauses
    while a window's worth waits for credit, so a fast client cannot make the hub buffer."""

    def __init__(self, transport, limit: int):
        self.transport = transport
        self.limit = limit
        self.chunks: deque = deque()
        self.size = 0
        self.eof = False
        self.paused = False
        self._waiter: asyncio.Future | None = None

    def feed_data(self, data) -> tuple[bool, bytes]:
        if data:
            self.chunks.append(bytes(data))
            self.size += len(data)
            if self.size >= self.limit and not self.paused and self.transport is not None:
                self.paused = True
                self.transport.pause_reading()
            self._wake()
        return False, b""

    def feed_eof(self) -> None:
        self.eof = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def read(self) -> bytes:
        while not self.chunks:
            if self.eof:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunk = self.chunks.popleft()
        self.size -= len(chunk)
        if self.paused and self.size < self.limit // 2 and not self.transport.is_closing():
            self.paused = False
            self.transport.resume_reading()
        return chunk


async def forward_upgrade(
    request: web.BaseRequest, conn: AgentConnection, cluster_id: str, path: str, headers: list, token: str,
    sessions: Sessions | None, relay_response,
) -> web.StreamResponse:
    """Ask the agent for the upgrade; on 101 splice the client's connection into the stream."""
    from .proxy import status_response

    sessions = sessions or Sessions()
    record = describe(path, headers)
    started = time.time()
    sniffer = port_reader(token, record)
    st = conn.open_stream()
    client = _ClientBytes(request.transport, max(conn.window, p.UPGRADE_WINDOW))
    # From here on aiohttp hands the connection's bytes to us, not to its HTTP
    # parser: a client may send its first frames right behind the 101.
    request.protocol.set_parser(client)
    totals = {"in": 0, "out": 0}
    outcome = "refused"
    status = 0
    try:
        head = {"method": request.method, "path": path, "headers": headers, "upgrade": token}
        await conn.send(p.head_frame(p.REQUEST, st.sid, head))
        item = await st.get()
        if item[0] != p.RESPONSE or item[1] != 101:
            # Not switched (RBAC said no, no such pod): an ordinary answer. The
            # connection cannot carry another request now that its bytes are ours.
            if item[0] == p.RESPONSE:
                status = item[1]
            conn.send_nowait(p.frame(p.DATA, st.sid, b"", p.FLAG_END))
            resp = await relay_response(request, conn, st, cluster_id, first=item)
            resp.force_close()
            return resp
        _, status, resp_headers, _body, _end = item
        switched = [(k, v) for k, v in p.strip_hop_by_hop(resp_headers)
                    if k.lower() not in ("content-length", "content-type", "date", "server")]
        # The API server switches to what was asked (its Upgrade header is hop-by-hop, not carried).
        switched += [("Connection", "Upgrade"), ("Upgrade", token)]
        resp = web.StreamResponse(status=101, headers=switched)
        resp.force_close()
        await resp.prepare(request)
        grown = st.grow(p.UPGRADE_WINDOW)
        if grown:
            conn.send_nowait(p.window_frame(st.sid, grown))
        # aiohttp may cancel this handler when the client hangs up before the splice sees it.
        outcome = "closed by the client"
        outcome = await _splice_stream(request, conn, st, client, totals, sessions.idle_timeout, sniffer)
        return resp
    except StreamBroken:
        outcome = "agent connection lost"
        return status_response(502, "InternalError", f"cluster {cluster_id}: agent connection lost")
    finally:
        conn.forget(st)
        if request.transport is not None and status == 101:
            request.transport.close()
        record.update(status=status, outcome=outcome, started=started, ended=time.time(),
                      bytes_in=totals["in"], bytes_out=totals["out"])
        if sniffer is not None:
            record["ports"] = sniffer.ports
        sessions.report(cluster_id, record)


def port_reader(token: str, record: dict) -> SpdyPorts | None:
    """A port-forward names its ports in its SPDY streams, not in the URL: read them as they pass."""
    if record["kind"] != "portforward" or record["ports"]:
        return None
    if token.upper().startswith("SPDY/"):
        return SpdyPorts()
    if token.lower() == "websocket":
        return WebSocketSpdyPorts()
    return None


async def splice(request, client: _ClientBytes, totals: dict, idle_timeout: float, sniffer: SpdyPorts | None,
                 send, receive, delivered=None) -> str:
    """Carry bytes both ways between the client's upgraded connection and the far side (the
    agent's stream, or the API server's own connection for a directly reached cluster) until
    either side closes; returns how the session ended.

    The far side comes as three calls: `send(chunk)` carries the client's bytes (b"" once the
    client has finished sending); `receive()` gives the far side's next bytes, or a str once it
    has ended (the outcome: "closed" for an orderly end); `delivered(n)`, if given, is told once
    n bytes have gone to the client, so credit returns only as the client keeps up."""
    transport = request.transport
    loop = asyncio.get_running_loop()
    last = [loop.time()]

    async def upload():
        while True:
            chunk = await client.read()
            last[0] = loop.time()
            if chunk:
                totals["in"] += len(chunk)
                if sniffer is not None:
                    sniffer.feed(chunk)
            await send(chunk)
            if not chunk:
                return

    async def download() -> str:
        while True:
            data = await receive()
            last[0] = loop.time()
            if isinstance(data, str):
                return data
            if data:
                if transport is None or transport.is_closing():
                    return "closed by the client"
                transport.write(data)
                totals["out"] += len(data)
                if transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
                    await request.writer.drain()
                if delivered is not None:
                    delivered(len(data))

    up = asyncio.ensure_future(upload())
    down = asyncio.ensure_future(download())
    try:
        while True:
            done, _ = await asyncio.wait({down}, timeout=max(1.0, idle_timeout / 10))
            if down in done:
                return down.result()
            if up.done() and up.exception() is not None:
                return "closed by the client"
            if loop.time() - last[0] > idle_timeout:
                return "idle timeout"
    except (ConnectionError, StreamBroken):
        return "closed by the client"
    finally:
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)


async def _splice_stream(request, conn: AgentConnection, st: HubStream, client: _ClientBytes, totals: dict,
                         idle_timeout: float, sniffer: SpdyPorts | None = None) -> str:
    """The agent's side of a splice: DATA frames on the request's stream, sent as credit allows."""
    ended = [False]

    async def send(chunk: bytes) -> None:
        await conn.send_data(st, chunk)

    async def receive() -> bytes | str:
        if ended[0]:  # the last DATA frame carried bytes and the end: the bytes went first
            return "closed"
        item = await st.get()
        kind = item[0]
        if kind == LOST:
            return "agent connection lost"
        if kind == p.RESET:
            return f"reset by the agent ({item[1]})"
        if kind != p.DATA:
            return "protocol error"
        data, end = item[1], item[2]
        if end and not data:
            return "closed"
        ended[0] = end
        return data

    return await splice(request, client, totals, idle_timeout, sniffer, send, receive, delivered=st.consumed)
