"""The internal listener's HTTP/1.1 server, answered from callbacks.

Every request the console makes to a cluster crosses this server, so it is
built for that one job rather than on aiohttp's general-purpose one:
httptools parses, a complete request is routed in the parser's callback
(for a tunnel: one REQUEST frame written at once), and the agent's answer
is written to the client from the agent connection's reader (see
`TunnelExchange` in relay.py). No task, future or response object is made
per request; `benchmarks/tunnel_overhead.py` measures the result.

What it does: keep-alive; one exchange at a time per connection, with up
to MAX_PIPELINED requests waiting (reading paused meanwhile); bodies by
Content-Length or chunked, streamed for the exchanges that ask for them;
`Expect: 100-continue`; responses with a length, chunked, or (HTTP/1.0)
ended by close; write backpressure (no further answers while the client
does not read; `writable()` for the exchange); 400/431 for malformed or
oversized heads and trailers, after the answers before them; the rest of
an early-answered body read and dropped; lingering close; an h2c upgrade
offer declined; idle connections closed after IDLE_TIMEOUT.
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
# Non-body bytes one message may feed (see data_received): well above MAX_HEAD,
# since a read (up to 256 kB) that begins a message is charged to it whole.
HEAD_GUARD = 16 * MAX_HEAD
CHUNK_FRAMING = 32  # of those, allowed per chunk of a chunked body (size line and CRLFs)
LINGER_SECONDS = 2.0  # a closing connection reads and drops input this long (see _close)
MAX_PIPELINED = 32  # requests waiting behind the one being answered
LINGER_LIMIT = 8 * 1024 * 1024  # body bytes read and dropped after an early answer before closing instead
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


def render_head(status: int, headers, framing: str, close: bool = False, date: bool = False) -> bytes:
    """Status line and headers.

    `framing` is the server's own framing header line ("Content-Length: N\r\n",
    "Transfer-Encoding: chunked\r\n" or "" for none): `headers` must not
    carry framing or Connection.
    """
    parts = [f"HTTP/1.1 {status} {_REASONS.get(status) or _reason(status)}\r\n"]
    for name, value in headers:
        parts.append(f"{name}: {value}\r\n")
    parts.append(framing)
    if close:
        parts.append("Connection: close\r\n")
    head = "".join(parts).encode("latin-1")
    return head + _Date.header() + b"\r\n" if date else head + b"\r\n"


class Request:
    """A parsed request head, and its body when it is small enough to wait for."""

    __slots__ = (
        "method", "raw_path", "headers", "content_length", "chunked", "keep_alive", "upgrade", "http10", "body", "complete",
        "head_done", "exchange", "_head_size", "overhead", "chunks", "expect_continue",
    )

    def __init__(self):
        self.method = ""
        self.raw_path = ""
        self.headers: list[tuple[str, str]] = []
        self.content_length: int | None = None
        self.chunked = False
        self.keep_alive = True
        self.upgrade = False
        self.http10 = False
        self.body: list[bytes] = []
        self.head_done = False
        self.complete = False
        self.exchange = None  # set once routed to an exchange that takes the body as it comes
        self._head_size = 0
        self.overhead = 0  # bytes fed for this message that were not body: head, chunk framing, trailers
        self.chunks = 0
        self.expect_continue = False  # the client waits for "100 Continue" before sending the body

    def header(self, name: str) -> str | None:
        """First value of a header (`name` in lower case)."""
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    @property
    def streams_body(self) -> bool:
        """True when the body is too big (or of unknown size) to wait for before routing."""
        return self.chunked or (self.content_length is not None and self.content_length > p.MAX_INLINE)


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

    Reading from the client is paused while pipelined requests wait, while
    a parse error waits for the answers before it, and while the exchange
    holds it (a streamed body the agent has no credit for); see
    `_update_reading`. Draining the queue is a loop, not a recursion, so a
    burst of pipelined requests answered at once cannot exhaust the stack.
    """

    def __init__(self, server: "HTTPServer"):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.parsing: Request | None = None  # the message the parser is in
        self.fed_body = 0  # body bytes the parser handed over during the current feed
        self.active: Request | None = None  # the request being answered
        self.queue: deque[Request] = deque()  # pipelined requests waiting their turn
        self.discarding: Request | None = None  # answered early: the rest of its body is read and dropped
        self.discarded = 0
        self.close_after_discard = False
        self._linger: asyncio.TimerHandle | None = None
        self.pending_error: tuple[int, str] | None = None  # a bad request behind ones still to answer
        self.response_mode = ""  # of a streamed answer: "length", "chunked" or "close" (HTTP/1.0)
        self.exchange_hold = False
        self.write_paused = False
        self.reading_paused = False
        self.closing = False
        self._advancing = False
        self.last_active = time.monotonic()

    # -- transport callbacks ----------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        if self.closing or self.pending_error is not None:
            return
        self.fed_body = 0
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            return  # an upgrade is refused when routed; the connection then closes
        except httptools.HttpParserError as exc:
            # An exception raised in a callback comes back wrapped in this one.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, _HeadTooLarge):
                self._bad_request(431, "request head too large")
            elif isinstance(cause, _TooManyPipelined):
                self._bad_request(400, f"more than {MAX_PIPELINED} pipelined requests waiting")
            else:
                self._bad_request(400, f"malformed HTTP request: {exc}")
            return
        req = self.parsing
        if req is not None and not self.closing:
            # httptools hands over a header (or trailer) only once it is
            # complete, so one endless value would grow its buffer unchecked:
            # bound what a message feeds besides its body. (A read that
            # begins a message may also hold the end of the previous one;
            # its body bytes are not counted, its framing is.)
            req.overhead += len(data) - self.fed_body
            if req.overhead > HEAD_GUARD + CHUNK_FRAMING * req.chunks:
                self._bad_request(431, "request head or trailers too large")

    # No eof_received: a client's EOF closes the connection (asyncio's
    # default), as a client that has gone away must cancel its watch at the
    # agent; clients do not half-close after a request.

    def connection_lost(self, exc) -> None:
        self.closing = True
        self.server.connections.discard(self)
        active, self.active = self.active, None
        if active is not None and active.exchange is not None:
            active.exchange.abort()
        self.queue.clear()
        self.transport = None
        if self._linger is not None:
            self._linger.cancel()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.active is not None:
            if self.active.exchange is not None:
                self.active.exchange.writable()
        elif self.queue or self.pending_error is not None:
            self._advance()  # answers were held while the client did not read

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
        if req.head_done:
            return  # a trailer (after a chunked body): not forwarded, never framing
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
        req.head_done = True
        parser = self.parser
        req.method = parser.get_method().decode("ascii")
        req.keep_alive = parser.should_keep_alive()
        req.upgrade = parser.should_upgrade()
        req.http10 = parser.get_http_version() == "1.0"
        if req.upgrade and (req.header("upgrade") or "").strip().lower() == "h2c":
            # An offer of HTTP/2 (curl --http2) may be declined by answering
            # in HTTP/1.1; the parser stops after an upgrade, so close after.
            req.upgrade = False
            req.keep_alive = False
        if not req.http10 and (req.chunked or req.content_length):
            req.expect_continue = (req.header("expect") or "").strip().lower() == "100-continue"
        if req.upgrade or req.streams_body:
            self._arrived(req)
        elif req.expect_continue and self._first_in_line():
            self._send_continue(req)

    def on_chunk_header(self) -> None:
        self.parsing.chunks += 1

    def on_body(self, body: bytes) -> None:
        self.fed_body += len(body)
        if self.closing:
            return
        req = self.parsing
        if req is self.discarding:
            self.discarded += len(body)
            if self.discarded > LINGER_LIMIT:
                self._close()
        elif req.exchange is not None and req is self.active:
            req.exchange.body(body)
        else:
            req.body.append(body)

    def on_message_complete(self) -> None:
        req, self.parsing = self.parsing, None
        req.complete = True
        if self.closing:
            return
        if req is self.discarding:
            self.discarding = None
            if self.close_after_discard:
                self._close()
                return
            self._advance()
        elif req.exchange is not None and req is self.active:
            req.exchange.body_end()
        elif not (req.upgrade or req.streams_body):
            self._arrived(req)
        # else: routed or queued at the end of its head; the body is buffered

    # -- routing ---------------------------------------------------------------------------
    def _arrived(self, req: Request) -> None:
        if self.closing:
            return
        if self.active is not None or self.queue or self.discarding is not None or self.write_paused:
            if len(self.queue) >= MAX_PIPELINED:
                raise _TooManyPipelined  # stops the parser; answered after those waiting
            self.queue.append(req)  # a pipelining client: answered in turn
            self._update_reading()
            return
        self._route(req)

    def _route(self, req: Request) -> None:
        self.active = req
        self.response_mode = ""
        self.exchange_hold = False
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
        self._send_continue(req)
        if req.body and req.streams_body:
            buffered, req.body = req.body, []
            for chunk in buffered:
                exchange.body(chunk)
        if req.complete and req.streams_body and self.active is req:
            exchange.body_end()
        self._update_reading()

    def _advance(self) -> None:
        """Answer queued requests while they can be answered; then read on."""
        if self._advancing:
            return  # an outer _advance is looping
        self._advancing = True
        try:
            # While the client is not reading its answers, answer nothing
            # more: resume_writing picks up from here.
            while self.active is None and self.discarding is None and self.queue and not self.closing and not self.write_paused:
                self._route(self.queue.popleft())
        finally:
            self._advancing = False
        if self.closing:
            return
        if self.active is None and self.discarding is None and not self.queue and not self.write_paused:
            if self.pending_error is not None:
                status, message = self.pending_error
                self._write_error(status, message)
                return
            if self.parsing is not None and self.parsing.expect_continue:
                self._send_continue(self.parsing)  # its turn has come
        self._update_reading()

    # -- answering -------------------------------------------------------------------------
    def respond(self, status: int, headers, body: bytes = b"") -> None:
        """Answer the active request completely."""
        req = self.active
        if req is None or self.transport is None:
            return
        close = self._must_close(req)
        if status == 204 or status < 200:
            framing, body = "", b""  # RFC 9110 8.6: no Content-Length at all
            headers = [h for h in headers if h[0].lower() != "content-length"]
        elif req.method == "HEAD" or status == 304:
            framing, body = "", b""  # a Content-Length in `headers` describes the full body
        else:
            framing = f"Content-Length: {len(body)}\r\n"
            headers = [h for h in headers if h[0].lower() != "content-length"]
        self.transport.write(render_head(status, headers, framing, close, date=True) + body)
        self._done(close)

    def start_response(self, status: int, headers, length: int | None) -> None:
        """Send the head of an answer whose body follows (`length` None: unknown)."""
        req = self.active
        if self.transport is None or req is None:
            return
        if length is not None:
            self.response_mode, framing = "length", f"Content-Length: {length}\r\n"
        elif req.http10:
            self.response_mode, framing = "close", ""  # HTTP/1.0 knows no chunks: the end is the close
        else:
            self.response_mode, framing = "chunked", "Transfer-Encoding: chunked\r\n"
        close = self.response_mode == "close" or self._must_close(req)
        self.transport.write(render_head(status, headers, framing, close))

    def write_body(self, data) -> None:
        if self.transport is None:
            return
        if self.response_mode == "chunked":
            if data:
                self.transport.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self.transport.write(data)

    def end_response(self) -> None:
        if self.transport is None:
            return
        if self.response_mode == "chunked":
            self.transport.write(b"0\r\n\r\n")
        self._done(self.response_mode == "close" or self._must_close(self.active))

    def abort(self) -> None:
        """Cut the connection: after a head is out, the only honest error left."""
        self.closing = True
        self.active = None
        if self.transport is not None:
            self.transport.abort()

    # for exchanges that stream a request body: hold the client back while
    # the agent has no credit for it
    def pause_reading(self) -> None:
        self.exchange_hold = True
        self._update_reading()

    def resume_reading(self) -> None:
        self.exchange_hold = False
        self._update_reading()

    # -- internals -------------------------------------------------------------------------
    def _must_close(self, req: Request | None) -> bool:
        return req is None or not req.keep_alive or req.upgrade or self.server.closing

    def _done(self, close: bool) -> None:
        req, self.active = self.active, None
        self.exchange_hold = False
        self.last_active = time.monotonic()
        if self.closing or self.server.closing:
            self._close()
            return
        if req is not None and not req.complete:
            # Answered before its body ended (an early 401, or an upstream
            # that did not wait): read the rest and drop it, then go on (or
            # close, if this was the last request). Closing with unread
            # input could reset the connection and lose the answer at the
            # client; a body announced as too big to read is not worth it.
            if req.content_length is not None and req.content_length > LINGER_LIMIT:
                self._close()
                return
            req.exchange = None
            self.discarding, self.discarded = req, 0
            self.close_after_discard = close
            self._update_reading()
            return
        if close:
            self._close()
            return
        self._advance()

    def _first_in_line(self) -> bool:
        return self.active is None and not self.queue and self.discarding is None

    def _send_continue(self, req: Request) -> None:
        """Tell a client waiting with `Expect: 100-continue` to send its body (once)."""
        if req.expect_continue and not req.complete and self.transport is not None and not self.closing:
            req.expect_continue = False
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _update_reading(self) -> None:
        want = not (self.closing or self.queue or self.pending_error is not None or self.exchange_hold)
        t = self.transport
        if t is None:
            return
        if want and self.reading_paused:
            self.reading_paused = False
            t.resume_reading()
        elif not want and not self.reading_paused:
            self.reading_paused = True
            t.pause_reading()

    def _bad_request(self, status: int, message: str) -> None:
        if self.closing:
            return
        broken = self.parsing  # the message the bad bytes belong to
        if broken is not None and broken is self.discarding:
            self._close()  # its answer is out; the rest of it is garbage
            return
        if broken is not None and broken is self.active:
            # A streamed body went bad mid-way: the agent's side is reset,
            # and the client gets the error unless its answer has begun.
            exchange, self.active = broken.exchange, None
            if exchange is not None:
                exchange.abort()
            if self.response_mode:
                self._close()
            else:
                self._write_error(status, message)
            return
        if broken is not None and broken in self.queue:
            self.queue.remove(broken)  # never complete: it is the error itself
        if self.active is None and not self.queue and self.discarding is None and not self.write_paused:
            self._write_error(status, message)
        else:
            # Requests before the bad one are answered first.
            self.pending_error = (status, message)
            self._update_reading()

    def _write_error(self, status: int, message: str) -> None:
        if self.transport is not None and not self.closing:
            body = (message + "\n").encode()
            self.transport.write(
                render_head(status, [("Content-Type", "text/plain; charset=utf-8")], f"Content-Length: {len(body)}\r\n", True, True) + body
            )
        self._close()

    def _close(self) -> None:
        """Close after what was written, lingering: the write side is shut,
        and what the client still sends is read and dropped for a moment.
        Closing with unread input would reset the connection, and the client
        could lose answers it had not read yet."""
        if self._linger is not None:
            return
        self.closing = True
        t = self.transport
        if t is None:
            return
        try:
            if t.can_write_eof():
                t.write_eof()
                if self.reading_paused:
                    self.reading_paused = False
                    t.resume_reading()
                self._linger = asyncio.get_running_loop().call_later(LINGER_SECONDS, t.close)
                return
        except (OSError, RuntimeError):
            pass
        t.close()


class _HeadTooLarge(Exception):
    pass


class _TooManyPipelined(Exception):
    pass


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
                # A half-sent head or an early-answered body gone quiet is
                # idle too; only a request being answered (a quiet watch) is not.
                if c.active is None and c.last_active < cutoff and c.transport is not None:
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
