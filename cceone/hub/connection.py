"""One agent WebSocket connection on the hub side, and the streams on it.

The read loop never awaits a send: if it did, a peer that stopped reading
could wedge both directions (each side blocked writing while the other is
not reading). Everything the reader must answer goes out through
`send_nowait`, and everything it receives is handed to per-stream buffers
that flow control keeps bounded.

Frames are written to the transport here, not through aiohttp's WebSocket
writer: a server's frame is a two-to-ten-byte header and the payload
(RFC 6455 5.2, unmasked), and writing it synchronously is what lets the
reader answer (PONG, WINDOW) without awaiting. aiohttp still reads the
connection and answers its pings and close; both sides write whole frames
synchronously, so they never interleave inside one.

Flow control and the per-stream hand-over are the tunnel's shared code
(cceone_tunnel.flow), the same as the agent's.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import struct
import time

from aiohttp import WSMsgType, web

from cceone_tunnel import flow
from cceone_tunnel import protocol as p
from cceone_tunnel.flow import StreamBroken

log = logging.getLogger("cceone.hub")

# Item kinds a HubStream yields to its consumer (the proxy handler).
LOST = 0x100
ENDED = 0x101  # the hub replica is draining: end the response here, cleanly if it can be

_conn_ids = itertools.count(1)

# WebSocket headers of a final binary frame (FIN | opcode 2), by length class.
_WS_LEN16 = struct.Struct("!BBH")
_WS_LEN64 = struct.Struct("!BBQ")
# Writers wait for the agent to read once this much is queued on its socket.
WRITE_HIGH_WATER = 256 * 1024


def ws_binary_frame(data) -> bytes:
    n = len(data)
    if n < 126:
        head = bytes((0x82, n))
    elif n < 65536:
        head = _WS_LEN16.pack(0x82, 126, n)
    else:
        head = _WS_LEN64.pack(0x82, 127, n)
    return head + data


class HubStream(flow.Stream):
    """Hub end of one tunnelled HTTP exchange: items for the proxy handler, credit for its upload."""

    __slots__ = ("conn",)

    def __init__(self, sid: int, conn: "AgentConnection"):
        super().__init__(sid, conn.window)
        self.conn = conn

    def feed(self, item: tuple) -> None:
        self.put(item)
        if item[0] != p.DATA and item[0] != p.RESPONSE:
            self.end()  # RESET or LOST: an upload waiting for credit gives up

    def consumed(self, n: int) -> None:
        """Return credit for `n` bytes the client has taken."""
        inc = super().consumed(n)
        if inc:
            self.conn.send_nowait(p.window_frame(self.sid, inc))


class AgentConnection:
    """State for one WebSocket from an agent; kept small (2,000+ per hub)."""

    __slots__ = (
        "ws",
        "transport",
        "writer",
        "cluster_id",
        "conn_id",
        "remote",
        "agent_version",
        "instance",
        "connected_at",
        "connected_wall",
        "last_seen",
        "last_heartbeat",
        "last_heartbeat_wall",
        "last_ping",
        "rtt",
        "streams",
        "next_sid",
        "window",
        "draining",
        "closed",
        "credential",
        "bytes_in",
        "bytes_out",
    )

    def __init__(
        self, ws: web.WebSocketResponse, transport, cluster_id: str, remote: str, agent_version: str, instance: str, window: int,
        writer=None,
    ):
        now = time.monotonic()
        self.ws = ws
        self.transport = transport
        self.writer = writer  # the request's StreamWriter: its drain() waits for the agent to read
        self.cluster_id = cluster_id
        self.conn_id = f"{cluster_id}/{next(_conn_ids)}"
        self.remote = remote
        self.agent_version = agent_version
        self.instance = instance
        self.connected_at = now
        self.connected_wall = time.time()
        self.last_seen = now
        self.last_heartbeat = now  # connecting counts as a sign of life
        self.last_heartbeat_wall: float | None = None
        self.last_ping = now
        self.rtt: float | None = None
        self.streams: dict[int, HubStream] = {}
        self.next_sid = 1
        self.window = window
        self.draining = False
        self.closed = False
        self.credential = ""  # hash of the agent token it authenticated with (see Hub.disconnect_cluster)
        self.bytes_in = 0  # frame bytes from / to the agent (metrics.py)
        self.bytes_out = 0

    # -- sending ------------------------------------------------------------------
    def write(self, data) -> None:
        """Write one frame now (see the module docstring); raises StreamBroken."""
        t = self.transport
        if self.closed or self.ws.closed or t is None or t.is_closing():
            raise StreamBroken("agent connection lost")
        self.bytes_out += len(data)
        t.write(ws_binary_frame(data))

    async def send(self, data) -> None:
        """Write one frame, then wait while the agent is not reading."""
        self.write(data)
        if self.writer is not None and self.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            try:
                await self.writer.drain()
            except ConnectionError as exc:
                raise StreamBroken("agent connection lost") from exc

    async def send_data(self, st: HubStream, chunk: bytes) -> None:
        """`chunk` as DATA frames on `st`, each within the credit the agent gave; b"" ends the stream."""
        if not chunk:
            await self.send(p.frame(p.DATA, st.sid, b"", p.FLAG_END))
            return
        view = memoryview(chunk)
        while view:
            n = await st.take_credit(len(view))
            await self.send(p.frame(p.DATA, st.sid, view[:n]))
            view = view[n:]

    def send_nowait(self, data) -> None:
        """Write a frame without waiting; dropped if the connection is going away
        (the reader notices that and fails the streams)."""
        try:
            self.write(data)
        except StreamBroken:
            pass

    def ping(self) -> None:
        self.last_ping = time.monotonic()
        self.send_nowait(p.frame(p.PING, 0, time.monotonic_ns().to_bytes(8, "big")))

    # -- streams -----------------------------------------------------------------
    def open_stream(self) -> HubStream:
        sid = self.next_sid
        # Wrap well before 2**32; a live stream can only collide after 4 billion
        # newer ones, which the dict check below turns into a skip.
        self.next_sid = sid + 1 if sid < 0xFFFFFFF0 else 1
        while sid in self.streams:
            sid = self.next_sid
            self.next_sid += 1
        st = HubStream(sid, self)
        self.streams[sid] = st
        return st

    def forget(self, st: HubStream) -> None:
        if not st.finished:
            st.finished = True
            self.send_nowait(p.reset_frame(st.sid, p.RESET_CANCEL, "client went away"))
        self.streams.pop(st.sid, None)

    def fail_streams(self, reason: str) -> None:
        self.closed = True
        for st in list(self.streams.values()):
            st.feed((LOST, reason))
        self.streams.clear()

    # -- closing -----------------------------------------------------------------
    def abort(self) -> None:
        """Drop a dead or wedged connection without a closing handshake."""
        if self.transport is not None:
            self.transport.abort()

    async def close(self, code: int, message: str) -> None:
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=message.encode()[:120]), 5)
        except (asyncio.TimeoutError, ConnectionError):
            self.abort()

    # -- reading -----------------------------------------------------------------
    async def serve(self, registry) -> None:
        """Read frames until the connection ends; protocol errors close only us."""
        ws = self.ws
        try:
            while True:
                msg = await ws.receive()
                t = msg.type
                if t is WSMsgType.BINARY:
                    self.last_seen = time.monotonic()
                    self.bytes_in += len(msg.data)
                    try:
                        self._dispatch(msg.data, registry)
                    except p.ProtocolError as exc:
                        log.warning("agent %s (%s): protocol error: %s", self.conn_id, self.remote, exc)
                        await self.close(1002, f"protocol error: {exc}")
                        return
                elif t is WSMsgType.TEXT:
                    log.warning("agent %s (%s): text frame, closing", self.conn_id, self.remote)
                    await self.close(1003, "binary frames only")
                    return
                elif t is WSMsgType.ERROR:
                    log.warning("agent %s (%s): %s", self.conn_id, self.remote, ws.exception())
                    await self.close(1002, "protocol error")
                    return
                else:  # CLOSE, CLOSING, CLOSED
                    return
        finally:
            self.fail_streams("agent connection lost")

    def _dispatch(self, data: bytes, registry) -> None:
        ftype, flags, sid, payload = p.parse(data)
        if ftype == p.DATA:
            st = self.streams.get(sid)
            if st is None:
                return  # we already reset or finished it; late frames are normal
            st.received(len(payload))
            if flags & p.FLAG_END:
                st.finished = True
            st.feed((p.DATA, payload, flags & p.FLAG_END))
        elif ftype == p.RESPONSE:
            head, body = p.parse_head(payload)
            status = head.get("status")
            if not isinstance(status, int) or not 100 <= status <= 999:
                raise p.ProtocolError("RESPONSE without a valid status")
            headers = p.parse_headers(head.get("headers", []))
            st = self.streams.get(sid)
            if st is not None:
                if flags & p.FLAG_END:
                    st.finished = True
                st.feed((p.RESPONSE, status, headers, body, flags & p.FLAG_END))
        elif ftype == p.WINDOW:
            n = p.parse_window(payload)
            st = self.streams.get(sid)
            if st is not None:
                st.add_credit(n)
        elif ftype == p.RESET:
            info = p.parse_json(payload)
            st = self.streams.get(sid)
            if st is not None:
                st.feed((p.RESET, str(info.get("code", "")), str(info.get("message", ""))))
        elif ftype == p.HEARTBEAT:
            registry.heartbeat(self, p.parse_json(payload))
        elif ftype == p.PONG:
            if len(payload) == 8:
                sent = int.from_bytes(payload, "big")
                self.rtt = max(0, time.monotonic_ns() - sent) / 1e9
        elif ftype == p.PING:
            if len(payload) > 64:
                raise p.ProtocolError("PING payload too large")
            self.send_nowait(p.frame(p.PONG, 0, bytes(payload)))
        elif ftype == p.GOAWAY:
            self.draining = True
        elif not flags & p.FLAG_IGNORABLE:
            raise p.ProtocolError(f"unexpected frame type {ftype:#04x}")
