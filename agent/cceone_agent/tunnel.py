"""The agent's side of the tunnel: dial the hub, serve tunnelled requests.

The hub leg is an aiohttp WebSocket; the API-server leg an aiohttp
ClientSession with pooled keep-alive connections (upstream.py). Each
tunnelled request is a task running `_handle`; the frames, and flow control
in both directions, are the tunnel's shared code (cceone_tunnel).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import ssl

import aiohttp

from cceone_tunnel import flow
from cceone_tunnel import protocol as p

from . import __version__, upgrade
from .heartbeat import collect
from .kubeconfig import KubeTarget
from .upstream import Upstream, response_headers

log = logging.getLogger("cceone_agent")

_background: set[asyncio.Task] = set()
_NOT_FORWARDED = frozenset({"authorization"})


class HubRefused(Exception):
    """The hub answered the upgrade with an error (bad token, bad protocol)."""


class _Stream(flow.Stream):
    __slots__ = ("task",)

    def __init__(self, sid: int, window: int):
        super().__init__(sid, window)
        self.task: asyncio.Task | None = None


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
        self._live = 0  # tunnels serving (two while a drained one finishes its streams)
        self._retiring: set[asyncio.Task] = set()  # drained connections finishing their streams

    # -- lifecycle -------------------------------------------------------------------
    async def run(self) -> None:
        self._stopping = asyncio.Event()
        self.connected = asyncio.Event()
        self._kube = Upstream(self.kube)
        self._dialer = upgrade.UpstreamDialer(self._kube.base, self._kube.ssl, self._kube.server_hostname)
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
            if self._retiring:
                await asyncio.wait(set(self._retiring), timeout=self.shutdown_grace + 5)
            await hub_session.close()
            await self._kube.close()

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
        handed_over = False
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
            tunnel = _Tunnel(self, ws, settings)
            serving = asyncio.ensure_future(self._serve(tunnel))
            drained = asyncio.ensure_future(tunnel.drained.wait())
            try:
                await asyncio.wait((serving, drained), return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                serving.cancel()
                raise
            finally:
                drained.cancel()
            if serving.done():
                serving.result()
                return True
            # The hub replica is draining: dial again now (the load balancer sends us to another
            # replica) while this connection finishes its streams until the hub closes it.
            log.info("hub replica draining: connecting again; %d stream(s) finish on the old connection",
                     len(tunnel.streams))
            handed_over = True
            retiring = asyncio.ensure_future(self._retire(serving, ws))
            self._retiring.add(retiring)
            retiring.add_done_callback(self._retiring.discard)
            return True
        finally:
            if not handed_over and not ws.closed:
                await ws.close()

    async def _serve(self, tunnel: "_Tunnel") -> None:
        self._live += 1
        self.connected.set()
        try:
            await tunnel.serve()
        finally:
            self._live -= 1
            if not self._live:
                self.connected.clear()

    async def _retire(self, serving: asyncio.Task, ws) -> None:
        try:
            await serving
        except Exception as exc:
            log.info("drained connection ended: %s", _describe(exc))
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
        self.drained = asyncio.Event()  # the hub replica asked us to connect elsewhere (DRAIN)
        self._idle_expired = False

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
            st.task = asyncio.ensure_future(self._handle(st, head, bytes(body), bool(flags & p.FLAG_END)))
        elif ftype == p.DATA:
            st = self.streams.get(sid)
            if st is not None:
                st.received(len(payload))
                st.put((payload, bool(flags & p.FLAG_END)))
        elif ftype == p.WINDOW:
            n = p.parse_window(payload)
            st = self.streams.get(sid)
            if st is not None:
                st.add_credit(n)
        elif ftype == p.RESET:
            st = self.streams.pop(sid, None)
            if st is not None:
                st.end()
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
        elif ftype == p.DRAIN:
            self.drained.set()
        elif not flags & p.FLAG_IGNORABLE:
            raise p.ProtocolError(f"unexpected frame type {ftype:#04x}")

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

    async def _handle(self, st: _Stream, head: dict, body: bytes, end: bool) -> None:
        sid = st.sid
        try:
            if head.get("upgrade"):
                await self._upgrade(st, head)
                return
            method, path, headers = self._prepare(head)
            data = (body or None) if end else self._body(st, body)
            try:
                resp = await self.pool.request(method, path, headers, data)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                msg = f"agent cannot reach the Kubernetes API server: {_describe(exc)}"
                log.warning("%s %s: %s", method, path.split("?")[0], msg,
                            extra={"request_id": _request_id(headers)})
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
        except (aiohttp.ClientError, OSError) as exc:
            self.send_nowait(p.reset_frame(sid, p.RESET_UPSTREAM, _describe(exc)))
        except p.ProtocolError as exc:
            self.send_nowait(p.reset_frame(sid, p.RESET_PROTOCOL, str(exc)))
        except Exception as exc:  # a bug must cost one stream, not the agent
            log.exception("stream %s failed", sid)
            self.send_nowait(p.reset_frame(sid, p.RESET_UPSTREAM, _describe(exc)))
        finally:
            if self.streams.get(sid) is st:
                del self.streams[sid]

    async def _upgrade(self, st: _Stream, head: dict) -> None:
        """exec / attach / port-forward: dial the API server with the upgrade, then splice (upgrade.py)."""
        method, path, headers = self._prepare(head)
        dialer = self.agent._dialer
        try:
            reader, writer = await dialer.open()
        except (OSError, asyncio.TimeoutError) as exc:
            msg = f"agent cannot reach the Kubernetes API server: {_describe(exc)}"
            await self.send(p.head_frame(p.RESPONSE, st.sid, _status_head(), _status_body(502, msg), end=True))
            return
        try:
            writer.write(upgrade.request_head(method, dialer.prefix + path, headers, dialer.netloc, str(head["upgrade"])))
            status, resp_headers = await upgrade.read_head(reader)
            if status != 101:
                body = await upgrade.read_body(reader, resp_headers)
                kept = [(k, v) for k, v in p.strip_hop_by_hop(resp_headers) if k.lower() != "content-length"]
                await self.send(p.head_frame(p.RESPONSE, st.sid, {"status": status, "headers": kept}, body, end=True))
                return
            await self.send(p.head_frame(p.RESPONSE, st.sid, {"status": 101, "headers": p.strip_hop_by_hop(resp_headers)}))
            grown = st.grow(p.UPGRADE_WINDOW)
            if grown:
                await self.send(p.window_frame(st.sid, grown))
            await upgrade.splice(self, st, reader, writer)
        except asyncio.IncompleteReadError as exc:
            raise ConnectionError("the API server closed the connection during the upgrade") from exc
        finally:
            writer.close()

    async def _relay(self, st: _Stream, method: str, resp: aiohttp.ClientResponse) -> None:
        sid = st.sid
        head = {"status": resp.status, "headers": p.strip_hop_by_hop(response_headers(resp))}
        length = resp.content_length
        if method == "HEAD" or resp.status in (204, 304):
            await self.send(p.head_frame(p.RESPONSE, sid, head, end=True))
            return
        content = resp.content
        if length is not None and length <= p.MAX_INLINE:
            # Hot path: small complete answers travel as one frame; usually
            # the body came with the head, and is taken without a wait.
            body = content.read_nowait() if content.is_eof() else await content.read()
            await self.send(p.head_frame(p.RESPONSE, sid, head, body, end=True))
            return
        await self.send(p.head_frame(p.RESPONSE, sid, head))
        pack = p.HEADER.pack
        while True:
            # Forward whatever arrived (a watch event) without waiting to
            # fill a buffer. While we wait for credit, aiohttp stops reading
            # the API server once its buffer is full: TCP pushes back.
            chunk = await content.readany()
            if not chunk:
                break
            view = memoryview(chunk)
            while view:
                n = await st.take_credit(len(view))
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
                inc = st.consumed(len(data))
                if inc:
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
                if st.task is not None:
                    st.task.cancel()
        except ConnectionError:
            pass
        await self.ws.close(code=1000, message=b"agent shutting down")


def _request_id(headers: list) -> str:
    """The console's (or the hub's) id of a tunnelled request: X-Request-ID."""
    return next((v for k, v in headers if k.lower() == "x-request-id"), "")


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
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or exc.os_error
        return f"cannot connect to {exc.host}:{exc.port}: {reason}"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
