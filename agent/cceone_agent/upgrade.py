"""The agent's side of an upgraded connection (exec, attach, port-forward).

aiohttp's client switches only to WebSocket, and kubectl may ask for SPDY too,
so the upgrade request goes out on a connection of our own: the request line
and headers as the hub sent them plus the agent's credentials, the answer head
parsed here. After `101` the bytes flow untouched both ways, within the
tunnel's credit; a refusal (403 from RBAC, 404) travels back as an ordinary answer.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

from cceone_tunnel import protocol as p

_READ_LIMIT = 256 * 1024  # the answer head's limit too; reading pauses at twice this
_ERROR_BODY_LIMIT = p.MAX_INLINE  # rides inline in the RESPONSE frame
CONNECT_TIMEOUT = 10.0


class UpstreamDialer:
    """Raw connections to the API server the agent's Upstream talks to."""

    def __init__(self, base: str, ssl_setting, server_hostname: str | None):
        url = urlsplit(base)
        self.secure = url.scheme == "https"
        self.host = url.hostname or "localhost"
        self.port = url.port or (443 if self.secure else 80)
        self.netloc = url.netloc
        self.prefix = url.path.rstrip("/")  # an API server behind a path (Rancher-style proxies)
        self.server_hostname = server_hostname or self.host
        self.ssl: ssl.SSLContext | None = None
        if self.secure:
            if isinstance(ssl_setting, ssl.SSLContext):
                self.ssl = ssl_setting
            elif ssl_setting is False:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                self.ssl = ctx
            else:
                self.ssl = ssl.create_default_context()

    async def open(self):
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.ssl, limit=_READ_LIMIT,
                                    server_hostname=self.server_hostname if self.ssl else None),
            CONNECT_TIMEOUT,
        )


def request_head(method: str, path: str, headers: list, netloc: str, upgrade: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {netloc}", "Connection: Upgrade", f"Upgrade: {upgrade}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_head(reader: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ConnectionError(f"malformed answer from the API server: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return int(parts[1]), headers


async def read_body(reader: asyncio.StreamReader, headers: list) -> bytes:
    """The body of a refusal (small; a Status object)."""
    values = {k.lower(): v for k, v in headers}
    if "content-length" in values:
        return await reader.readexactly(min(int(values["content-length"]), _ERROR_BODY_LIMIT))
    if "chunked" in values.get("transfer-encoding", "").lower():
        body = bytearray()
        while len(body) < _ERROR_BODY_LIMIT:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return bytes(body)
    return await reader.read(_ERROR_BODY_LIMIT)


async def splice(tunnel, st, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Carry the upgraded bytes both ways until either side ends."""
    sid = st.sid

    async def from_hub():
        while True:
            data, end = await st.get()
            if data:
                writer.write(data)
                await writer.drain()
                inc = st.consumed(len(data))
                if inc:
                    await tunnel.send(p.window_frame(sid, inc))
            if end:
                # The client went away: closing our leg ends the API server's
                # side, whose last bytes and EOF still travel back below.
                if writer.can_write_eof():
                    writer.write_eof()
                else:
                    writer.close()
                return

    async def to_hub():
        pack = p.HEADER.pack
        while True:
            try:
                chunk = await reader.read(_READ_LIMIT)
            except (ConnectionError, ssl.SSLError):
                chunk = b""
            if not chunk:
                await tunnel.send(pack(p.DATA, p.FLAG_END, sid))
                return
            view = memoryview(chunk)
            while view:
                n = await st.take_credit(len(view))
                await tunnel.send(pack(p.DATA, 0, sid) + view[:n])
                view = view[n:]

    upload = asyncio.ensure_future(from_hub())
    try:
        await to_hub()
    finally:
        upload.cancel()
        await asyncio.gather(upload, return_exceptions=True)
        writer.close()
