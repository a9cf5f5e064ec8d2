"""The server side of SPDY/3.1 as Kubernetes streaming uses it (moby/spdystream):
streams opened by the client with headers, replied to, data both ways, FIN.

kubectl >= 1.31 tunnels it inside a WebSocket for port-forward
(`SPDY/3.1+portforward.k8s.io`), so the session runs over any byte pipe: `feed`
what arrives, and frames go out through `send`. Flow-control windows are not
enforced (spdystream does not either); PINGs are answered.
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from typing import Awaitable, Callable

# The framing (frame head, header blocks, the compression dictionary) is shared with the
# hub, which reads the same frames from kubectl (cceone.hub.spdyports).
from cceone_tunnel.spdy import (FLAG_FIN, GOAWAY, HEAD_SIZE, HEADERS, PING, RST_STREAM, SYN_REPLY, SYN_STREAM,
                                decode_headers, deflater, encode_headers, inflater, parse_head)

_CONTROL = struct.Struct("!HHI")  # version|0x8000, type, flags<<24 | length
_DATA = struct.Struct("!II")  # stream id, flags<<24 | length
MAX_DATA = 32 * 1024


class Stream:
    def __init__(self, session: "Session", sid: int, headers: dict[str, str]):
        self.session = session
        self.id = sid
        self.headers = headers
        self.data: asyncio.Queue[bytes] = asyncio.Queue()  # b"" marks the client's FIN
        self.closed = False

    async def write(self, data: bytes) -> None:
        for i in range(0, len(data), MAX_DATA):
            await self.session.send(_DATA.pack(self.id, len(data[i:i + MAX_DATA])) + data[i:i + MAX_DATA])

    async def close(self) -> None:
        """Our half is done (FIN)."""
        if not self.closed:
            self.closed = True
            await self.session.send(_DATA.pack(self.id, FLAG_FIN << 24))


class Session:
    def __init__(self, send: Callable[[bytes], Awaitable[None]], on_stream: Callable[[Stream], None]):
        self.send = send
        self.on_stream = on_stream
        self.streams: dict[int, Stream] = {}
        self._buf = bytearray()
        self._inflate = inflater()
        self._deflate = deflater()
        self.gone = False

    def _headers(self, block: bytes) -> dict[str, str]:
        return dict(decode_headers(self._inflate.decompress(block)))

    def _block(self, headers: dict[str, str]) -> bytes:
        return self._deflate.compress(encode_headers(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    async def _control(self, ftype: int, flags: int, payload: bytes) -> None:
        await self.send(_CONTROL.pack(0x8003, ftype, (flags << 24) | len(payload)) + payload)

    async def reply(self, stream: Stream) -> None:
        await self._control(SYN_REPLY, 0, struct.pack("!I", stream.id) + self._block({}))

    async def feed(self, data: bytes) -> None:
        """Handle the frames `data` completes."""
        self._buf += data
        while len(self._buf) >= HEAD_SIZE:
            head = parse_head(self._buf)
            if len(self._buf) < HEAD_SIZE + head.length:
                return
            payload = bytes(self._buf[HEAD_SIZE:HEAD_SIZE + head.length])
            del self._buf[:HEAD_SIZE + head.length]
            if head.control:
                await self._on_control(head.kind, head.flags, payload)
            else:
                stream = self.streams.get(head.kind)
                if stream is not None:
                    if payload:
                        stream.data.put_nowait(payload)
                    if head.flags & FLAG_FIN:
                        stream.data.put_nowait(b"")

    async def _on_control(self, ftype: int, flags: int, payload: bytes) -> None:
        if ftype == SYN_STREAM:
            sid = struct.unpack_from("!I", payload)[0] & 0x7FFFFFFF
            stream = Stream(self, sid, self._headers(payload[10:]))
            self.streams[sid] = stream
            await self.reply(stream)
            if flags & FLAG_FIN:
                stream.data.put_nowait(b"")
            self.on_stream(stream)
        elif ftype == RST_STREAM:
            stream = self.streams.pop(struct.unpack_from("!I", payload)[0] & 0x7FFFFFFF, None)
            if stream is not None:
                stream.closed = True
                stream.data.put_nowait(b"")
        elif ftype == PING:
            await self._control(PING, 0, payload)
        elif ftype == GOAWAY:
            self.gone = True
        elif ftype == HEADERS:
            self._headers(payload[4:])  # keep the shared inflate context in step
        # SETTINGS, WINDOW_UPDATE: nothing to do for us

    def end(self) -> None:
        """The connection is gone: every stream sees its end."""
        self.gone = True
        for stream in self.streams.values():
            stream.data.put_nowait(b"")
