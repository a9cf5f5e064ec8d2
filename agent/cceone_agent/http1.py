"""A small keep-alive HTTP/1.1 client for the agent's API-server leg.

Why not aiohttp's client: every tunnelled request crosses this code, and
aiohttp's general-purpose client (cookies, redirects, middlewares, tracing,
auto headers, decompression) costs about as much CPU per request as the
rest of the agent together. The agent needs none of that: it relays bytes.
This client does exactly HTTP/1.1 to one server: pooled keep-alive
connections, Content-Length / chunked / until-close bodies, streaming in
both directions with backpressure (reading pauses while a response's
unread buffer is over HIGH_WATER), and no header rewriting.
"""

from __future__ import annotations

import asyncio
from collections import deque
from urllib.parse import urlsplit

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
MAX_HEAD = 256 * 1024
IDLE_KEEP = 32  # idle connections kept per pool

_NO_BODY_STATUS = (204, 304)


class HTTPError(Exception):
    """Connection failed or the server broke the protocol."""


class _Conn(asyncio.Protocol):
    __slots__ = ("transport", "resp", "closed", "reused", "_drain", "_paused")

    def __init__(self):
        self.transport: asyncio.Transport | None = None
        self.resp: Response | None = None
        self.closed = False
        self.reused = False
        self._drain: asyncio.Future | None = None
        self._paused = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        r = self.resp
        if r is None:
            # Bytes while idle: the server is confused; never reuse this.
            self.abort()
            return
        r._feed(data)

    def eof_received(self):
        if self.resp is not None:
            self.resp._feed_eof()
        return False  # close the transport

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.resp is not None:
            self.resp._lost(exc)
        d = self._drain
        if d is not None and not d.done():
            d.set_exception(HTTPError("connection lost"))

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        d = self._drain
        if d is not None and not d.done():
            d.set_result(None)

    async def drain(self) -> None:
        if self.closed:
            raise HTTPError("connection lost")
        if self._paused:
            self._drain = asyncio.get_running_loop().create_future()
            try:
                await self._drain
            finally:
                self._drain = None

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Response:
    """Status and headers, then a body read with `read_chunk()`."""

    __slots__ = (
        "status", "headers", "content_length", "_conn", "_pool", "_head", "_buf", "_head_waiter",
        "_chunks", "_buffered", "_waiter", "_mode", "_left", "_cstate", "_cbuf", "_done", "_error",
        "_method", "_keep_alive", "_released", "_got_bytes", "pump", "watcher",
    )

    def __init__(self, conn: _Conn, pool: "Pool", method: str):
        self._conn = conn
        self._pool = pool
        self._method = method
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.content_length: int | None = None
        self._head = False
        self._buf = bytearray()
        self._head_waiter: asyncio.Future = asyncio.get_running_loop().create_future()
        self._chunks: deque = deque()
        self._buffered = 0
        self._waiter: asyncio.Future | None = None
        self._mode = ""  # length | chunked | eof | none
        self._left = 0
        self._cstate = 0  # chunked: 0 size line, 1 data, 2 data CRLF, 3 trailers
        self._cbuf = bytearray()
        self._done = False
        self._error: BaseException | None = None
        self._keep_alive = True
        self._released = False
        self._got_bytes = False
        self.pump: asyncio.Task | None = None  # streams the request body
        # Called with this response when the head arrives, when the body is
        # complete and on failure: lets the tunnel answer a small request
        # from this callback instead of a task awaiting it.
        self.watcher = None

    # -- protocol side -----------------------------------------------------------------
    def _feed(self, data: bytes) -> None:
        self._got_bytes = True
        if not self._head:
            self._buf += data
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEAD:
                    self._fail(HTTPError("response head too large"))
                return
            head = bytes(self._buf[:end])
            rest = bytes(self._buf[end + 4 :])
            self._buf = bytearray()
            try:
                informational = self._parse_head(head)
            except (ValueError, IndexError):
                self._fail(HTTPError("malformed response head"))
                return
            if informational:  # 100 Continue and friends: the real head follows
                if rest:
                    self._feed(rest)
                return
            self._head = True
            if not self._head_waiter.done():
                self._head_waiter.set_result(None)
            data = rest
            if self._mode == "none":
                self._finish()
                return
            if self.watcher is not None:
                self.watcher(self)
            if not data:
                return
        if self._done:
            return
        mode = self._mode
        if mode == "length":
            if len(data) >= self._left:
                if self._left:
                    self._push(data[: self._left])
                self._left = 0
                self._finish()
            else:
                self._left -= len(data)
                self._push(data)
        elif mode == "chunked":
            self._feed_chunked(data)
        else:  # eof
            self._push(data)

    def _parse_head(self, head: bytes) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        headers = []
        length = None
        chunked = False
        close = version == "HTTP/1.0"
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if not name:
                continue
            headers.append((name, value))
            low = name.lower()
            if low == "content-length":
                length = int(value)
            elif low == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif low == "connection":
                v = value.lower()
                if "close" in v:
                    close = True
                elif "keep-alive" in v:
                    close = False
        if 100 <= status < 200:
            return True
        self.status = status
        self.headers = headers
        self._keep_alive = not close
        if self._method == "HEAD" or status in _NO_BODY_STATUS:
            self._mode = "none"
            self.content_length = length if self._method == "HEAD" else 0
        elif chunked:
            self._mode = "chunked"
        elif length is not None:
            self.content_length = length
            self._mode = "length" if length else "none"
            self._left = length
        else:
            self._mode = "eof"
            self._keep_alive = False
        return False

    def _feed_chunked(self, data: bytes) -> None:
        cb = self._cbuf
        cb += data
        while True:
            st = self._cstate
            if st == 1:
                if not cb:
                    return
                take = min(self._left, len(cb))
                self._push(bytes(cb[:take]))
                del cb[:take]
                self._left -= take
                if self._left == 0:
                    self._cstate = 2
            elif st == 0:
                i = cb.find(b"\r\n")
                if i < 0:
                    if len(cb) > 4096:
                        self._fail(HTTPError("bad chunk size line"))
                    return
                try:
                    size = int(bytes(cb[:i]).split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self._fail(HTTPError("bad chunk size"))
                    return
                del cb[: i + 2]
                if size == 0:
                    self._cstate = 3
                else:
                    self._cstate, self._left = 1, size
            elif st == 2:
                if len(cb) < 2:
                    return
                del cb[:2]
                self._cstate = 0
            else:  # trailers, ended by an empty line
                i = cb.find(b"\r\n")
                if i < 0:
                    return
                empty = i == 0
                del cb[: i + 2]
                if empty:
                    self._finish()
                    return

    def _push(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and self._conn.transport is not None:
            # The tunnel is out of credit: stop reading, TCP pushes back
            # on the API server.
            self._conn.transport.pause_reading()
        self._wake()

    def _finish(self) -> None:
        self._done = True
        self._wake()
        if self.watcher is not None:
            self.watcher(self)
            if self._released:
                return
        if not self._chunks:
            self.release()

    def _feed_eof(self) -> None:
        if self._mode == "eof" and self._head:
            self._finish()
        elif not self._done:
            self._fail(HTTPError("connection closed before the response was complete"))

    def _lost(self, exc) -> None:
        if not self._done:
            if self._mode == "eof" and self._head:
                self._finish()
            else:
                self._fail(HTTPError(f"connection lost ({exc})" if exc else "connection lost"))

    def _fail(self, exc: BaseException) -> None:
        if self._error is None and not self._done:
            self._error = exc
        self._keep_alive = False
        if not self._head_waiter.done():
            self._head_waiter.set_exception(exc)
            self._head_waiter.exception()  # mark retrieved; request() re-raises
        self._wake()
        if self.watcher is not None:
            self.watcher(self)
        self._conn.abort()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    # -- consumer side -----------------------------------------------------------------
    async def read_chunk(self) -> bytes:
        """Next piece of body as it arrived; b"" at the end."""
        while not self._chunks:
            if self._done:
                self.release()
                return b""
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self._buffered < LOW_WATER and self._conn.transport is not None and not self._done:
            self._conn.transport.resume_reading()
        if self._done and not self._chunks:
            self.release()
        return data

    @property
    def complete(self) -> bool:
        """The whole body has arrived (and nothing went wrong)."""
        return self._done and self._error is None

    @property
    def failed(self) -> bool:
        return self._error is not None

    def take_body(self) -> bytes:
        """The whole body of a complete response, giving the connection back."""
        body = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        self.release()
        return body

    async def read(self) -> bytes:
        parts = []
        while True:
            c = await self.read_chunk()
            if not c:
                return b"".join(parts)
            parts.append(c)

    def release(self) -> None:
        """Give the connection back if the exchange completed cleanly, else drop it."""
        if self._released:
            return
        self._released = True
        if self.pump is not None and not self.pump.done():
            self.pump.cancel()
            self._keep_alive = False  # the request body was not fully sent
        conn = self._conn
        conn.resp = None
        if self._done and self._keep_alive and self._error is None and not conn.closed:
            conn.transport.resume_reading()  # it may still be paused by our backpressure
            self._pool._put(conn)
        else:
            conn.abort()

    def close(self) -> None:
        """Abandon the exchange (stream reset): the connection is not reused."""
        self._keep_alive = False
        if self.pump is not None and not self.pump.done():
            self.pump.cancel()
        if not self._released:
            self._released = True
            self._conn.resp = None
            self._conn.abort()


class Pool:
    """Keep-alive connections to one server (scheme://host:port[/prefix])."""

    def __init__(self, server: str, ssl=None, server_hostname: str | None = None, connect_timeout: float = 10.0):
        u = urlsplit(server)
        self.https = u.scheme == "https"
        self.host = u.hostname or "localhost"
        self.port = u.port or (443 if self.https else 80)
        self.prefix = u.path.rstrip("/")
        self.host_header = u.netloc.rpartition("@")[2]
        if self.https:
            self.ssl = True if ssl is None else ssl
            if self.ssl is False:  # insecure-skip-tls-verify
                import ssl as _ssl

                ctx = _ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = _ssl.CERT_NONE
                self.ssl = ctx
        else:
            self.ssl = None
        self.server_hostname = server_hostname if self.https else None
        self.connect_timeout = connect_timeout
        self._idle: deque[_Conn] = deque()

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        kw = {}
        if self.ssl is not None:
            kw["ssl"] = self.ssl
            if self.server_hostname:
                kw["server_hostname"] = self.server_hostname
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(_Conn, self.host, self.port, **kw), self.connect_timeout)
        except asyncio.TimeoutError:
            raise HTTPError(f"connecting to {self.host}:{self.port} timed out") from None
        except OSError as exc:
            raise HTTPError(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}") from None
        return conn

    def _take(self) -> _Conn | None:
        while self._idle:
            c = self._idle.pop()  # most recently used: least likely timed out
            if not c.closed and c.transport is not None and not c.transport.is_closing():
                c.reused = True
                return c
        return None

    def _put(self, conn: _Conn) -> None:
        if len(self._idle) >= IDLE_KEEP:
            conn.abort()
        else:
            self._idle.append(conn)

    def start(self, method: str, path: str, headers, body=None) -> Response | None:
        """Send a request now, without awaiting, if a pooled connection is idle.

        For the tunnel's hot path: the request leaves in the same event-loop
        step that received it. Returns None (nothing sent) when no connection
        is idle, the body is streamed, or the write fails; then use request().
        Hand the result to request(..., started=resp) to await its head.
        """
        if body is not None and not isinstance(body, (bytes, bytearray, memoryview)):
            return None
        conn = self._take()
        if conn is None:
            return None
        resp = Response(conn, self, method)
        conn.resp = resp
        try:
            self._send(conn, method, path, headers, body)
        except Exception:  # e.g. a header latin-1 cannot carry: request() reports it
            resp.close()
            return None
        return resp

    async def request(self, method: str, path: str, headers, body=None, started: Response | None = None) -> Response:
        """Send a request; returns once the response head has arrived.

        `body` is None, bytes, or an async iterator of bytes (streamed; sent
        chunked unless `headers` carry a Content-Length). `started`: the
        result of start() for the same request, already sent.
        """
        replayable = body is None or isinstance(body, (bytes, bytearray, memoryview))
        for attempt in (0, 1):
            if started is not None:
                resp, started = started, None
                conn = resp._conn
                sent = True
            else:
                # The retry takes a new connection: when the server drops idle
                # ones, the other pooled connections are as likely dead.
                conn = (self._take() if attempt == 0 else None) or await self._connect()
                resp = Response(conn, self, method)
                conn.resp = resp
                sent = False
            try:
                if not sent:
                    self._send(conn, method, path, headers, body)
                await resp._head_waiter
                return resp
            except (HTTPError, OSError) as exc:
                resp.close()
                # A pooled connection the server closed meanwhile fails before
                # any response byte: retry once on a fresh one if we can.
                if attempt == 0 and conn.reused and not resp._got_bytes and replayable:
                    continue
                raise exc if isinstance(exc, HTTPError) else HTTPError(str(exc)) from exc
            except BaseException:
                resp.close()
                raise
        raise AssertionError("unreachable")

    def _send(self, conn: _Conn, method: str, path: str, headers, body) -> None:
        t = conn.transport
        if t is None or conn.closed:
            raise HTTPError("connection lost")
        lines = [f"{method} {self.prefix}{path} HTTP/1.1\r\nHost: {self.host_header}\r\n"]
        has_length = False
        for k, v in headers:
            if k.lower() == "content-length":
                if isinstance(body, (bytes, bytearray, memoryview)):
                    continue  # we state the real length below
                has_length = True
            lines.append(f"{k}: {v}\r\n")
        if isinstance(body, (bytes, bytearray, memoryview)):
            if body or method in ("POST", "PUT", "PATCH"):
                lines.append(f"Content-Length: {len(body)}\r\n")
            lines.append("\r\n")
            t.write("".join(lines).encode("latin-1") + bytes(body))
            return
        if body is None:
            if method in ("POST", "PUT", "PATCH"):
                lines.append("Content-Length: 0\r\n")
            lines.append("\r\n")
            t.write("".join(lines).encode("latin-1"))
            return
        chunked = not has_length
        if chunked:
            lines.append("Transfer-Encoding: chunked\r\n")
        lines.append("\r\n")
        t.write("".join(lines).encode("latin-1"))
        # Stream the body concurrently with waiting for the head: the server
        # may answer (e.g. 403) before it has read everything.
        conn.resp.pump = asyncio.ensure_future(self._pump(conn, body, chunked))

    async def _pump(self, conn: _Conn, body, chunked: bool) -> None:
        try:
            async for chunk in body:
                if conn.closed:
                    return
                if chunk:
                    conn.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                    await conn.drain()
            if chunked and not conn.closed:
                conn.transport.write(b"0\r\n\r\n")
        except (HTTPError, asyncio.CancelledError):
            pass
        except Exception:
            conn.abort()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().abort()
