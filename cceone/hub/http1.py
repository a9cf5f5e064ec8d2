"""The internal listener's HTTP/1.1 server, answered from callbacks.

Every request the console makes to a cluster crosses this server, so it is
built for that one job rather than on aiohttp's general-purpose one:
httptools parses, a complete request is routed in the parser's callback
(for a tunnel: one REQUEST frame written at once), and the agent's answer
is written to the client from the agent connection's reader (see
`TunnelExchange` in internal.py). No task, future or response object is
made per request; `benchmarks/tunnel_overhead.py` measures the result.

What it does: keep-alive, one exchange at a time per connection (a
pipelining client's next request waits, with reading paused), bodies by
Content-Length or chunked, streamed request bodies for the exchanges that
ask for them, responses with a length or chunked, write backpressure
handed to the exchange (`writable()`), 400/431 for malformed or oversized
heads, and idle connections closed after IDLE_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import logging
import time
from collections import deque

import httptools

from . import protocol as p

log = logging.getLogger("cceone.hub")

MAX_HEAD = 64 * 1024  # request line and headers together
IDLE_TIMEOUT = 75.0  # seconds a kept-alive connection may sit unused (nginx's default)


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


_REASONS = {code: _reason(code) for code in range(100, 600)}


class _Date:
    """The Date header, formatted at most once a second."""

    second = -1
    value = b""

    @classmethod
    def header(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.second = now
            cls.value = b"Date: " + email.utils.formatdate(now, usegmt=True).encode() + b"\r\n"
        return cls.value


def render_head(status: int, headers, length: int | None, close: bool = False, date: bool = False) -> bytes:
    """Status line and headers. `length` None: the body is sent chunked.

    `headers` must not carry framing (Content-Length, Transfer-Encoding) or
    Connection: the server states those itself.
    """
    parts = [f"HTTP/1.1 {status} {_REASONS.get(status) or _reason(status)}\r\n"]
    for name, value in headers:
        parts.append(f"{name}: {value}\r\n")
    parts.append("Transfer-Encoding: chunked\r\n" if length is None else f"Content-Length: {length}\r\n")
    if close:
        parts.append("Connection: close\r\n")
    head = "".join(parts).encode("latin-1")
    return head + _Date.header() + b"\r\n" if date else head + b"\r\n"


class Request:
    """A parsed request head, and its body when it is small enough to wait for."""

    __slots__ = ("method", "raw_path", "headers", "content_length", "chunked", "keep_alive", "upgrade", "body", "complete", "exchange", "_head_size")

    def __init__(self):
        self.method = ""
        self.raw_path = ""
        self.headers: list[tuple[str, str]] = []
        self.content_length: int | None = None
        self.chunked = False
        self.keep_alive = True
        self.upgrade = False
        self.body: list[bytes] = []
        self.complete = False
        self.exchange = None  # set once routed to an exchange that takes the body as it comes
        self._head_size = 0

    def header(self, name: str) -> str | None:
        """First value of a header (`name` in lower case)."""
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    @property
    def streams_body(self) -> bool:
        """True when the body is too big (or of unknown size) to wait for before routing."""
        return self.chunked or (self.content_length is not None and self.content_length > self.inline_limit)

    inline_limit = p.MAX_INLINE


class Exchange:
    """What a route returns when its answer comes later (see GatewayConnection)."""

    __slots__ = ()

    def body(self, chunk: bytes) -> None:  # a piece of a streamed request body
        pass

    def body_end(self) -> None:
        pass

    def writable(self) -> None:  # the client's socket drained after pause_writing
        pass

    def abort(self) -> None:  # the client went away
        pass


class GatewayConnection(asyncio.Protocol):
    """One client connection. `route(request, conn)` answers a request.

    A route either answers at once (`respond`) and returns None, or returns
    an Exchange that answers later through `start_response` /
    `write_body` / `end_response` (or `respond`, or `abort`). Routing
    happens when the request is complete, or at the end of its head when
    its body must stream (`Request.streams_body`).
    """

    def __init__(self, server: "HTTPServer"):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.parsing: Request | None = None
        self.active: Request | None = None  # the request being answered
        self.queue: deque[Request] = deque()  # pipelined requests waiting their turn
        self.chunked_response = False
        self.write_paused = False
        self.reading_paused = False
        self.closing = False
        self.last_active = time.monotonic()

    # -- transport callbacks ----------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # an upgrade is refused when routed; the connection is closing
        except httptools.HttpParserError as exc:
            # An exception raised in a callback comes back wrapped in this one.
            if isinstance(exc.__context__, _HeadTooLarge) or isinstance(exc.__cause__, _HeadTooLarge):
                self._bad_request(431, "request head too large")
            else:
                self._bad_request(400, f"malformed HTTP request: {exc}")

    def connection_lost(self, exc) -> None:
        self.closing = True
        self.server.connections.discard(self)
        active, self.active = self.active, None
        if active is not None and active.exchange is not None:
            active.exchange.abort()
        self.queue.clear()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.active is not None and self.active.exchange is not None:
            self.active.exchange.writable()

    # -- parser callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.parsing = Request()

    def on_url(self, url: bytes) -> None:
        req = self.parsing
        req._head_size += len(url)
        if req._head_size > MAX_HEAD:
            raise _HeadTooLarge
        req.raw_path += url.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        req = self.parsing
        req._head_size += len(name) + len(value) + 4
        if req._head_size > MAX_HEAD:
            raise _HeadTooLarge
        n, v = name.decode("latin-1"), value.decode("latin-1")
        req.headers.append((n, v))
        low = n.lower()
        if low == "content-length":
            req.content_length = int(v)  # the parser has validated it
        elif low == "transfer-encoding":
            req.chunked = "chunked" in v.lower()

    def on_headers_complete(self) -> None:
        req = self.parsing
        parser = self.parser
        req.method = parser.get_method().decode("ascii")
        req.keep_alive = parser.should_keep_alive()
        req.upgrade = parser.should_upgrade()
        if req.upgrade or req.streams_body:
            self._arrived(req)

    def on_body(self, body: bytes) -> None:
        req = self.parsing
        if req.exchange is not None and req is self.active:
            req.exchange.body(body)
        else:
            req.body.append(body)

    def on_message_complete(self) -> None:
        req, self.parsing = self.parsing, None
        req.complete = True
        if req.exchange is not None and req is self.active:
            req.exchange.body_end()
        elif not (req.upgrade or req.streams_body):
            self._arrived(req)
        # else: routed or queued at the end of its head; the body is buffered

    # -- routing ---------------------------------------------------------------------------
    def _arrived(self, req: Request) -> None:
        if self.active is not None or self.queue:
            self.queue.append(req)
            self._pause_reading()  # a pipelining client: let it wait
            return
        self._route(req)

    def _route(self, req: Request) -> None:
        self.active = req
        self.chunked_response = False
        try:
            exchange = self.server.route(req, self)
        except Exception:
            log.exception("internal listener: %s %s failed", req.method, req.raw_path)
            if self.active is req:
                self.respond(500, [("Content-Type", "text/plain")], b"internal error")
            return
        if exchange is None or self.active is not req:
            return  # answered already
        req.exchange = exchange
        if req.body and req.streams_body:
            buffered, req.body = req.body, []
            for chunk in buffered:
                exchange.body(chunk)
        if req.complete and req.streams_body and self.active is req:
            exchange.body_end()

    # -- answering -------------------------------------------------------------------------
    def respond(self, status: int, headers, body: bytes = b"") -> None:
        """Answer the active request completely."""
        req = self.active
        if req is None or self.transport is None:
            return
        close = self._must_close(req)
        head_only = req.method == "HEAD" or status in (204, 304)
        length = len(body) if not head_only else _declared_length(headers, len(body))
        headers = [h for h in headers if h[0].lower() != "content-length"]
        self.transport.write(render_head(status, headers, length, close, date=True) + (b"" if head_only else body))
        self._done(close)

    def start_response(self, status: int, headers, length: int | None) -> None:
        """Send the head of an answer whose body follows (`length` None: chunked)."""
        req = self.active
        self.chunked_response = length is None
        self.transport.write(render_head(status, headers, length, self._must_close(req)))

    def write_body(self, data) -> None:
        if self.chunked_response:
            if data:
                self.transport.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self.transport.write(data)

    def end_response(self) -> None:
        if self.chunked_response:
            self.transport.write(b"0\r\n\r\n")
        self._done(self._must_close(self.active))

    def abort(self) -> None:
        """Cut the connection: after a head is out, the only honest error left."""
        self.closing = True
        self.active = None
        if self.transport is not None:
            self.transport.abort()

    def _must_close(self, req: Request | None) -> bool:
        # A request whose body we did not read to the end leaves the stream
        # mid-message: the connection cannot carry another request.
        return req is None or not req.keep_alive or req.upgrade or not req.complete or self.server.closing

    def _done(self, close: bool) -> None:
        self.active = None
        self.last_active = time.monotonic()
        if close:
            self.closing = True
            self.transport.close()
            return
        if self.queue:
            nxt = self.queue.popleft()
            self._route(nxt)
            if self.active is nxt:
                return
        if not self.queue:
            self._resume_reading()

    def _bad_request(self, status: int, message: str) -> None:
        self.closing = True
        if self.active is None and self.transport is not None:
            body = (message + "\n").encode()
            self.transport.write(render_head(status, [("Content-Type", "text/plain; charset=utf-8")], len(body), True, True) + body)
            self.transport.close()
        elif self.transport is not None:
            self.transport.close()

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None and not self.closing:
            self.reading_paused = False
            self.transport.resume_reading()

    # for exchanges that stream a request body: hold the client back while
    # the agent has no credit for it
    pause_reading = _pause_reading
    resume_reading = _resume_reading


class _HeadTooLarge(Exception):
    pass


def _declared_length(headers, default: int) -> int:
    for k, v in headers:
        if k.lower() == "content-length":
            try:
                return int(v)
            except ValueError:
                break
    return default


class HTTPServer:
    """A listening socket of GatewayConnections, and the idle sweep."""

    def __init__(self, route):
        self.route = route
        self.connections: set[GatewayConnection] = set()
        self.closing = False
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task | None = None

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: GatewayConnection(self), host, port, backlog=2048, reuse_address=True)
        self._sweeper = asyncio.ensure_future(self._sweep())
        return self._server.sockets[0].getsockname()[1]

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(IDLE_TIMEOUT / 5)
            cutoff = time.monotonic() - IDLE_TIMEOUT
            for c in list(self.connections):
                if c.active is None and c.parsing is None and c.last_active < cutoff and c.transport is not None:
                    c.closing = True
                    c.transport.close()

    async def stop(self) -> None:
        self.closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for c in list(self.connections):
            c.closing = True
            if c.transport is not None:
                # An exchange in progress learns of it in connection_lost.
                c.transport.abort() if c.active is not None else c.transport.close()
        if self._server is not None:
            await self._server.wait_closed()
