"""Three hub replicas, many agents: requests through a replica that does not hold the tunnel,
and the floor of one extra hop.

    python benchmarks/hub_replicas.py --agents 3000 [--samples 200] [--redis redis://127.0.0.1:6379/12]

Three `python -m cceone.hub` processes (TLS, the same in-memory directory, one Redis as the
routing directory under a key prefix of this run) and simulated agents in this process
(benchmarks/hub_agents.py's, which also answer requests), spread over the replicas in turn as
a load balancer would. For `--samples` clusters, the same GET goes (`--repeat` times,
rotated) through the internal listener of the replica holding the tunnel (direct), of
another one (forwarded over the replica link), and through the floor: one more process
started from this file (`--role bare-proxies`, on the hubs' loop) with, in front of each
replica's internal listener, a bare aiohttp reverse proxy (pooled keep-alive connections,
the answer read whole and sent back: what our replica link does, without routing) and a
raw TCP relay (bytes copied, no HTTP). The first forwarded request of a cluster reads its
route from Redis, the next ones (within a second) from the replica's cache; both medians are
printed. `--api-ms` adds the API server's own time to every answer (0 by default: the
ratio then compares the hubs' own overhead alone). RSS is read from /proc after the
requests. Last two lines:

    floor, one bare extra hop/direct median ratio: bare aiohttp proxy P (ms), raw TCP relay T (ms); forwarded/bare aiohttp proxy F
    agents: N, forwarded/direct median ratio: R, RSS per replica MB: M
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cceone_tunnel import protocol as p  # noqa: E402
from hub_agents import Sim, hub_rss_mb, sample_facts  # noqa: E402

from _support import free_port  # noqa: E402

BODY = json.dumps({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                   "items": [{"metadata": {"name": f"ns-{i}"}} for i in range(20)]}).encode()
HEAD = {"status": 200, "headers": [["Content-Type", "application/json"]]}


class AnsweringSim(Sim):
    """The heartbeat simulation, answering each REQUEST with a small namespace list (after
    `api_seconds`, the API server's own time, when given)."""

    api_seconds = 0.0

    async def _answer(self, ws, sid: int) -> None:
        await asyncio.sleep(self.api_seconds)
        await ws.send_bytes(p.head_frame(p.RESPONSE, sid, HEAD, BODY, end=True))

    async def _run(self, ws) -> None:
        loop = asyncio.get_running_loop()
        await ws.send_bytes(self.heartbeat)
        next_hb = loop.time() + self.interval * (hash(id(ws)) % 1000) / 1000
        while not self.stop.is_set():
            try:
                msg = await ws.receive(timeout=max(0.001, next_hb - loop.time()))
            except asyncio.TimeoutError:
                await ws.send_bytes(self.heartbeat)
                next_hb += self.interval
                continue
            if msg.type is not aiohttp.WSMsgType.BINARY:
                return
            ftype, _, sid, payload = p.parse(msg.data)
            if ftype == p.PING:
                await ws.send_bytes(p.frame(p.PONG, 0, bytes(payload)))
            elif ftype == p.REQUEST:
                if self.api_seconds:
                    asyncio.ensure_future(self._answer(ws, sid))
                else:
                    await ws.send_bytes(p.head_frame(p.RESPONSE, sid, HEAD, BODY, end=True))


async def main_async(args) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import redis.asyncio as aioredis

    work = Path(tempfile.mkdtemp(prefix="hub-replicas-bench-"))
    prefix = f"cceone:bench:{uuid.uuid4().hex[:8]}:"
    cfg = {"clusters": [{"id": f"bench-{i}", "agent_token": f"bench-token-{i}"} for i in range(args.agents)]}
    (work / "hub.json").write_text(json.dumps(cfg))
    replicas = []
    for name in ("a", "b", "c"):
        pub, internal = free_port(), free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cceone.hub", "--config", str(work / "hub.json"), "--public", f"127.0.0.1:{pub}",
             "--internal", f"127.0.0.1:{internal}", "--secret", "bench", "--tls-dir", str(work / "tls"),
             "--heartbeat-window", str(args.heartbeat_interval), "--log-level", "warning",
             "--redis-url", args.redis, "--redis-prefix", prefix, "--replica-id", f"hub-{name}"],
            cwd=str(ROOT), stderr=open(work / f"hub-{name}.log", "wb"))
        replicas.append({"name": f"hub-{name}", "proc": proc, "public": pub,
                         "internal": f"http://127.0.0.1:{internal}"})
        if name == "a":  # the first one writes the shared CA and certificate
            await _wait_healthy(replicas[0]["internal"])
    routes = aioredis.Redis.from_url(args.redis)
    floor = None
    try:
        for r in replicas:
            await _wait_healthy(r["internal"])
        # The floor: one bare extra hop in front of each replica's internal listener.
        floor_ports = [free_port() for _ in range(2 * len(replicas))]
        floor = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--role", "bare-proxies",
             "--ports", ",".join(map(str, floor_ports)), "--targets", ",".join(r["internal"] for r in replicas)],
            cwd=str(ROOT), stderr=open(work / "bare-proxies.log", "wb"))
        for r, proxy_port, relay_port in zip(replicas, floor_ports[::2], floor_ports[1::2]):
            r["proxy"], r["relay"] = f"http://127.0.0.1:{proxy_port}", f"http://127.0.0.1:{relay_port}"
            await _wait_healthy(r["proxy"])
            await _wait_healthy(r["relay"])
        ssl_ctx = ssl.create_default_context(cafile=str(work / "tls" / "ca.crt"))
        AnsweringSim.api_seconds = args.api_ms / 1000
        sims = [AnsweringSim(f"wss://127.0.0.1:{r['public']}/agent/connect", ssl_ctx, args.heartbeat_interval,
                             sample_facts()) for r in replicas]
        connector = aiohttp.TCPConnector(limit=0, ssl=ssl_ctx)
        async with aiohttp.ClientSession(connector=connector) as session:
            gate = asyncio.Semaphore(args.connect_concurrency)
            start = time.monotonic()
            tasks = [asyncio.ensure_future(sims[i % 3].agent(i, session, gate)) for i in range(args.agents)]

            async def routed() -> int:
                keys = [f"{prefix}route:bench-{i}" for i in range(args.agents)]
                found = 0
                for chunk in range(0, len(keys), 1000):
                    found += sum(1 for v in await routes.mget(keys[chunk:chunk + 1000]) if v)
                return found

            while (sum(s.connected for s in sims) < args.agents or await routed() < args.agents) \
                    and time.monotonic() - start < args.connect_timeout:
                await asyncio.sleep(0.5)
            connected = sum(s.connected for s in sims)
            print(f"{connected} agents connected in {time.monotonic() - start:.1f}s, {await routed()} routes "
                  f"in Redis", flush=True)

            direct, forwarded, proxied, relayed = [], [], [], []
            first, cached = [], []
            by_name = {r["name"]: r for r in replicas}
            async with aiohttp.ClientSession(headers={"X-Hub-Secret": "bench"}) as http:
                step = max(1, args.agents // args.samples)
                for i in range(0, args.agents, step)[: args.samples]:
                    value = await routes.get(f"{prefix}route:bench-{i}")
                    if not value:
                        continue
                    holder = value.decode().split("|")[1]
                    other = replicas[(list(by_name).index(holder) + 1 + i % 2) % 3]
                    path = f"/clusters/bench-{i}/api/v1/namespaces"
                    holding = by_name[holder]
                    sides = [(direct, holding["internal"]), (forwarded, other["internal"]),
                             (proxied, holding["proxy"]), (relayed, holding["relay"])]
                    for n in range(args.repeat):
                        turn = (i // step + n) % len(sides)  # rotated: no side always follows another
                        for times, base in sides[turn:] + sides[:turn]:
                            times.append(await _timed(http, base + path))
                        # The first reads the route from Redis; the next ones, within a second, from the cache.
                        (first if n == 0 else cached).append(forwarded[-1])
            rss = [hub_rss_mb(r["proc"].pid) for r in replicas]
            for s in sims:
                s.stop.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        failed_direct = sum(1 for d in direct if d is None)
        failed_forwarded = sum(1 for f in forwarded if f is None)
        direct_ms = [d for d in direct if d is not None]
        forwarded_ms = [f for f in forwarded if f is not None]
        if not direct_ms or not forwarded_ms:
            raise SystemExit("no request succeeded")
        d_med, f_med = statistics.median(direct_ms), statistics.median(forwarded_ms)
        floors = {}
        for name, times in (("bare aiohttp proxy", proxied), ("raw TCP relay", relayed)):
            ok = [t for t in times if t is not None]
            if len(ok) < len(times):
                raise SystemExit(f"{name}: {len(times) - len(ok)} requests failed")
            floors[name] = statistics.median(ok)
        print(f"requests: {len(direct)} direct (median {d_med:.2f} ms, {failed_direct} failed), {len(forwarded)} "
              f"forwarded (median {f_med:.2f} ms, {failed_forwarded} failed); RSS MB per replica: "
              f"{', '.join(f'{r:.1f}' for r in rss)}; hub logs: {work}")
        if cached:
            print(f"forwarded median: first request of a cluster {_median(first):.2f} ms (route read from Redis), "
                  f"the next ones {_median(cached):.2f} ms (route cached)")
        print("floor, one bare extra hop/direct median ratio: " + ", ".join(
            f"{name} {ms / d_med:.2f} ({ms:.2f} ms)" for name, ms in floors.items())
            + f"; forwarded/bare aiohttp proxy {f_med / floors['bare aiohttp proxy']:.2f}")
        print(f"agents: {connected}, forwarded/direct median ratio: {f_med / d_med:.2f}, "
              f"RSS per replica MB: {max(rss):.0f}")
    finally:
        if floor is not None:
            floor.terminate()
        for r in replicas:
            r["proc"].terminate()
        for r in replicas:
            try:
                r["proc"].wait(20)
            except subprocess.TimeoutExpired:
                r["proc"].kill()
        async for key in routes.scan_iter(f"{prefix}*"):
            await routes.delete(key)
        await routes.aclose()


async def bare_proxies(ports: list[int], targets: list[str]) -> None:
    """The floor of one extra hop, in a process of its own as replica B is: for each replica,
    an aiohttp reverse proxy (pooled keep-alive connections to the replica's internal listener,
    the answer read whole and sent back) and a raw TCP relay (bytes copied, no HTTP at all).
    No routing directory, no hop header, no retry, no streaming decision: none of ours."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), auto_decompress=False,
                                    cookie_jar=aiohttp.DummyCookieJar())
    loop = asyncio.get_running_loop()
    hop_by_hop = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}

    def proxy(target: str):
        async def handle(request: web.BaseRequest) -> web.Response:
            async with session.request(request.method, target + request.raw_path, headers=request.headers,
                                       allow_redirects=False) as upstream:
                body = await upstream.read()
                headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in hop_by_hop]
                return web.Response(status=upstream.status, body=body, headers=headers)
        return handle

    class Relay(asyncio.Protocol):
        def __init__(self, port: int):
            self.port, self.peer, self.pending = port, None, []

        def connection_made(self, transport):
            self.transport = transport
            loop.create_task(self._dial())

        async def _dial(self):
            _, self.peer = await loop.create_connection(lambda: _Back(self.transport), "127.0.0.1", self.port)
            for data in self.pending:
                self.peer.transport.write(data)

        def data_received(self, data):
            if self.peer is None:
                self.pending.append(data)
            else:
                self.peer.transport.write(data)

        def connection_lost(self, exc):
            if self.peer is not None:
                self.peer.transport.close()

    class _Back(asyncio.Protocol):
        def __init__(self, front):
            self.front = front

        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.front.write(data)

        def connection_lost(self, exc):
            self.front.close()

    for (proxy_port, relay_port), target in zip(zip(ports[::2], ports[1::2]), targets):
        await loop.create_server(web.Server(proxy(target)), "127.0.0.1", proxy_port)
        target_port = int(target.rsplit(":", 1)[1])
        await loop.create_server(lambda p=target_port: Relay(p), "127.0.0.1", relay_port)
    await asyncio.Event().wait()


def _median(times: list) -> float:
    return statistics.median([t for t in times if t is not None] or [float("nan")])


async def _wait_healthy(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(base + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"hub at {base} did not start")


async def _timed(http: aiohttp.ClientSession, url: str) -> float | None:
    t = time.perf_counter()
    async with http.get(url) as r:
        await r.read()
        if r.status != 200:
            return None
    return (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=3000)
    ap.add_argument("--samples", type=int, default=200, help="clusters asked directly and through another replica")
    ap.add_argument("--repeat", type=int, default=3, help="requests per cluster and path")
    ap.add_argument("--heartbeat-interval", type=float, default=30.0)
    ap.add_argument("--connect-concurrency", type=int, default=100)
    ap.add_argument("--connect-timeout", type=float, default=300.0)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--api-ms", type=float, default=0.0,
                    help="the simulated API server's time per request (0: the hubs' overhead alone)")
    ap.add_argument("--role", choices=("bare-proxies",), help=argparse.SUPPRESS)
    ap.add_argument("--ports", help=argparse.SUPPRESS)
    ap.add_argument("--targets", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from cceone.hub.server import run_loop  # the hubs' loop (uvloop): the floor runs on the same

    if args.role == "bare-proxies":
        return run_loop(bare_proxies([int(port) for port in args.ports.split(",")], args.targets.split(",")))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
