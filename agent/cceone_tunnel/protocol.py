"""Wire format of the hub <-> agent tunnel, protocol version 1.

The one copy, imported by both the hub (cceone/hub) and the agent
(cceone_agent): it lives in the agent's distribution (agent/pyproject.toml),
which the product installs too, so the agent never imports the product.
See docs/agent-protocol.md for the prose description.

Every WebSocket *binary* message carries exactly one frame:

    byte 0     type
    byte 1     flags   (0x01 END_STREAM, 0x80 IGNORABLE)
    bytes 2-5  stream id, unsigned 32-bit big-endian (0 = connection level)
    bytes 6-   payload, layout depends on the type

Body bytes (DATA) travel raw so the hot path never JSON-encodes payloads;
only header-like frames carry (small) JSON.
"""

from __future__ import annotations

import json
import struct

PROTOCOL_VERSION = 1
SUBPROTOCOL = "cceone.tunnel.v1"

# Frame types.
SETTINGS = 0x01  # hub -> agent, stream 0, JSON
REQUEST = 0x02  # hub -> agent, opens a stream: u32 len | JSON head | inline body
RESPONSE = 0x03  # agent -> hub: u32 len | JSON head | inline body
DATA = 0x04  # both ways: raw body bytes
WINDOW = 0x05  # both ways: u32 credit increment
RESET = 0x06  # both ways: JSON {"code", "message"}; aborts the stream
HEARTBEAT = 0x07  # agent -> hub, stream 0, JSON facts
PING = 0x08  # either way, stream 0, opaque payload (<= 64 bytes)
PONG = 0x09  # answer to PING, same payload
GOAWAY = 0x0A  # agent -> hub, stream 0: send no new streams on this connection
# hub -> agent, stream 0, JSON {"reason", "deadline"}, sent IGNORABLE: this hub replica is
# shutting down; connect again (through the load balancer: to another replica) now, and keep
# serving the streams already open here until the hub closes this connection.
DRAIN = 0x0B

FLAG_END = 0x01
# Lets a future version add frame types that old peers may skip; a frame of an
# unknown type without this flag is a protocol error.
FLAG_IGNORABLE = 0x80

HEADER = struct.Struct("!BBI")
HEADER_SIZE = HEADER.size
U32 = struct.Struct("!I")
_HEAD_PREFIX = struct.Struct("!BBII")  # frame header + head length, packed at once

# Per-stream flow-control window a receiver grants initially (both directions).
DEFAULT_WINDOW = 256 * 1024
# What each side grows its window to once a connection is upgraded (exec, port-forward):
# one bulk stream needs more bytes in flight than 256 KiB to keep a fast link busy.
UPGRADE_WINDOW = 2 * 1024 * 1024
# Largest DATA payload a sender emits; receivers accept up to MAX_MESSAGE.
MAX_DATA = 64 * 1024
# Bodies up to this size may ride inside REQUEST/RESPONSE frames; they do not
# count against the flow-control window (the size is bounded anyway).
MAX_INLINE = 64 * 1024
# Largest WebSocket message either side accepts (big heartbeats of big clusters).
MAX_MESSAGE = 32 * 1024 * 1024

# RESET codes.
RESET_CANCEL = "cancel"  # the requester went away
RESET_UPSTREAM = "upstream_error"  # API server failed mid-stream
RESET_SHUTDOWN = "shutdown"  # agent is stopping
RESET_PROTOCOL = "protocol_error"
RESET_REFUSED = "refused"  # agent will not run this stream (e.g. draining)

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_decode = json.JSONDecoder().decode


class ProtocolError(Exception):
    """The peer sent something that is not valid protocol v1."""


def frame(ftype: int, stream_id: int, payload: bytes = b"", flags: int = 0) -> bytes:
    return HEADER.pack(ftype, flags, stream_id) + payload


def parse(message: bytes) -> tuple[int, int, int, memoryview]:
    """Split a message into (type, flags, stream id, payload view)."""
    if len(message) < HEADER_SIZE:
        raise ProtocolError(f"frame of {len(message)} bytes is shorter than its header")
    ftype, flags, sid = HEADER.unpack_from(message)
    return ftype, flags, sid, memoryview(message)[HEADER_SIZE:]


def head_frame(ftype: int, stream_id: int, head: dict, body: bytes = b"", end: bool = False) -> bytes:
    j = _dumps(head).encode()
    prefix = _HEAD_PREFIX.pack(ftype, FLAG_END if end else 0, stream_id, len(j))
    return b"".join((prefix, j, body)) if body else prefix + j


def parse_head(payload: memoryview) -> tuple[dict, memoryview]:
    if len(payload) < 4:
        raise ProtocolError("head frame without length prefix")
    (n,) = U32.unpack_from(payload)
    if n > len(payload) - 4:
        raise ProtocolError("head length exceeds frame")
    head = _loads(payload[4 : 4 + n])
    if not isinstance(head, dict):
        raise ProtocolError("head is not a JSON object")
    return head, payload[4 + n :]


def json_frame(ftype: int, stream_id: int, obj, flags: int = 0) -> bytes:
    return HEADER.pack(ftype, flags, stream_id) + _dumps(obj).encode()


def parse_json(payload: memoryview) -> dict:
    obj = _loads(payload)
    if not isinstance(obj, dict):
        raise ProtocolError("payload is not a JSON object")
    return obj


def window_frame(stream_id: int, increment: int) -> bytes:
    return HEADER.pack(WINDOW, 0, stream_id) + U32.pack(increment)


def parse_window(payload: memoryview) -> int:
    if len(payload) != 4:
        raise ProtocolError("WINDOW payload must be 4 bytes")
    (n,) = U32.unpack_from(payload)
    if n == 0:
        raise ProtocolError("WINDOW increment of 0")
    return n


def reset_frame(stream_id: int, code: str, message: str = "") -> bytes:
    return json_frame(RESET, stream_id, {"code": code, "message": message})


def parse_headers(value) -> list[tuple[str, str]]:
    """Validate a JSON header list [[name, value], ...]."""
    if type(value) is not list:
        raise ProtocolError("headers must be a list of [name, value] pairs")
    out = []
    for pair in value:
        if type(pair) is not list or len(pair) != 2:
            raise ProtocolError("headers must be a list of [name, value] pairs")
        name, val = pair
        if type(name) is not str or type(val) is not str:
            raise ProtocolError("headers must be a list of [name, value] pairs")
        if "\r" in name or "\n" in name or "\r" in val or "\n" in val:
            raise ProtocolError("header contains a line break")
        out.append((name, val))
    return out


def _loads(view: memoryview):
    try:
        # str(buffer, "utf-8") decodes without an intermediate bytes copy.
        return _decode(str(view, "utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"invalid JSON: {exc}") from None


# Hop-by-hop headers (RFC 9110 7.6.1) plus ones that describe a single hop's
# framing; neither side forwards them. Names listed in a Connection header
# are dropped too (see strip_hop_by_hop).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "expect",
    }
)


def strip_hop_by_hop(headers, also: frozenset = frozenset()) -> list[tuple[str, str]]:
    """Return header pairs without hop-by-hop ones; `headers` is an iterable of pairs.

    `also`: further lower-case names to drop. One pass in the usual case (on
    every request); a second one only if a Connection header names others.
    """
    out = []
    named = None
    for pair in headers:
        low = pair[0].lower()
        if low in HOP_BY_HOP:
            if low == "connection":
                tokens = {t.strip().lower() for t in pair[1].split(",")}
                named = tokens if named is None else named | tokens
            continue
        if low in also:
            continue
        out.append(pair if type(pair) is tuple else (pair[0], pair[1]))
    if named:
        out = [(n, v) for n, v in out if n.lower() not in named]
    return out
