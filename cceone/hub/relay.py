"""One tunnelled exchange on the internal listener, driven by callbacks.

The internal listener's counterpart of proxy.forward (which serves the
aiohttp-based public listener): same frames, same errors, same flow
control, but no task. The HTTP side (http1.GatewayConnection) calls
`body`/`body_end`/`writable`/`abort`; the agent side (HubStream with this
object as its listener) calls `stream_item`/`stream_credit` from the
connection's reader.

Flow control, both ways:
- response body: bytes go to the client's socket at once; the credit for
  them goes back to the agent only while that socket is not backed up
  (`writable` releases what was held), so a client that stops reading
  stops the agent after one window;
- request body (streamed uploads): DATA within the agent's credit; what
  does not fit waits here and the client is not read until credit comes.
"""

from __future__ import annotations

import logging
from collections import deque

from . import protocol as p
from .connection import LOST, AgentConnection, StreamBroken
from .http1 import Exchange, GatewayConnection, Request
from .proxy import status_body

# Framing the HTTP server states itself, besides the hop-by-hop headers.
_FRAMING = frozenset({"content-length"})
log = logging.getLogger("cceone.hub")
_JSON = [("Content-Type", "application/json")]


def respond_status(http: GatewayConnection, code: int, reason: str, message: str) -> None:
    http.respond(code, _JSON, status_body(code, reason, message))


class TunnelExchange(Exchange):
    __slots__ = (
        "http", "req", "conn", "st", "cluster_id", "method", "started", "head_written", "pending", "body_ended", "end_sent", "held",
        "done", "owed",
    )

    def __init__(self, http: GatewayConnection, req: Request, conn: AgentConnection, cluster_id: str, path: str, headers: list):
        self.http = http
        self.req = req
        self.conn = conn
        self.cluster_id = cluster_id
        self.method = req.method
        self.started = False  # the agent's response head has arrived
        self.head_written = False  # ... and went to the client
        self.pending: deque = deque()  # request body waiting for credit
        self.body_ended = False  # the client's body is complete
        self.end_sent = False  # ... and its END went to the agent
        self.held = 0  # response bytes written while the client was backed up: credit not yet returned
        self.done = False
        self.owed: int | None = None  # body bytes still due when the agent stated a length
        self.st = conn.open_stream(listener=self)
        head = {"method": req.method, "path": path, "headers": headers}
        streamed = req.streams_body
        body = b"" if streamed else b"".join(req.body)
        try:
            conn.write(p.head_frame(p.REQUEST, self.st.sid, head, body, end=not streamed))
        except StreamBroken:
            self._fail("agent connection lost")

    # -- request body (HTTP side) ---------------------------------------------------------
    def body(self, chunk: bytes) -> None:
        if self.done:
            return
        self.pending.append(memoryview(chunk))
        self._flush_body()

    def body_end(self) -> None:
        if self.done:
            return
        self.body_ended = True
        self._flush_body()

    def _flush_body(self) -> None:
        if self.end_sent:
            return
        st, pending = self.st, self.pending
        try:
            while pending:
                view = pending[0]
                n = min(len(view), st.credit, p.MAX_DATA)
                if n <= 0:
                    self.http.pause_reading()  # until the agent grants credit
                    return
                st.credit -= n
                self.conn.write(p.frame(p.DATA, st.sid, view[:n]))
                if n == len(view):
                    pending.popleft()
                else:
                    pending[0] = view[n:]
            if self.body_ended:
                self.end_sent = True
                self.conn.write(p.frame(p.DATA, st.sid, b"", p.FLAG_END))
            else:
                self.http.resume_reading()
        except StreamBroken:
            pass  # the stream's LOST item reports it to the client

    def stream_credit(self) -> None:
        if not self.done:
            self._flush_body()

    # -- response (agent side) --------------------------------------------------------------
    def stream_item(self, item: tuple) -> None:
        if self.done:
            return
        try:
            self._item(item)
        except Exception:  # e.g. a header the client's encoding cannot carry
            # Called from the agent connection's reader: a bad answer must
            # cost this request, not every request on the connection.
            log.exception("cluster %s: cannot relay the agent's answer", self.cluster_id)
            if not self.done:
                self._finish()
            if self.http.active is self.req:
                if self.head_written:
                    self.http.abort()
                else:
                    respond_status(self.http, 502, "InternalError", f"cluster {self.cluster_id}: the agent's answer could not be relayed")

    def _item(self, item: tuple) -> None:
        kind = item[0]
        if kind == p.DATA:
            if not self.started:
                self._fail("agent sent body before response head")
                return
            data, end = item[1], item[2]
            http = self.http
            owed = self.owed
            if owed is not None and (len(data) > owed or (end and len(data) < owed)):
                # More or less than the agent announced: on a kept-alive
                # connection that would spill into (or eat) the next answer.
                self._fail("agent sent a body of another length than it announced")
                return
            if data:
                http.write_body(data)
                if owed is not None:
                    self.owed = owed - len(data)
                if http.write_paused:
                    self.held += len(data)
                else:
                    self.st.consumed(len(data))
            if end:
                self._finish()
                http.end_response()
        elif kind == p.RESPONSE:
            self._response(item)
        elif kind == p.RESET:
            self._fail(f"agent reset the request ({item[1]}: {item[2]})")
        elif kind == LOST:
            self._fail(item[1])

    def _response(self, item: tuple) -> None:
        if self.started:
            self._fail("agent sent a second response head")
            return
        _, status, headers, body, end = item
        http = self.http
        self.started = True
        if end or self.method == "HEAD" or status in (204, 304):
            # The whole answer in one frame: the common case.
            # A HEAD's or 304's Content-Length describes the body they stand for.
            describes = self.method == "HEAD" or status == 304
            keep = p.strip_hop_by_hop(headers) if describes else p.strip_hop_by_hop(headers, _FRAMING)
            self._finish()
            http.respond(status, keep, bytes(body))
            self.head_written = True
            return
        length = None
        for name, value in headers:
            if name.lower() == "content-length":
                value = value.strip()
                length = int(value) if value.isascii() and value.isdigit() else None  # else: sent chunked
        if length is not None and len(body) > length:
            self._fail("agent sent a body of another length than it announced")
            return
        http.start_response(status, p.strip_hop_by_hop(headers, _FRAMING), length)
        self.head_written = True
        self.owed = None if length is None else length - len(body)
        if body:
            http.write_body(bytes(body))

    def writable(self) -> None:
        if self.held and not self.done:
            n, self.held = self.held, 0
            self.st.consumed(n)

    # -- endings ---------------------------------------------------------------------------
    def _fail(self, reason: str) -> None:
        if self.done:
            return
        written = self.head_written
        self._finish()
        if not written:
            respond_status(self.http, 502, "InternalError", f"cluster {self.cluster_id}: {reason}")
        else:
            # The head is out, so no error status is possible any more: cut
            # the connection so the client sees a truncated body, not a
            # clean end it would trust.
            self.http.abort()

    def _finish(self) -> None:
        self.done = True
        self.pending.clear()
        self.conn.forget(self.st)  # RESETs the agent's side unless it had ended

    def abort(self) -> None:
        """The client went away."""
        if not self.done:
            self._finish()
