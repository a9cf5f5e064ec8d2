"""The ports a port-forward asks for, read from the client's bytes as they pass.

kubectl names them in no URL: it opens one SPDY/3.1 stream per connection, with the
port in the `port` header of its SYN_STREAM — over the upgraded connection itself
(kubectl before 1.31, or with its WebSocket features off), or inside WebSocket binary
messages (`SPDY/3.1+portforward.k8s.io`, kubectl ≥ 1.31; `WebSocketSpdyPorts` unwraps
the client's masked frames first). The hub carries the bytes unchanged: this reader
only watches the client's direction for control frames, inflates their header blocks
(SPDY/3 compresses them with one zlib stream per direction and a fixed dictionary) and
notes the ports, for the session's audit event. Data frames are skipped by length, so
the cost is a few bytes of parsing per frame; anything it cannot parse stops it, never
the session.
"""

from __future__ import annotations

import struct
import zlib

# The SPDY/3 header-compression dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1).
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

_SYN_STREAM, _HEADERS = 1, 8
_MAX_CONTROL = 1 << 20  # a larger control frame is not SPDY as kubectl speaks it


class SpdyPorts:
    """Feed the client's bytes; `ports` lists each port asked for, once, in order."""

    def __init__(self) -> None:
        self.ports: list[str] = []
        self._buf = bytearray()
        self._skip = 0  # bytes of a data frame still to pass
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self.broken = False

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        try:
            self._feed(data)
        except (zlib.error, struct.error, UnicodeDecodeError, ValueError):
            self.broken = True
            self._buf.clear()

    def _feed(self, data: bytes) -> None:
        view = memoryview(data)
        if self._skip:
            n = min(self._skip, len(view))
            self._skip -= n
            view = view[n:]
        self._buf += view
        while len(self._buf) >= 8:
            head = bytes(self._buf[:8])
            length = int.from_bytes(head[5:8], "big")
            if not head[0] & 0x80:  # a data frame: pass over its payload
                del self._buf[:8]
                n = min(length, len(self._buf))
                del self._buf[:n]
                self._skip = length - n
                if self._skip:
                    return
                continue
            if length > _MAX_CONTROL:
                raise ValueError("control frame too large")
            if len(self._buf) < 8 + length:
                return
            kind = int.from_bytes(head[2:4], "big")
            payload = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            if kind == _SYN_STREAM:
                self._headers(payload[10:])
            elif kind == _HEADERS:
                self._headers(payload[4:])

    def _headers(self, block: bytes) -> None:
        # Every header block goes through the one inflater, whatever it holds.
        raw = self._inflate.decompress(block)
        (count,), at = struct.unpack_from("!I", raw), 4
        for _ in range(count):
            (n,) = struct.unpack_from("!I", raw, at)
            name = raw[at + 4:at + 4 + n].decode().lower()
            at += 4 + n
            (n,) = struct.unpack_from("!I", raw, at)
            value = raw[at + 4:at + 4 + n].decode()
            at += 4 + n
            if name == "port" and value not in self.ports:
                self.ports.append(value)


class WebSocketSpdyPorts(SpdyPorts):
    """The same, for SPDY carried in the client's WebSocket binary messages (masked, RFC 6455)."""

    def __init__(self) -> None:
        super().__init__()
        self._frames = bytearray()
        self._left = 0  # payload bytes of the current frame still to come
        self._mask = b""
        self._at = 0  # position in the current frame's payload (for the mask)
        self._message_binary = False  # the message being sent is binary (continuations follow it)
        self._spdy = False  # the current frame's payload is SPDY

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        self._frames += data
        while self._frames:
            if self._left:
                n = min(self._left, len(self._frames))
                if self._spdy and self._skip:  # inside a SPDY data frame: no need to unmask it
                    n = min(n, self._skip)
                    self._skip -= n
                elif self._spdy:
                    super().feed(_unmask(bytes(self._frames[:n]), self._mask, self._at))
                del self._frames[:n]
                self._at += n
                self._left -= n
            elif not self._header():
                return

    def _header(self) -> bool:
        buf = self._frames
        if len(buf) < 2:
            return False
        opcode, masked, size, at = buf[0] & 0x0F, buf[1] & 0x80, buf[1] & 0x7F, 2
        if size >= 126:
            width = 2 if size == 126 else 8
            if len(buf) < 2 + width:
                return False
            size, at = int.from_bytes(buf[2:2 + width], "big"), 2 + width
        if len(buf) < at + (4 if masked else 0):
            return False
        self._mask = bytes(buf[at:at + 4]) if masked else b""
        del buf[:at + (4 if masked else 0)]
        if opcode in (0x1, 0x2):
            self._message_binary = opcode == 0x2
        # Control frames (close, ping, pong) may come between fragments; they carry no SPDY.
        self._spdy = opcode < 0x8 and self._message_binary
        self._left, self._at = size, 0
        return True


def _unmask(data: bytes, mask: bytes, offset: int) -> bytes:
    if not mask or not data:
        return data
    key = (mask[offset & 3:] + mask[:offset & 3]) * (len(data) // 4 + 1)
    return (int.from_bytes(data, "big") ^ int.from_bytes(key[:len(data)], "big")).to_bytes(len(data), "big")
