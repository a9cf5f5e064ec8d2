"""Liveness and readiness endpoints for the agent's pod probes.

    GET /healthz  200 while the agent's event loop runs (answering at all
                  proves it; a wedged loop makes the probe time out)
    GET /readyz   200 while connected to the hub (SETTINGS received), else 503

A few lines of asyncio instead of a web framework: probes are the only
clients, one request per connection.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("cceone_agent")

MAX_REQUEST = 8192


def parse_addr(value: str) -> tuple[str | None, int]:
    """'HOST:PORT', ':PORT' (all interfaces) or '[v6]:PORT' -> (host or None, port)."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"health address must be HOST:PORT or :PORT, not {value!r}")
    host = host.strip("[]")
    return (host or None), int(port)


class HealthServer:
    def __init__(self, agent, addr: str):
        self.agent = agent
        self.host, self.port = parse_addr(addr)
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
        bound = self._server.sockets[0].getsockname()
        self.port = bound[1]
        log.info("health endpoints on %s:%s (/healthz, /readyz)", self.host or "*", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _ready(self) -> bool:
        ev = self.agent.connected
        stopping = self.agent._stopping
        return ev is not None and ev.is_set() and not (stopping is not None and stopping.is_set())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
                return
            parts = head[: head.find(b"\r\n")].split(b" ")
            method = parts[0] if parts else b""
            path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b""
            if method not in (b"GET", b"HEAD"):
                code, text = 405, "method not allowed\n"
            elif path == b"/healthz":
                code, text = 200, "ok\n"
            elif path == b"/readyz":
                code, text = (200, "ready\n") if self._ready() else (503, "not connected to the hub\n")
            else:
                code, text = 404, "not found\n"
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[code]
            body = text.encode() if method != b"HEAD" else b""
            writer.write(
                f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(text)}\r\n"
                f"Connection: close\r\n\r\n".encode() + body
            )
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
