"""Several hub replicas behind one load-balanced address.

An agent connects to whichever replica the load balancer gives it; a request (the
gateway's, on the internal listener, or a kubeconfig's, on the public one) may reach any
other. What joins them:

* **The routing directory** (Redis): `<prefix>route:<cluster>` = `<epoch>|<replica>|<address>`,
  written by the replica an agent connects to, with a fresh epoch from the counter
  `<prefix>epoch:<cluster>` (an agent that reconnects elsewhere takes the entry over), its
  TTL (three heartbeat windows) refreshed by the agent's heartbeats only while the entry is
  still this replica's. A replica that dies loses its entries by TTL; its agents reconnect
  through the load balancer (jittered backoff) and take them over before that.
  Live replicas are the members of the sorted set `<prefix>replicas` (score: last seen).
* **The replica link**: a request for a cluster whose tunnel this replica does not hold is
  forwarded to the holder's internal listener (authenticated with the hub secret every
  replica shares), one hop at most (`X-CCEOne-Replica-Hop` names the replica that forwarded
  it; the holder never forwards it again), streamed both ways (a watch stays open; TCP's
  backpressure carries the client's pace to the holder, whose tunnel credit stops the agent).
  While the holder cannot be reached, or no replica holds the cluster, the answer is `503`
  with `Retry-After`: the agent is reconnecting.
* **Commands**: a disconnect (revocation, a rotated token's end) is sent to every live
  replica, so it reaches whichever holds the tunnels.

Only Redis operations with a single key or a Lua script over one cluster's two keys: no
home-made locking. Without a Redis URL none of this exists and the hub is one process as
before (`Hub(replicas=None)`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from yarl import URL

from cceone_tunnel import protocol as p

from .proxy import _offers_h2c, forward, status_response
from .upgrade import upgrade_token

log = logging.getLogger("cceone.hub")

HOP_HEADER = "X-CCEOne-Replica-Hop"
# A forwarded request reached a replica that does not hold the cluster (the route moved):
# the forwarding replica looks the route up again and tries the new holder once.
NOT_HOLDER_HEADER = "X-CCEOne-Not-Holder"
ROUTE_CACHE_SECONDS = 1.0
MOVE_WAIT = 5.0  # how long a request waits for an agent moving between replicas
SMALL_BODY = 1 << 20
SECRET_HEADER = "X-Hub-Secret"
RETRY_AFTER_SECONDS = 2
ROUTE_TTL_WINDOWS = 3
CONNECT_TIMEOUT = 2.0
_AUTO = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

# Claim the route now (an agent connected here): a new epoch, this replica, the TTL.
_CLAIM = """
local e = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], e .. '|' .. ARGV[1], 'PX', ARGV[2])
return e
"""
# A heartbeat here: keep the route alive while it is ours; claim it again if it lapsed;
# leave it alone if another replica took it over (0).
_REFRESH = """
local v = redis.call('GET', KEYS[1])
if not v then
  local e = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], e .. '|' .. ARGV[1], 'PX', ARGV[2])
  return e
end
local sep = string.find(v, '|', 1, true)
if string.sub(v, sep + 1) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(v, 1, sep - 1))
end
return 0
"""
# The cluster is gone from here: drop the route only if it is still ours.
_RELEASE = """
local v = redis.call('GET', KEYS[1])
if v then
  local sep = string.find(v, '|', 1, true)
  if string.sub(v, sep + 1) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
  end
end
return 0
"""


@dataclass(frozen=True)
class Route:
    epoch: int
    replica: str
    address: str  # the holder's internal listener, http://host:port

    @classmethod
    def parse(cls, value: bytes | str) -> "Route | None":
        text = value.decode() if isinstance(value, bytes) else value
        parts = text.split("|", 2)
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        return cls(int(parts[0]), parts[1], parts[2])


class RoutingTable:
    """The routing directory in Redis (see the module docstring)."""

    def __init__(self, redis_url: str, prefix: str, replica_id: str, max_connections: int = 32):
        from redis import asyncio as aioredis

        self.prefix = prefix
        self.replica_id = replica_id
        self.address = ""
        self.ttl_ms = 90_000
        pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=max_connections, timeout=10)
        self.redis = aioredis.Redis(connection_pool=pool)
        self._claim = self.redis.register_script(_CLAIM)
        self._refresh = self.redis.register_script(_REFRESH)
        self._release = self.redis.register_script(_RELEASE)

    @property
    def holder(self) -> str:
        return f"{self.replica_id}|{self.address}"

    def _keys(self, cluster_id: str) -> list[str]:
        return [f"{self.prefix}route:{cluster_id}", f"{self.prefix}epoch:{cluster_id}"]

    async def claim(self, cluster_id: str) -> int:
        return int(await self._claim(keys=self._keys(cluster_id), args=[self.holder, self.ttl_ms]))

    async def refresh(self, cluster_id: str) -> int:
        return int(await self._refresh(keys=self._keys(cluster_id), args=[self.holder, self.ttl_ms]))

    async def release(self, cluster_id: str) -> bool:
        return bool(await self._release(keys=self._keys(cluster_id), args=[self.holder]))

    async def lookup(self, cluster_id: str) -> Route | None:
        value = await self.redis.get(f"{self.prefix}route:{cluster_id}")
        return Route.parse(value) if value else None

    async def announce(self) -> None:
        key = f"{self.prefix}replicas"
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {self.holder: now})
        pipe.zremrangebyscore(key, "-inf", now - 10 * self.ttl_ms / 1000)  # long gone
        await pipe.execute()

    async def withdraw(self) -> None:
        await self.redis.zrem(f"{self.prefix}replicas", self.holder)

    async def live_replicas(self) -> list[tuple[str, str]]:
        """(id, address) of every replica seen within a route's TTL, this one included."""
        members = await self.redis.zrangebyscore(f"{self.prefix}replicas", time.time() - self.ttl_ms / 1000, "+inf")
        out = []
        for m in members:
            replica, _, address = (m.decode() if isinstance(m, bytes) else m).partition("|")
            out.append((replica, address))
        return out

    async def close(self) -> None:
        await self.redis.aclose()


class RoutedDirectory:
    """The product's directory, with the routing directory kept beside it: an agent connected
    here claims its cluster's route, its heartbeats refresh it, its loss releases it.

    A cluster whose agent moved to another replica is not reported lost by this one (the
    product would mark a running cluster disconnected): only the replica holding the route
    speaks for it. Redis failures are logged, never raised into the product's notifications.
    """

    def __init__(self, inner, routes: RoutingTable):
        self._inner = inner
        self._routes = routes

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def _quietly(self, what: str, coro):
        try:
            return await coro
        except Exception as exc:  # Redis down: requests fall back to 503, agents keep working here
            log.warning("routing directory: %s failed: %s", what, exc)
            return None

    async def agent_connected(self, cluster_id, conn_info) -> None:
        await self._quietly("claim", self._routes.claim(cluster_id))
        await self._inner.agent_connected(cluster_id, conn_info)

    async def agent_joined(self, cluster_id, conn_info) -> None:
        await self._quietly("claim", self._routes.claim(cluster_id))
        joined = getattr(self._inner, "agent_joined", None)
        if joined is not None:
            await joined(cluster_id, conn_info)

    async def heartbeat(self, cluster_id, facts) -> None:
        await self._quietly("refresh", self._routes.refresh(cluster_id))
        await self._inner.heartbeat(cluster_id, facts)

    async def agent_lost(self, cluster_id) -> None:
        route = await self._quietly("lookup", self._routes.lookup(cluster_id))
        if route is not None and route.replica != self._routes.replica_id:
            log.info("cluster %s: agent now on replica %s (epoch %d), not lost", cluster_id, route.replica, route.epoch)
            return
        await self._quietly("release", self._routes.release(cluster_id))
        await self._inner.agent_lost(cluster_id)


def retry_later(cluster_id: str, message: str | None = None, not_holder: bool = False) -> web.Response:
    response = status_response(503, "ServiceUnavailable",
                               message or f"cluster {cluster_id} is disconnected (no agent connected)")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if not_holder:
        response.headers[NOT_HOLDER_HEADER] = "1"
    return response


class Replicas:
    """This replica's part in a set of replicas: pass one to `Hub(replicas=...)`.

    redis_url   the routing directory's Redis (a db of its own, or a `prefix` of its own)
    replica_id  unique per replica (default: host name and a random suffix)
    advertise   the URL other replicas reach this one's internal listener at (default: its
                bound address; bind it to the pod's address, not loopback, to be reachable)
    """

    def __init__(self, redis_url: str, *, replica_id: str | None = None, advertise: str | None = None,
                 prefix: str = "cceone:hub:"):
        self.replica_id = replica_id or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"
        self.advertise = advertise
        self.routes = RoutingTable(redis_url, prefix, self.replica_id)
        self.secret = ""
        self.forwarded_total = 0
        self.forwarding = 0  # requests being relayed to another replica now
        self._ending = False  # a drain's deadline ended the streams relayed from others
        self._relaying: set = set()  # upstream responses being relayed now
        self._cache: dict[str, tuple[Route, float]] = {}  # cluster -> (route, until): a hot path
        self._session: aiohttp.ClientSession | None = None
        self._announcer: asyncio.Task | None = None
        self._interval = 10.0

    def wrap(self, directory) -> RoutedDirectory:
        return RoutedDirectory(directory, self.routes)

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self, hub) -> None:
        self.secret = hub.secret
        self.routes.ttl_ms = int(ROUTE_TTL_WINDOWS * hub.heartbeat_window * 1000)
        host = hub.internal[0]
        if host in ("0.0.0.0", "::", ""):
            host = os.environ.get("POD_IP") or socket.gethostbyname(socket.gethostname())
        self.routes.address = (self.advertise or f"http://{host}:{hub.internal_port}").rstrip("/")
        self._interval = max(0.2, hub.heartbeat_window / 2)
        await self.routes.announce()
        self._announcer = asyncio.ensure_future(self._announce_loop())
        log.info("hub replica %s in the routing directory, reachable at %s", self.replica_id, self.routes.address)

    async def _announce_loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.routes.announce()
            except Exception as exc:
                log.warning("routing directory: announcing replica failed: %s", exc)

    async def stop(self, hub) -> None:
        if self._announcer is not None:
            self._announcer.cancel()
            self._announcer = None
        try:
            await self.routes.withdraw()
            # Entries still ours (agents that did not move yet): others answer 503 at once.
            for cluster_id in list(hub.registry.clusters):
                await self.routes.release(cluster_id)
        except Exception as exc:
            log.warning("routing directory: withdrawing replica failed: %s", exc)
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.routes.close()

    def end_forwarded(self) -> None:
        """Drain deadline: end the streams this replica relays from others cleanly."""
        self._ending = True
        for upstream in list(self._relaying):
            upstream.close()

    # -- requests ------------------------------------------------------------------------
    async def relay(self, hub, request: web.BaseRequest, cluster_id: str, path: str, headers: list, local):
        """A request this replica cannot (or, draining, should not) serve over its own tunnel."""
        hop = request.headers.get(HOP_HEADER)
        if hop is None:
            route = await self._lookup(cluster_id)
            if route is None and local is None:
                # No replica holds it this instant: an agent moving between replicas (a drain)
                # claims its new route within moments; wait for it before answering 503.
                route, local = await self._await_route(hub, cluster_id)
            if route is not None and route.replica != self.replica_id:
                token = upgrade_token(request)
                if token is not None:
                    response = await self._forward_upgrade(request, route, cluster_id, path, headers, token)
                else:
                    response = await self._forward(request, route, cluster_id, path, headers)
                if response is not None:
                    return response
                local = local or hub.registry.pick(cluster_id)
        if local is not None:
            return await forward(request, local, cluster_id, path, headers, hub.sessions)
        return retry_later(cluster_id, not_holder=hop is not None)

    async def _await_route(self, hub, cluster_id: str):
        """(route, local connection) once either appears, or (None, None) after MOVE_WAIT."""
        deadline = time.monotonic() + MOVE_WAIT
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            local = hub.registry.pick(cluster_id)
            if local is not None:
                return None, local
            route = await self._lookup(cluster_id, fresh=True)
            if route is not None:
                return route, None
        return None, None

    async def _lookup(self, cluster_id: str, fresh: bool = False) -> Route | None:
        now = time.monotonic()
        if not fresh:
            cached = self._cache.get(cluster_id)
            if cached is not None and cached[1] > now:
                return cached[0]
        try:
            route = await self.routes.lookup(cluster_id)
        except Exception as exc:
            log.warning("routing directory: lookup of %s failed: %s", cluster_id, exc)
            return None
        if route is None:
            self._cache.pop(cluster_id, None)
        else:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[cluster_id] = (route, now + ROUTE_CACHE_SECONDS)
        return route

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=False),  # every watch holds a connection
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=_AUTO,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
            )
        return self._session

    async def _forward(self, request, route: Route, cluster_id: str, path: str, headers: list):
        """Relay to the holder's internal listener. A stale route (the holder is gone, or says
        the cluster left it) is read again for up to MOVE_WAIT seconds while the agent
        reconnects, for a request without a body; None: no holder to send it to."""
        headers = [*headers, (SECRET_HEADER, self.secret), (HOP_HEADER, self.replica_id)]
        body = None
        if request.body_exists:
            body = request.content
        else:
            headers = [h for h in headers if h[0].lower() != "content-length"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MOVE_WAIT
        self.forwarding += 1
        try:
            while True:
                url = URL(f"{route.address}/clusters/{cluster_id}{path}", encoded=True)
                upstream = None
                try:
                    upstream = await self._client().request(request.method, url, headers=headers, data=body,
                                                            allow_redirects=False)
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                    log.info("cluster %s: replica %s (%s) unreachable: %s", cluster_id, route.replica,
                             route.address, exc)
                if upstream is not None and not (upstream.status == 503 and NOT_HOLDER_HEADER in upstream.headers):
                    self.forwarded_total += 1
                    try:
                        return await self._relay(request, upstream)
                    finally:
                        upstream.release()
                if upstream is not None:
                    upstream.release()
                self._cache.pop(cluster_id, None)
                if body is not None:
                    return None
                stale = route.replica
                while True:  # the agent is reconnecting: wait for its new route
                    if loop.time() > deadline:
                        return None
                    await asyncio.sleep(0.1)
                    fresh = await self._lookup(cluster_id, fresh=True)
                    if fresh is not None and fresh.replica == self.replica_id:
                        return None  # it came to us: the caller serves it over the local tunnel
                    if fresh is not None and fresh.replica != stale:
                        route = fresh
                        break
        finally:
            self.forwarding -= 1

    async def _relay(self, request: web.BaseRequest, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        headers = p.strip_hop_by_hop(upstream.headers.items())
        length = upstream.content_length
        bodyless = request.method == "HEAD" or upstream.status in (204, 304)
        if length is not None and length <= SMALL_BODY and not bodyless:
            # The usual answer (a GET of an object or a page of a list): whole, as it came.
            body = await upstream.read()
            response = web.Response(status=upstream.status, body=body,
                                    headers=[h for h in headers if h[0].lower() != "content-length"])
            if _offers_h2c(request):
                response.force_close()
            return response
        response = web.StreamResponse(status=upstream.status, headers=headers)
        if _offers_h2c(request):
            response.force_close()
        await response.prepare(request)
        if bodyless:
            return response
        self._relaying.add(upstream)
        try:
            while True:
                # readany: whatever arrived, at once (a watch event must not wait for a full buffer).
                chunk = await upstream.content.readany()
                if not chunk:
                    break
                await response.write(chunk)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            if not (self._ending and response.content_length is None):
                if request.transport is not None:
                    request.transport.abort()
                return response
            # This replica's drain deadline: a chunked stream (a watch) ends cleanly, so its
            # client starts it again through another replica.
        finally:
            self._relaying.discard(upstream)
        if self._ending and response.content_length is not None and upstream.content.at_eof() is False:
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response

    async def _forward_upgrade(self, request, route: Route, cluster_id: str, path: str, headers: list,
                               token: str):
        """exec / attach / port-forward held by another replica: the same request to its internal
        listener over a connection of its own; on 101, the two connections spliced byte for byte
        (the holder audits the session and applies its idle limit). None: holder unreachable."""
        from .upgrade import _ClientBytes

        target = URL(route.address)
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(target.host, target.port),
                                                    CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            log.info("cluster %s: replica %s unreachable for an upgrade: %s", cluster_id, route.replica, exc)
            self._cache.pop(cluster_id, None)
            return None
        self.forwarding += 1
        try:
            client = _ClientBytes(request.transport, p.UPGRADE_WINDOW)
            request.protocol.set_parser(client)  # the client's bytes are ours from here on
            lines = [f"{request.method} /clusters/{cluster_id}{path} HTTP/1.1", f"Host: {target.host}:{target.port}"]
            for k, v in [*headers, (SECRET_HEADER, self.secret), (HOP_HEADER, self.replica_id),
                         ("Connection", "Upgrade"), ("Upgrade", token)]:
                if k.lower() not in ("host", "content-length", "transfer-encoding"):
                    lines.append(f"{k}: {v}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            answered = [tuple(x.strip() for x in line.split(":", 1)) for line in header_lines if ":" in line]
            self.forwarded_total += 1
            if status != 101:
                body = await _read_body(reader, answered)
                response = web.Response(status=status, body=body, headers=[
                    (k, v) for k, v in p.strip_hop_by_hop(answered) if k.lower() != "content-length"])
                response.force_close()
                return response
            switched = [(k, v) for k, v in p.strip_hop_by_hop(answered)
                        if k.lower() not in ("content-length", "content-type", "date", "server")]
            response = web.StreamResponse(status=101, headers=[*switched, ("Connection", "Upgrade"),
                                                               ("Upgrade", token)])
            response.force_close()
            await response.prepare(request)
            await _splice_sockets(request, client, reader, writer)
            return response
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            log.info("cluster %s: upgrade through replica %s failed: %s", cluster_id, route.replica, exc)
            response = status_response(502, "InternalError", f"cluster {cluster_id}: the hub replica holding "
                                       "its agent broke off the session")
            response.force_close()
            return response
        finally:
            self.forwarding -= 1
            writer.close()

    # -- commands --------------------------------------------------------------------------
    async def disconnect(self, hub, cluster_id: str, credential: str | None, hop: str | None) -> int:
        """Close the cluster's agent connections on every live replica (this one too); how many."""
        closed = await hub.disconnect_cluster(cluster_id, credential=credential)
        if hop is not None:
            return closed
        try:
            peers = [(r, a) for r, a in await self.routes.live_replicas() if r != self.replica_id]
        except Exception as exc:
            log.warning("routing directory: listing replicas failed: %s", exc)
            peers = []
        query = f"?credential={credential}" if credential else ""

        async def one(replica: str, address: str) -> int:
            url = URL(f"{address}/clusters/{cluster_id}/_disconnect{query}", encoded=True)
            try:
                async with self._client().post(url, headers={SECRET_HEADER: self.secret, HOP_HEADER: self.replica_id},
                                               timeout=aiohttp.ClientTimeout(total=10, sock_connect=CONNECT_TIMEOUT)) as r:
                    return int((await r.json()).get("closed", 0)) if r.status == 200 else 0
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
                log.warning("cluster %s: disconnect on replica %s failed: %s", cluster_id, replica, exc)
                return 0

        results = await asyncio.gather(*(one(r, a) for r, a in peers))
        return closed + sum(results)


async def _read_body(reader: asyncio.StreamReader, headers: list) -> bytes:
    """The body of a refused upgrade (the holder closes the connection after it)."""
    named = {k.lower(): v for k, v in headers}
    if "content-length" in named:
        return await reader.readexactly(int(named["content-length"]))
    raw = await asyncio.wait_for(reader.read(), 30)
    if "chunked" not in named.get("transfer-encoding", "").lower():
        return raw
    body, rest = b"", raw
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body, rest = body + rest[:size], rest[size + 2:]
    return body


async def _splice_sockets(request: web.BaseRequest, client, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
    """Bytes both ways between the client's upgraded connection and the holder's, until either ends."""
    transport = request.transport

    async def upload():
        while True:
            chunk = await client.read()
            if not chunk:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()

    async def download():
        while True:
            chunk = await reader.read(65536)
            if not chunk or transport is None or transport.is_closing():
                return
            transport.write(chunk)
            if transport.get_write_buffer_size() > 256 * 1024:
                await request.writer.drain()

    up = asyncio.ensure_future(upload())
    down = asyncio.ensure_future(download())
    try:
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        if up.done() and not down.done():  # the client finished sending: let the answer finish
            await asyncio.wait({down}, timeout=None)
    finally:
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)
        if transport is not None:
            transport.close()
