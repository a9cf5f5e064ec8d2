"""SPDY/3.1 framing as Kubernetes streaming uses it (moby/spdystream): the 8-byte frame
head and the name/value header blocks with their compression dictionary.

Two readers share it: the hub, which watches a port-forward's client bytes for the ports
it names (cceone.hub.spdyports), and the sandbox's emulated API server, which speaks the
server side (sandbox.kubesim.spdy). Framing only: what a frame means is the reader's.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

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
HEAD_SIZE = 8


class Head(NamedTuple):
    """A frame's first 8 bytes: a control frame's type, or a data frame's stream id."""

    control: bool
    kind: int  # control: the frame type; data: the stream id
    flags: int
    length: int  # of the payload after the head


def parse_head(buf) -> Head:
    """The head at the start of `buf` (at least HEAD_SIZE bytes)."""
    word, second = struct.unpack_from("!II", buf)
    control = bool(word & 0x80000000)
    return Head(control, word & 0xFFFF if control else word & 0x7FFFFFFF, second >> 24, second & 0xFFFFFF)


def inflater():
    """One per direction of a session: every header block goes through it, in order."""
    return zlib.decompressobj(zdict=DICTIONARY)


def deflater():
    return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, zdict=DICTIONARY)


def decode_headers(raw: bytes) -> list[tuple[str, str]]:
    """An inflated name/value block as (lower-cased name, value) pairs, in order;
    a truncated block raises struct.error, bad text UnicodeDecodeError."""
    (count,), at = struct.unpack_from("!I", raw), 4
    pairs = []
    for _ in range(count):
        (n,) = struct.unpack_from("!I", raw, at)
        name = raw[at + 4:at + 4 + n].decode().lower()
        at += 4 + n
        (n,) = struct.unpack_from("!I", raw, at)
        pairs.append((name, raw[at + 4:at + 4 + n].decode()))
        at += 4 + n
    return pairs


def encode_headers(headers: dict[str, str]) -> bytes:
    """A name/value block, before compression."""
    return struct.pack("!I", len(headers)) + b"".join(
        struct.pack("!I", len(k)) + k.encode() + struct.pack("!I", len(v)) + v.encode() for k, v in headers.items())
