"""Many agents against one hub: memory and heartbeat throughput.

    python benchmarks/hub_agents.py --agents 2000 [--minutes 10] [--heartbeat-interval 30]

The hub runs as a separate process (`python -m cceone.hub`, TLS on, in-memory
directory with one cluster per agent). The agents are lightweight simulations
in this process: each opens its own TLS WebSocket, answers pings and sends a
realistic heartbeat (3 nodes with labels and taints, pod totals) every
interval, with start times spread so the load is even. Hub RSS is read from
/proc. Last line:

    agents connected: N, hub RSS MB: M, heartbeats/s: H
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cceone_tunnel import protocol as p  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def sample_facts() -> bytes:
    def node(i):
        return {
            "name": f"node-{i}",
            "ready": True,
            "unschedulable": False,
            "capacity": {"cpu_millicores": 8000, "memory_bytes": 32 * 2**30, "pods": 110},
            "allocatable": {"cpu_millicores": 7800, "memory_bytes": 31 * 2**30, "pods": 110},
            "labels": {
                "kubernetes.io/hostname": f"node-{i}",
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "m5.2xlarge",
                "topology.kubernetes.io/region": "eu-west-1",
                "topology.kubernetes.io/zone": f"eu-west-1{'abc'[i % 3]}",
                "node-role.kubernetes.io/worker": "",
            },
            "taints": [] if i else [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}],
            "kubelet_version": "v1.31.2",
            "architecture": "amd64",
        }

    facts = {
        "agent_version": "0.1.0",
        "collected_at": "2026-01-01T00:00:00+00:00",
        "kubernetes": {"gitVersion": "v1.31.2", "major": "1", "minor": "31", "platform": "linux/amd64"},
        "nodes": [node(i) for i in range(3)],
        "pod_requests": {
            "total": {"cpu_millicores": 5400, "memory_bytes": 12 * 2**30, "pods": 41},
            "per_node": {f"node-{i}": {"cpu_millicores": 1800, "memory_bytes": 4 * 2**30, "pods": 14} for i in range(3)},
            "unscheduled": {"cpu_millicores": 0, "memory_bytes": 0, "pods": 0},
        },
        "errors": [],
    }
    return p.json_frame(p.HEARTBEAT, 0, facts)


class Sim:
    def __init__(self, url: str, ssl_ctx, interval: float, heartbeat: bytes):
        self.url = url
        self.ssl = ssl_ctx
        self.interval = interval
        self.heartbeat = heartbeat
        self.connected = 0
        self.sent = 0
        self.failures = 0
        self.stop = asyncio.Event()

    async def agent(self, i: int, session: aiohttp.ClientSession, gate: asyncio.Semaphore) -> None:
        attempt = 0
        while not self.stop.is_set():
            try:
                async with gate:
                    ws = await session.ws_connect(
                        self.url,
                        headers={"Authorization": f"Bearer bench-token-{i}", "X-CCEOne-Agent-Instance": f"sim-{i}"},
                        protocols=(p.SUBPROTOCOL,),
                        ssl=self.ssl,
                        compress=0,
                        max_msg_size=p.MAX_MESSAGE,
                    )
                    await ws.receive(timeout=30)  # SETTINGS
                attempt = 0
                self.connected += 1
                try:
                    await self._run(ws)
                finally:
                    self.connected -= 1
                    await ws.close()
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                self.failures += 1
            if self.stop.is_set():
                return
            attempt += 1
            await asyncio.sleep(random.uniform(0, min(30, 0.5 * 2**attempt)))

    async def _run(self, ws) -> None:
        loop = asyncio.get_running_loop()
        await ws.send_bytes(self.heartbeat)  # like the agent: one right away
        self.sent += 1
        next_hb = loop.time() + random.uniform(0, self.interval)  # spread the herd
        while not self.stop.is_set():
            try:
                # (aiohttp treats timeout=0 as "no timeout", hence the floor)
                msg = await ws.receive(timeout=max(0.001, next_hb - loop.time()))
            except asyncio.TimeoutError:
                await ws.send_bytes(self.heartbeat)
                self.sent += 1
                next_hb += self.interval
                continue
            if msg.type is not aiohttp.WSMsgType.BINARY:
                return
            ftype, _, _, payload = p.parse(msg.data)
            if ftype == p.PING:
                await ws.send_bytes(p.frame(p.PONG, 0, bytes(payload)))


async def healthz(session: aiohttp.ClientSession, base: str) -> dict:
    async with session.get(base + "/healthz") as r:
        return await r.json()


async def main_async(args) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.agents + 100:
        print(f"warning: fd hard limit {hard} is below {args.agents} agents", file=sys.stderr)

    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    cfg = {"clusters": [{"id": f"bench-{i}", "agent_token": f"bench-token-{i}"} for i in range(args.agents)]}
    (work / "hub.json").write_text(json.dumps(cfg))
    pub, internal = free_port(), free_port()
    hub = subprocess.Popen(
        [
            sys.executable, "-m", "cceone.hub",
            "--config", str(work / "hub.json"),
            "--public", f"127.0.0.1:{pub}",
            "--internal", f"127.0.0.1:{internal}",
            "--secret", "bench",
            "--tls-dir", str(work / "tls"),
            "--heartbeat-window", str(args.heartbeat_interval),
            "--log-level", args.hub_log_level,
        ],
        cwd=str(ROOT),
        stderr=open(work / "hub.log", "wb"),
    )
    base = f"http://127.0.0.1:{internal}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    await healthz(http, base)
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            rss_idle = hub_rss_mb(hub.pid)
            ssl_ctx = ssl.create_default_context(cafile=str(work / "tls" / "ca.crt"))
            sim = Sim(f"wss://127.0.0.1:{pub}/agent/connect", ssl_ctx, args.heartbeat_interval, sample_facts())
            connector = aiohttp.TCPConnector(limit=0, ssl=ssl_ctx)
            async with aiohttp.ClientSession(connector=connector) as session:
                gate = asyncio.Semaphore(args.connect_concurrency)
                t_start = time.monotonic()
                tasks = [asyncio.ensure_future(sim.agent(i, session, gate)) for i in range(args.agents)]
                while sim.connected < args.agents and time.monotonic() - t_start < 120:
                    await asyncio.sleep(0.2)
                t_conn = time.monotonic() - t_start
                print(f"{sim.connected} agents connected in {t_conn:.1f}s (hub RSS idle {rss_idle:.1f} MB, now {hub_rss_mb(hub.pid):.1f} MB)", flush=True)
                h0 = await healthz(http, base)
                t0 = time.monotonic()
                peak = hub_rss_mb(hub.pid)
                end = t0 + args.minutes * 60
                while time.monotonic() < end:
                    await asyncio.sleep(min(10, max(0.1, end - time.monotonic())))
                    peak = max(peak, hub_rss_mb(hub.pid))
                    h = await healthz(http, base)
                    el = time.monotonic() - t0
                    print(
                        f"  t={el:5.0f}s hub connections={h['connections']} heartbeats/s={(h['heartbeats'] - h0['heartbeats']) / el:.1f} "
                        f"RSS={hub_rss_mb(hub.pid):.1f} MB (peak {peak:.1f})",
                        flush=True,
                    )
                h1 = await healthz(http, base)
                elapsed = time.monotonic() - t0
                rate = (h1["heartbeats"] - h0["heartbeats"]) / elapsed
                connected_at_hub = h1["connections"]
                sim.stop.set()
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            print(f"connect failures: {sim.failures}; peak hub RSS {peak:.1f} MB; hub log: {work / 'hub.log'}")
            print(f"agents connected: {connected_at_hub}, hub RSS MB: {peak:.0f}, heartbeats/s: {rate:.1f}")
    finally:
        hub.terminate()
        try:
            hub.wait(20)
        except subprocess.TimeoutExpired:
            hub.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--heartbeat-interval", type=float, default=30.0, help="seconds; also the hub's window")
    ap.add_argument("--connect-concurrency", type=int, default=100)
    ap.add_argument("--hub-log-level", default="warning")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
