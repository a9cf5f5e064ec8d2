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

# The SPDY/3 header-compression dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1):
# length-prefixed header names and values, then a raw tail. 1423 bytes.
_WORDS = ("options head post put delete trace accept accept-charset accept-encoding accept-language "
          "accept-ranges age allow authorization cache-control connection content-base content-encoding "
          "content-language content-length content-location content-md5 content-range content-type date etag "
          "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
          "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
          "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate "
          "method get status").split() + ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
                                          "keep-alive", "origin"]
_TAIL = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
         "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
         "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
         "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
         "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
         "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICTIONARY = b"".join(len(w).to_bytes(4, "big") + w.encode() for w in _WORDS) + _TAIL.encode()

SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
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
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, zdict=DICTIONARY)
        self.gone = False

    def _headers(self, block: bytes) -> dict[str, str]:
        raw = self._inflate.decompress(block)
        (count,), at = struct.unpack_from("!I", raw), 4
        out = {}
        for _ in range(count):
            (n,) = struct.unpack_from("!I", raw, at)
            name = raw[at + 4:at + 4 + n].decode()
            at += 4 + n
            (n,) = struct.unpack_from("!I", raw, at)
            out[name.lower()] = raw[at + 4:at + 4 + n].decode()
            at += 4 + n
        return out

    def _block(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack("!I", len(headers)) + b"".join(
            struct.pack("!I", len(k)) + k.encode() + struct.pack("!I", len(v)) + v.encode() for k, v in headers.items())
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    async def _control(self, ftype: int, flags: int, payload: bytes) -> None:
        await self.send(_CONTROL.pack(0x8003, ftype, (flags << 24) | len(payload)) + payload)

    async def reply(self, stream: Stream) -> None:
        await self._control(SYN_REPLY, 0, struct.pack("!I", stream.id) + self._block({}))

    async def feed(self, data: bytes) -> None:
        """Handle the frames `data` completes."""
        self._buf += data
        while len(self._buf) >= 8:
            word, second = struct.unpack_from("!II", self._buf)
            length = second & 0xFFFFFF
            if len(self._buf) < 8 + length:
                return
            flags = second >> 24
            payload = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            if word & 0x80000000:
                await self._on_control(word & 0xFFFF, flags, payload)
            else:
                stream = self.streams.get(word & 0x7FFFFFFF)
                if stream is not None:
                    if payload:
                        stream.data.put_nowait(payload)
                    if flags & FLAG_FIN:
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
