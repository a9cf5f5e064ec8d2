"""The least a Python hub and agent could add to a GET: the floor under tunnel_overhead.py.

    python benchmarks/tunnel_floor.py [--requests 2000] [--client kubernetes|http] [--plain-link]

Same processes, sockets, event loop (uvloop), link TLS and client as
benchmarks/tunnel_overhead.py, but the hub and agent are a bare relay with
nothing of the product in it: the hub copies the request bytes, length-
prefixed, onto one TLS connection to the agent; the agent copies them onto
one keep-alive connection to the API server (swapping the hub secret for
its token) and copies the answer back the same way. No WebSocket, no
protocol heads, no authentication, routing, header filtering, flow control
or multiplexing — none of what makes the real tunnel correct.

What it shows: the cost of the extra processes and hops themselves on
this machine (each cross-process wake-up, the TLS record layer in user
space). Whatever ratio this prints, the real tunnel cannot go below it.
Last line:

    bare relay/direct median ratio: X.XX
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import free_port, interleaved, stop_processes, wait_listening  # noqa: E402
from tunnel_overhead import ROOT, TOKEN, cpu_seconds, http_getter, kube_getter, start_api  # noqa: E402

FRAME = struct.Struct("!II")  # request number, length


class Framed(asyncio.Protocol):
    """Length-prefixed messages over one connection (the bare 'tunnel')."""

    def __init__(self, on_message):
        self.on_message = on_message
        self.buf = bytearray()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        buf = self.buf
        buf += data
        while len(buf) >= FRAME.size:
            rid, n = FRAME.unpack_from(buf)
            if len(buf) < FRAME.size + n:
                return
            msg = bytes(buf[FRAME.size : FRAME.size + n])
            del buf[: FRAME.size + n]
            self.on_message(rid, msg)

    def send(self, rid, data):
        self.transport.write(FRAME.pack(rid, len(data)) + data)


def _head_end(buf) -> int:
    i = buf.find(b"\r\n\r\n")
    return -1 if i < 0 else i + 4


async def run_hub(internal: int, link: int, tls_dir: str | None, prefix: bytes) -> None:
    loop = asyncio.get_running_loop()
    waiting: dict[int, asyncio.Transport] = {}
    agent: list[Framed] = []
    counter = iter(range(1, 1 << 31))

    class Client(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.buf = b""

        def data_received(self, data):
            # GETs only: a request is its head.
            self.buf += data
            end = _head_end(self.buf)
            if end < 0:
                return
            head, self.buf = self.buf[:end], self.buf[end:]
            rid = next(counter)
            waiting[rid] = self.transport
            agent[0].send(rid, head.replace(b" " + prefix, b" ", 1))

    def answered(rid, data):
        waiting.pop(rid).write(data)

    ctx = None
    if tls_dir:
        from cceone.hub.certs import HubTLS

        ctx = HubTLS.ensure(tls_dir).server_context()
    linked = asyncio.Event()

    class Link(Framed):
        def connection_made(self, transport):  # after the TLS handshake
            super().connection_made(transport)
            agent[:] = [self]
            linked.set()

    await loop.create_server(lambda: Link(answered), "127.0.0.1", link, ssl=ctx)
    await linked.wait()  # clients only once the agent is there
    await loop.create_server(Client, "127.0.0.1", internal)
    await asyncio.Event().wait()


async def run_agent(link: int, api_port: int, ca_file: str | None, secret: bytes) -> None:
    loop = asyncio.get_running_loop()
    order: list[int] = []

    class Upstream(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.buf = bytearray()

        def data_received(self, data):
            buf = self.buf
            buf += data
            end = _head_end(buf)
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            i = head.find(b"content-length:")
            n = int(head[i + 15 :].split(b"\r\n", 1)[0])
            if len(buf) < end + n:
                return
            answer = bytes(buf[: end + n])
            del buf[: end + n]
            hub.send(order.pop(0), answer)

    _, upstream = await loop.create_connection(Upstream, "127.0.0.1", api_port)

    def request(rid, data):
        order.append(rid)
        upstream.transport.write(data.replace(b"X-Hub-Secret: " + secret, b"Authorization: Bearer " + TOKEN.encode(), 1))

    ctx = None
    if ca_file:
        ctx = ssl.create_default_context(cafile=ca_file)
    while True:  # the hub may not listen yet
        try:
            _, hub = await loop.create_connection(lambda: Framed(request), "127.0.0.1", link, ssl=ctx, server_hostname="localhost" if ctx else None)
            break
        except OSError:
            await asyncio.sleep(0.05)
    await asyncio.Event().wait()


def _loop_run(coro):
    from cceone.hub.server import run_loop

    run_loop(coro)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="per side, after warm-up")
    ap.add_argument("--client", choices=("kubernetes", "http"), default="kubernetes")
    ap.add_argument("--plain-link", action="store_true", help="no TLS between the bare hub and agent")
    ap.add_argument("--role", choices=("hub", "agent"), help=argparse.SUPPRESS)
    ap.add_argument("--ports", help=argparse.SUPPRESS)
    ap.add_argument("--tls", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.role == "hub":
        internal, link = map(int, args.ports.split(","))
        return _loop_run(run_hub(internal, link, args.tls, b"/clusters/bench"))
    if args.role == "agent":
        link, api_port = map(int, args.ports.split(","))
        return _loop_run(run_agent(link, api_port, args.tls, b"bench"))

    work = Path(tempfile.mkdtemp(prefix="tunnel-floor-"))
    procs: list[subprocess.Popen] = []
    try:
        api, api_url, _ = start_api(work, fake=False)
        procs.append(api)
        api_port = int(api_url.rsplit(":", 1)[1])
        internal, link = free_port(), free_port()
        tls_dir = None if args.plain_link else str(work / "tls")
        me = [sys.executable, str(Path(__file__).resolve())]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        ca = None
        if tls_dir is not None:
            from cceone.hub.certs import HubTLS

            ca = HubTLS.ensure(tls_dir).ca_file  # made here, before the hub loads it
        procs.append(subprocess.Popen(me + ["--role", "hub", "--ports", f"{internal},{link}", *(["--tls", tls_dir] if tls_dir else [])], env=env))
        procs.append(subprocess.Popen(me + ["--role", "agent", "--ports", f"{link},{api_port}", *(["--tls", ca] if ca else [])], env=env))
        wait_listening(internal)  # opened once the agent is linked

        make = kube_getter if args.client == "kubernetes" else http_getter
        direct = make(api_url, {"Authorization": f"Bearer {TOKEN}"})
        relayed = make(f"http://127.0.0.1:{internal}/clusters/bench", {"X-Hub-Secret": "bench"})
        interleaved(direct, relayed, 0)  # warm-up
        cpu0 = [cpu_seconds(p.pid) for p in procs[1:]]
        td, tr = interleaved(direct, relayed, args.requests, warmup=0)
        cpu1 = [cpu_seconds(p.pid) for p in procs[1:]]
        md, mr = statistics.median(td), statistics.median(tr)
        per = [(sum(b) - sum(a)) / args.requests * 1e6 for a, b in zip(cpu0, cpu1)]
        print(f"API server: kubesim; client: {args.client}; link: {'plain TCP' if args.plain_link else 'TLS'}; {args.requests} GETs per side")
        print(f"direct: median {md * 1e3:.3f} ms; bare relay: median {mr * 1e3:.3f} ms (added {(mr - md) * 1e3:.3f} ms)")
        print(f"CPU per relayed request (user+sys): hub {per[0]:.0f} us, agent {per[1]:.0f} us")
        print(f"bare relay/direct median ratio: {mr / md:.2f}")
    finally:
        stop_processes(procs)



if __name__ == "__main__":
    main()
