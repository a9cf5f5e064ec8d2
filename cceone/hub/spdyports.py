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

from cceone_tunnel import spdy

_MAX_CONTROL = 1 << 20  # a larger control frame is not SPDY as kubectl speaks it


class SpdyPorts:
    """Feed the client's bytes; `ports` lists each port asked for, once, in order."""

    def __init__(self) -> None:
        self.ports: list[str] = []
        self._buf = bytearray()
        self._skip = 0  # bytes of a data frame still to pass
        self._inflate = spdy.inflater()
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
        while len(self._buf) >= spdy.HEAD_SIZE:
            head = spdy.parse_head(self._buf)
            if not head.control:  # a data frame: pass over its payload
                del self._buf[:spdy.HEAD_SIZE]
                n = min(head.length, len(self._buf))
                del self._buf[:n]
                self._skip = head.length - n
                if self._skip:
                    return
                continue
            if head.length > _MAX_CONTROL:
                raise ValueError("control frame too large")
            if len(self._buf) < spdy.HEAD_SIZE + head.length:
                return
            payload = bytes(self._buf[spdy.HEAD_SIZE:spdy.HEAD_SIZE + head.length])
            del self._buf[:spdy.HEAD_SIZE + head.length]
            if head.kind == spdy.SYN_STREAM:
                self._headers(payload[10:])
            elif head.kind == spdy.HEADERS:
                self._headers(payload[4:])

    def _headers(self, block: bytes) -> None:
        # Every header block goes through the one inflater, whatever it holds.
        for name, value in spdy.decode_headers(self._inflate.decompress(block)):
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
