"""The agent's side of the tunnel: dial the hub, serve tunnelled requests.

The hub leg is an aiohttp WebSocket; the API-server leg is a lean pooled
HTTP/1.1 client (http1.py) so a tunnelled GET costs no new TCP/TLS
handshake and little CPU. A complete request on an idle pooled connection
is answered without a task: it goes upstream from the frame's dispatch,
and a small complete answer goes back to the hub from the upstream
connection's callback (`_answer_from_callback`); anything else (a new
connection, a streamed body, a stale pooled connection to retry, a long or
unbounded answer) is handed to a task running `_handle`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import random
import socket
import ssl
from collections import deque

import aiohttp

from . import __version__
from . import protocol as p
from .heartbeat import collect
from .http1 import HTTPError, Pool
from .kubeconfig import KubeTarget

log = logging.getLogger("cceone_agent")

_background: set[asyncio.Task] = set()
_NOT_FORWARDED = frozenset({"authorization"})


class HubRefused(Exception):
    """The hub answered the upgrade with an error (bad token, bad protocol)."""


class _Stream:
    __slots__ = ("sid", "task", "upstream", "_items", "_waiter", "credit", "_credit_waiter", "recv_credit", "unacked")

    def __init__(self, sid: int, credit: int):
        self.sid = sid
        self.task: asyncio.Task | None = None
        # Upstream request already sent by the reader (fast path) until the
        # stream's task takes it over; whoever cancels a task that never ran
        # must close it.
        self.upstream = None
        self._items: deque = deque()
        self._waiter: asyncio.Future | None = None
        self.credit = credit
        self._credit_waiter: asyncio.Future | None = None
        self.recv_credit = credit  # request-body bytes the hub may still send
        self.unacked = 0

    def feed(self, data, end: bool) -> None:
        self._items.append((data, end))
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def get(self):
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def add_credit(self, n: int) -> None:
        self.credit += n
        w = self._credit_waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def wait_credit(self) -> None:
        while self.credit <= 0:
            self._credit_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._credit_waiter
            finally:
                self._credit_waiter = None


class Agent:
    def __init__(
        self,
        hub_url: str,
        token,
        kube: KubeTarget,
        *,
        ca_file: str | None = None,
        insecure_hub: bool = False,
        heartbeat_interval: float = 30.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        shutdown_grace: float = 5.0,
        instance: str | None = None,
    ):
        self.hub_url = _connect_url(hub_url)
        self._token = token if callable(token) else (lambda: token)
        self.kube = kube
        self.heartbeat_interval = heartbeat_interval
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.shutdown_grace = shutdown_grace
        self.instance = instance or os.environ.get("POD_NAME") or socket.gethostname()
        if self.hub_url.startswith("wss://"):
            self._hub_ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file)
            if insecure_hub:
                self._hub_ssl = False
        else:
            self._hub_ssl = False
        self._stopping: asyncio.Event | None = None
        self.connected: asyncio.Event | None = None  # set while a tunnel is up
        self.connections = 0  # successful connections so far

    # -- lifecycle -------------------------------------------------------------------
    async def run(self) -> None:
        self._stopping = asyncio.Event()
        self.connected = asyncio.Event()
        # Bytes pass through untouched: no decompression, no added headers.
        self._kube = Pool(self.kube.server, ssl=self.kube.ssl, server_hostname=self.kube.server_hostname)
        # trust_env: clusters often reach the internet only via HTTPS_PROXY.
        hub_session = aiohttp.ClientSession(trust_env=True, cookie_jar=aiohttp.DummyCookieJar())
        attempt = 0
        try:
            while not self._stopping.is_set():
                ok = False
                try:
                    ok = await self._session(hub_session)
                except HubRefused as exc:
                    log.error("hub refused the agent: %s", exc)
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError, p.ProtocolError) as exc:
                    log.warning("hub connection failed: %s", _describe(exc))
                if self._stopping.is_set():
                    break
                # Full jitter: thousands of agents cut off by a hub restart must
                # not come back in lockstep.
                attempt = 0 if ok else attempt + 1
                delay = random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))
                log.info("reconnecting in %.2fs", delay)
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                except asyncio.TimeoutError:
                    pass
        finally:
            await hub_session.close()
            self._kube.close()

    def stop(self) -> None:
        """Begin a graceful shutdown (safe to call from a signal handler)."""
        if self._stopping is not None:
            self._stopping.set()

    # -- one connection --------------------------------------------------------------
    async def _session(self, hub_session: aiohttp.ClientSession) -> bool:
        headers = {
            "Authorization": f"Bearer {self._token()}",
            "X-CCEOne-Agent-Version": __version__,
            "X-CCEOne-Agent-Instance": self.instance,
        }
        try:
            ws = await hub_session.ws_connect(
                self.hub_url,
                headers=headers,
                protocols=(p.SUBPROTOCOL,),
                ssl=self._hub_ssl,
                max_msg_size=p.MAX_MESSAGE,
                compress=0,
                autoping=True,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (400, 401, 403):
                raise HubRefused(f"HTTP {exc.status} {exc.message}") from None
            raise
        try:
            if ws.protocol != p.SUBPROTOCOL:
                raise HubRefused(f"hub does not speak {p.SUBPROTOCOL}")
            msg = await ws.receive(timeout=15)
            if msg.type is not aiohttp.WSMsgType.BINARY:
                raise p.ProtocolError(f"expected SETTINGS, got {msg.type.name}")
            ftype, _, _, payload = p.parse(msg.data)
            if ftype != p.SETTINGS:
                raise p.ProtocolError(f"expected SETTINGS, got frame type {ftype:#x}")
            settings = p.parse_json(payload)
            self.connections += 1
            log.info("connected to hub as %s", settings.get("connection_id"))
            self.connected.set()
            try:
                await _Tunnel(self, ws, settings).serve()
            finally:
                self.connected.clear()
            return True
        finally:
            if not ws.closed:
                await ws.close()


class _Tunnel:
    def __init__(self, agent: Agent, ws: aiohttp.ClientWebSocketResponse, settings: dict):
        self.agent = agent
        self.ws = ws
        self.kube = agent.kube
        self.pool = agent._kube
        self.window = int(settings.get("initial_window", p.DEFAULT_WINDOW))
        hub_hb = float(settings.get("heartbeat_interval", agent.heartbeat_interval))
        self.heartbeat_interval = min(agent.heartbeat_interval, hub_hb)
        # The hub pings every ping_interval; three missed pings mean the path
        # is dead even if TCP has not noticed (NAT timeout, partition).
        self.idle_timeout = 3 * float(settings.get("ping_interval", hub_hb / 2)) + 1
        self.streams: dict[int, _Stream] = {}
        self.received = 0  # messages from the hub, for the idle watchdog
        self._idle_expired = False
        self.write_now = _sync_frame_writer(ws)

    # -- sending -----------------------------------------------------------------------
    async def send(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    def send_nowait(self, data: bytes) -> None:
        # Frames the reader must emit (PONG) go out via a task: the reader
        # must never block on a full socket (see the hub's connection.py).
        t = asyncio.ensure_future(self._send_quiet(data))
        _background.add(t)
        t.add_done_callback(_background.discard)

    async def _send_quiet(self, data: bytes) -> None:
        try:
            await self.ws.send_bytes(data)
        except Exception:
            pass

    # -- main loop ---------------------------------------------------------------------
    async def serve(self) -> None:
        reader = asyncio.current_task()
        hb = asyncio.ensure_future(self._heartbeats())
        watcher = asyncio.ensure_future(self._shutdown_on_stop())
        idle = asyncio.ensure_future(self._idle_watchdog(reader))
        receive = self.ws.receive
        binary = aiohttp.WSMsgType.BINARY
        try:
            while True:
                try:
                    # No per-message timeout: arming and cancelling a timer for
                    # every frame costs as much as handling it; the watchdog
                    # below cancels this read when the hub has gone silent.
                    msg = await receive()
                except asyncio.CancelledError:
                    if self._idle_expired and reader.uncancel() == 0:
                        log.warning("no traffic from hub for %.1fs, reconnecting", self.idle_timeout)
                        return
                    raise
                self.received += 1
                if msg.type is binary:
                    try:
                        self._dispatch(msg.data)
                    except p.ProtocolError as exc:
                        log.error("protocol error from hub: %s", exc)
                        await self.ws.close(code=1002, message=str(exc).encode()[:120])
                        return
                elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                    if not self.agent._stopping.is_set():
                        log.info("hub closed the connection (code %s)", self.ws.close_code)
                    return
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    log.warning("hub connection error: %s", self.ws.exception())
                    return
        finally:
            hb.cancel()
            watcher.cancel()
            idle.cancel()
            streams = list(self.streams.values())
            self.streams.clear()
            tasks = []
            for s in streams:
                if s.upstream is not None:  # started, but its task never ran
                    s.upstream.close()
                if s.task is not None:
                    s.task.cancel()
                    tasks.append(s.task)
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _idle_watchdog(self, reader: asyncio.Task) -> None:
        """Cancel the read loop when nothing arrived for idle_timeout."""
        period = self.idle_timeout / 4
        silent, seen = 0.0, self.received
        while True:
            await asyncio.sleep(period)
            if self.received != seen:
                silent, seen = 0.0, self.received
                continue
            silent += period
            if silent >= self.idle_timeout:
                self._idle_expired = True
                reader.cancel()
                return

    def _dispatch(self, data: bytes) -> None:
        ftype, flags, sid, payload = p.parse(data)
        if ftype == p.REQUEST:
            if sid in self.streams or sid == 0:
                raise p.ProtocolError(f"REQUEST reuses stream {sid}")
            head, body = p.parse_head(payload)
            st = _Stream(sid, self.window)
            self.streams[sid] = st
            body = bytes(body)
            end = bool(flags & p.FLAG_END)
            req = None
            if end:
                # Fast path: a complete request goes upstream right now on a
                # pooled connection instead of one loop step later in its
                # task. Anything odd is left to the task, which reports it
                # on this stream only.
                try:
                    req = self._prepare(head)
                    st.upstream = self.pool.start(req[0], req[1], req[2], body or None)
                except Exception:  # e.g. bad head, unreadable token file
                    req = None
                if st.upstream is not None and self.write_now is not None:
                    st.upstream.watcher = functools.partial(self._answer_from_callback, st, head, body, req)
                    return
            st.task = asyncio.ensure_future(self._handle(st, head, body, end, req))
        elif ftype == p.DATA:
            st = self.streams.get(sid)
            if st is not None:
                st.recv_credit -= len(payload)
                if st.recv_credit < 0:
                    raise p.ProtocolError(f"stream {sid} exceeded its flow-control window")
                st.feed(payload, bool(flags & p.FLAG_END))
        elif ftype == p.WINDOW:
            n = p.parse_window(payload)
            st = self.streams.get(sid)
            if st is not None:
                st.add_credit(n)
        elif ftype == p.RESET:
            st = self.streams.pop(sid, None)
            if st is not None:
                if st.upstream is not None:  # its task has not run yet
                    st.upstream.close()
                    st.upstream = None
                if st.task is not None:
                    st.task.cancel()
        elif ftype == p.PING:
            if len(payload) > 64:
                raise p.ProtocolError("PING payload too large")
            self.send_nowait(p.frame(p.PONG, 0, bytes(payload)))
        elif ftype == p.PONG:
            pass
        elif ftype == p.SETTINGS:
            pass  # only the first one matters in v1
        elif not flags & p.FLAG_IGNORABLE:
            raise p.ProtocolError(f"unexpected frame type {ftype:#04x}")

    def _answer_from_callback(self, st: _Stream, head: dict, body: bytes, req: tuple, resp) -> None:
        """Upstream news for a request sent from _dispatch (Response.watcher)."""
        if self.streams.get(st.sid) is not st:  # reset meanwhile; its upstream is closed
            resp.watcher = None
            return
        if resp.complete:  # a small answer (or none, for HEAD, 204, 304) is all here
            resp.watcher = None
            st.upstream = None
            del self.streams[st.sid]
            answer = {"status": resp.status, "headers": p.strip_hop_by_hop(resp.headers)}
            frame = p.head_frame(p.RESPONSE, st.sid, answer, resp.take_body(), end=True)
            if self.ws.closed:
                return  # our close frame is out: nothing may follow it
            try:
                self.write_now(frame)
            except ConnectionError:
                pass  # the tunnel is going away; its reader cleans up
            return
        length = resp.content_length
        if resp.failed or length is None or length > p.MAX_INLINE:
            # A stale pooled connection (the task retries it), or an answer
            # to stream: the task takes over the request already sent.
            resp.watcher = None
            st.task = asyncio.ensure_future(self._handle(st, head, body, True, req))
        # else: the head of a small answer; its body follows

    # -- one tunnelled request ----------------------------------------------------------
    def _prepare(self, head: dict) -> tuple[str, str, list]:
        """(method, path, headers) to send upstream for a REQUEST head."""
        method = str(head.get("method", "GET"))
        path = str(head.get("path", "/"))
        if not path.startswith("/"):
            raise p.ProtocolError("path must start with /")
        # The caller's credentials never reach the API server: the agent's own do.
        headers = p.strip_hop_by_hop(p.parse_headers(head.get("headers", [])), _NOT_FORWARDED)
        auth = self.kube.auth_header()
        if auth:
            headers.append(("Authorization", auth))
        return method, path, headers

    async def _handle(self, st: _Stream, head: dict, body: bytes, end: bool, req=None) -> None:
        sid = st.sid
        started, st.upstream = st.upstream, None
        try:
            method, path, headers = req if req is not None else self._prepare(head)
            data = (body or None) if end else self._body(st, body)
            try:
                resp = await self.pool.request(method, path, headers, data, started)
            except HTTPError as exc:
                msg = f"agent cannot reach the Kubernetes API server: {_describe(exc)}"
                await self.send(p.head_frame(p.RESPONSE, sid, _status_head(), _status_body(502, msg), end=True))
                return
            try:
                await self._relay(st, method, resp)
            except BaseException:
                resp.close()  # unread body: drop the upstream connection, never pool it
                raise
            resp.release()
        except asyncio.CancelledError:
            pass  # RESET from the hub, or the tunnel is going away
        except (HTTPError, OSError) as exc:
            self.send_nowait(p.reset_frame(sid, p.RESET_UPSTREAM, _describe(exc)))
        except p.ProtocolError as exc:
            self.send_nowait(p.reset_frame(sid, p.RESET_PROTOCOL, str(exc)))
        except Exception as exc:  # a bug must cost one stream, not the agent
            log.exception("stream %s failed", sid)
            self.send_nowait(p.reset_frame(sid, p.RESET_UPSTREAM, _describe(exc)))
        finally:
            if self.streams.get(sid) is st:
                del self.streams[sid]

    async def _relay(self, st: _Stream, method: str, resp) -> None:
        sid = st.sid
        head = {"status": resp.status, "headers": p.strip_hop_by_hop(resp.headers)}
        length = resp.content_length
        if method == "HEAD" or resp.status in (204, 304):
            await self.send(p.head_frame(p.RESPONSE, sid, head, end=True))
            return
        if length is not None and length <= p.MAX_INLINE:
            # Hot path: small complete answers travel as one frame.
            body = await resp.read()
            await self.send(p.head_frame(p.RESPONSE, sid, head, body, end=True))
            return
        await self.send(p.head_frame(p.RESPONSE, sid, head))
        pack = p.HEADER.pack
        while True:
            # Forward whatever arrived (a watch event) without waiting to
            # fill a buffer.
            chunk = await resp.read_chunk()
            if not chunk:
                break
            view = memoryview(chunk)
            while view:
                if st.credit <= 0:
                    await st.wait_credit()
                n = min(len(view), st.credit, p.MAX_DATA)
                st.credit -= n
                await self.send(pack(p.DATA, 0, sid) + view[:n])
                view = view[n:]
        await self.send(pack(p.DATA, p.FLAG_END, sid))

    async def _body(self, st: _Stream, first: bytes):
        """Request body from DATA frames, returning credit as it is consumed."""
        if first:
            yield first
        while True:
            data, end = await st.get()
            if data:
                yield bytes(data)
                st.unacked += len(data)
                if st.unacked >= self.window >> 2:
                    inc, st.unacked = st.unacked, 0
                    st.recv_credit += inc
                    await self.send(p.window_frame(st.sid, inc))
            if end:
                return

    # -- heartbeats and shutdown -------------------------------------------------------------
    async def _heartbeats(self) -> None:
        while True:
            try:
                facts = await asyncio.wait_for(collect(self.pool, self.kube), max(self.heartbeat_interval, 1.0) * 2)
            except asyncio.TimeoutError:
                facts = {"agent_version": __version__, "kubernetes": None, "nodes": None, "pod_requests": None, "errors": ["collection timed out"]}
            try:
                await self.send(p.json_frame(p.HEARTBEAT, 0, facts))
            except ConnectionError:
                return
            await asyncio.sleep(self.heartbeat_interval)

    async def _shutdown_on_stop(self) -> None:
        await self.agent._stopping.wait()
        log.info("shutting down: draining %d stream(s)", len(self.streams))
        try:
            await self.send(p.frame(p.GOAWAY, 0))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.agent.shutdown_grace
            while self.streams and loop.time() < deadline:
                await asyncio.sleep(0.05)
            for st in list(self.streams.values()):
                if self.streams.get(st.sid) is not st:
                    continue  # answered while an earlier RESET waited for the socket
                # Tell the hub first so it ends the client's response cleanly
                # as an error instead of waiting for the socket to drop.
                await self.send(p.reset_frame(st.sid, p.RESET_SHUTDOWN, "agent shutting down"))
                self.streams.pop(st.sid, None)
                if st.upstream is not None:  # answered from a callback: no task to cancel
                    st.upstream.watcher = None
                    st.upstream.close()
                if st.task is not None:
                    st.task.cancel()
        except ConnectionError:
            pass
        await self.ws.close(code=1000, message=b"agent shutting down")


def _sync_frame_writer(ws):
    """A function writing one binary frame now, or None.

    aiohttp's public send_bytes() is a coroutine; answering from a protocol
    callback needs the synchronous frame writer underneath it (private API,
    present in the aiohttp versions this package allows). Without it the
    agent answers from tasks, as for every streamed response.
    """
    write = getattr(getattr(ws, "_writer", None), "_write_websocket_frame", None)
    if not callable(write):
        return None
    return functools.partial(_write_binary, write)


def _write_binary(write, data) -> None:
    write(data, aiohttp.WSMsgType.BINARY, 0)


def _status_head() -> dict:
    return {"status": 502, "headers": [["Content-Type", "application/json"]]}


def _status_body(code: int, message: str) -> bytes:
    return json.dumps(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": code}
    ).encode()


def _connect_url(hub: str) -> str:
    """The WebSocket URL to dial, from what the operator gave as --hub.

    The product hands out the bare base (`wss://hub.example.com:9443`); the
    full `.../agent/connect` URL, `https://`/`http://` spellings and a path
    prefix (hub behind a reverse proxy) work too. No scheme means wss.
    """
    from urllib.parse import urlsplit, urlunsplit

    hub = hub.strip()
    if "://" not in hub:
        hub = "wss://" + hub
    u = urlsplit(hub)
    scheme = {"https": "wss", "http": "ws"}.get(u.scheme.lower(), u.scheme.lower())
    if scheme not in ("ws", "wss"):
        raise ValueError(f"hub URL must be wss://HOST[:PORT] (got {hub!r})")
    if not u.hostname:
        raise ValueError(f"hub URL has no host: {hub!r}")
    path = u.path.rstrip("/")
    if not path.endswith("/agent/connect"):
        path += "/agent/connect"
    return urlunsplit((scheme, u.netloc, path, u.query, ""))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, HTTPError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
