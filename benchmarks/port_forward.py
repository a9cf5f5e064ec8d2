"""Throughput of `kubectl port-forward` through hub and agent versus straight to the API server,
and the floor under it: the same hops with nothing of ours in them.

    python benchmarks/port_forward.py [--megabytes 50] [--rounds 3]

Every component is its own process, as in production: the API server (the kubesim
emulator over TLS, serving a pod whose port 8080 answers GET /bytes/<n>), the hub
(`python -m cceone.hub`, agent link over TLS), the agent (`python -m cceone_agent`) and
three stock `kubectl port-forward`s: one with a kubeconfig for the emulator itself, one
for the hub's proxy, and one for the floor. The floor is a bare relay pair started from
this file (`--role bare-hub|bare-agent`, on the hub's loop): kubectl's TLS connection
into a relay process, a WebSocket over TLS that the bare agent dialled (so the agent
masks the download, as ours does), a second relay process, TLS to the emulator, the
bytes copied as they are — no HTTP parsing, authentication, routing, multiplexing, credit
or audit. Whatever the floor's ratio, two extra Python processes that decrypt and
encrypt every byte twice cost at least that on this machine; on a 2-core machine the
processes share two cores, so the extra CPU per MiB sets the ratio.

Each round downloads the same body through all three (rotated, so drift hits every side
equally); the best round of each counts. Per round it prints the CPU milliseconds per MiB
of hub and agent and of the two bare relays. Last two lines:

    port-forward floor MB/s: bare relay F, direct D, ratio F/D; tunnel/floor T/F
    port-forward MB/s: tunnel T, direct D, ratio R
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import free_port, stop_processes, wait_http, wait_listening  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench", "namespace": "default"},
       "spec": {"containers": [{"name": "main", "image": "nginx:1.25", "ports": [{"containerPort": 8080}]}]},
       "status": {"phase": "Running"}}


_CHUNK = 256 * 1024  # what the agent reads from the API server at a time


async def _pump_stream_to_ws(reader: asyncio.StreamReader, ws) -> None:
    while chunk := await reader.read(_CHUNK):
        await ws.send_bytes(chunk)
    await ws.close()


async def _pump_ws_to_stream(ws, writer: asyncio.StreamWriter) -> None:
    async for msg in ws:
        if msg.type is not aiohttp.WSMsgType.BINARY:
            break
        writer.write(msg.data)
        await writer.drain()
    writer.close()


async def _splice(reader, writer, ws) -> None:
    done, pending = await asyncio.wait([asyncio.ensure_future(_pump_stream_to_ws(reader, ws)),
                                        asyncio.ensure_future(_pump_ws_to_stream(ws, writer))],
                                       return_when=asyncio.FIRST_COMPLETED)
    # Either side ending ends the session (kubectl closes the whole upgraded connection).
    for task in pending:
        task.cancel()
    writer.close()
    await ws.close()


async def bare_hub(listen: int, link: int, tls_dir: str) -> None:
    """The floor's hub: kubectl's TLS connections in on `listen`; the bare agent's WebSockets
    in (TLS) on `link`, dialled by the agent as ours is, so the bulk download is masked by
    the agent as ours is. Each kubectl connection takes one idle agent WebSocket and the
    bytes are copied both ways as they are: no HTTP parsing, authentication, routing,
    framing of our own, flow control beyond TCP's and WebSocket's, or audit."""
    from cceone.hub.certs import HubTLS

    tls = HubTLS.ensure(tls_dir)
    idle: asyncio.Queue = asyncio.Queue()

    async def agent_dialled(request):
        ws = web.WebSocketResponse(max_msg_size=0, autoping=False)
        await ws.prepare(request)
        done = asyncio.get_running_loop().create_future()
        await idle.put((ws, done))
        await done  # the WebSocket lives as long as this handler
        return ws

    async def accepted(reader, writer):
        ws, done = await idle.get()
        try:
            # "Taken": the agent dials its next spare (a client may open a connection and
            # send nothing on it for a while, as Go's HTTP client does).
            await ws.send_bytes(b"")
            await _splice(reader, writer, ws)
        finally:
            done.set_result(None)

    app = web.Application()
    app.router.add_get("/connect", agent_dialled)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", link, ssl_context=tls.server_context()).start()
    server = await asyncio.start_server(accepted, "127.0.0.1", listen, ssl=tls.server_context(), limit=_CHUNK)
    async with server:
        await server.serve_forever()


async def bare_agent(hub_url: str, api: str, ca_file: str) -> None:
    """The floor's agent: keeps one idle WebSocket dialled to the bare hub; when the hub takes
    it (an empty message), dials the next one and the API server (TLS), and copies bytes both
    ways. kubectl's own token passes through untouched."""
    host, port = api.rsplit(":", 1)
    hub_ctx = ssl.create_default_context(cafile=ca_file)
    # The emulator's fresh CA is not at hand here; verifying costs only the handshake, not the bytes.
    api_ctx = ssl.create_default_context()
    api_ctx.check_hostname, api_ctx.verify_mode = False, ssl.CERT_NONE
    session = aiohttp.ClientSession()
    sessions: set[asyncio.Task] = set()

    async def spare():
        while True:
            try:
                ws = await session.ws_connect(hub_url, ssl=hub_ctx, max_msg_size=0, autoping=False)
                break
            except aiohttp.ClientError:  # the bare hub is still starting
                await asyncio.sleep(0.1)
        first = await ws.receive()
        task = asyncio.ensure_future(spare())
        sessions.add(task)
        task.add_done_callback(sessions.discard)
        if first.type is not aiohttp.WSMsgType.BINARY:
            return
        reader, writer = await asyncio.open_connection(host, int(port), ssl=api_ctx, limit=_CHUNK)
        await _splice(reader, writer, ws)

    await spare()
    await asyncio.Event().wait()


def _forward(kubeconfig: Path, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(["kubectl", "--kubeconfig", str(kubeconfig), "port-forward", "pod/bench", f"{port}:8080"],
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    wait_http(f"http://127.0.0.1:{port}/ready", timeout=60)
    return proc, port



def _download(port: int, size: int) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/bytes/{size}", timeout=300) as answer:
        got = 0
        while chunk := answer.read(1 << 20):
            got += len(chunk)
    elapsed = time.perf_counter() - start
    if got != size:
        raise SystemExit(f"port {port}: {got} bytes instead of {size}")
    return size / elapsed / 1e6


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--megabytes", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--role", choices=("bare-hub", "bare-agent"), help=argparse.SUPPRESS)
    ap.add_argument("--listen", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--to", help=argparse.SUPPRESS)
    ap.add_argument("--tls-dir", help=argparse.SUPPRESS)
    ap.add_argument("--api", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role:
        from cceone.hub.server import run_loop  # the hub's loop (uvloop), so the floor runs on the same

        if args.role == "bare-hub":
            return run_loop(bare_hub(args.listen, int(args.to), args.tls_dir))
        return run_loop(bare_agent(args.to, args.api, str(Path(args.tls_dir) / "ca.crt")))
    size = args.megabytes * 1024 * 1024
    work = Path(tempfile.mkdtemp(prefix="port-forward-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        (work / "pod.json").write_text(json.dumps(POD))
        api_port = free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "sandbox.kubesim", "--port", str(api_port), "--tls", "--no-controllers",
             "--seed", str(work / "pod.json"), "--kubeconfig", str(work / "direct.yaml")],
            cwd=str(ROOT), stdout=open(work / "kubesim.log", "wb"), stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        while not (work / "direct.yaml").exists():
            if time.monotonic() > deadline:
                raise SystemExit("the emulator did not start")
            time.sleep(0.1)
        time.sleep(0.5)

        pub, internal = free_port(), free_port()
        (work / "hub.json").write_text(json.dumps({
            "clusters": [{"id": "bench", "agent_token": "bench-agent-token"}],
            "users": [{"token": "bench-user", "username": "admin", "groups": ["system:masters"]}]}))
        (work / "token").write_text("bench-agent-token")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "cceone.hub", "--config", str(work / "hub.json"), "--public", f"127.0.0.1:{pub}",
             "--internal", f"127.0.0.1:{internal}", "--secret", "bench", "--tls-dir", str(work / "tls"),
             "--log-level", "warning"], cwd=str(ROOT), stdout=open(work / "hub.log", "wb"), stderr=subprocess.STDOUT))
        wait_http(f"http://127.0.0.1:{internal}/healthz")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "cceone_agent", "--hub", f"wss://127.0.0.1:{pub}", "--token-file", str(work / "token"),
             "--ca-file", str(work / "tls" / "ca.crt"), "--kubeconfig", str(work / "direct.yaml"), "--log-level", "warning"],
            cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT / "agent")},
            stdout=open(work / "agent.log", "wb"), stderr=subprocess.STDOUT))
        wait_http(f"http://127.0.0.1:{internal}/clusters/bench/_status", {"X-Hub-Secret": "bench"},
                  ok=lambda body: json.loads(body)["connected"])
        (work / "tunnel.yaml").write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "hub",
            "clusters": [{"name": "hub", "cluster": {"server": f"https://127.0.0.1:{pub}/k8s/clusters/bench",
                                                     "certificate-authority": str(work / "tls" / "ca.crt")}}],
            "users": [{"name": "hub", "user": {"token": "bench-user"}}],
            "contexts": [{"name": "hub", "context": {"cluster": "hub", "user": "hub"}}]}))

        hub, agent = procs[1].pid, procs[2].pid

        # The floor: the same processes and hops (kubectl, TLS, a relay, a WebSocket over TLS,
        # a relay, TLS, the emulator) with nothing of ours in them.
        bare_pub, bare_link = free_port(), free_port()
        me = [sys.executable, str(Path(__file__).resolve()), "--tls-dir", str(work / "tls")]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        api = _load_yaml(work / "direct.yaml")
        api_netloc = api["clusters"][0]["cluster"]["server"].split("://", 1)[1]
        procs.append(subprocess.Popen(me + ["--role", "bare-hub", "--listen", str(bare_pub), "--to", str(bare_link)],
                                      cwd=str(ROOT), env=env, stdout=open(work / "bare-hub.log", "wb"),
                                      stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(me + ["--role", "bare-agent", "--to", f"wss://127.0.0.1:{bare_link}/connect",
                                            "--api", api_netloc], cwd=str(ROOT), env=env,
                                      stdout=open(work / "bare-agent.log", "wb"), stderr=subprocess.STDOUT))
        bare_hub_pid, bare_agent_pid = procs[-2].pid, procs[-1].pid
        wait_listening(bare_pub)
        api["clusters"][0]["cluster"] = {"server": f"https://127.0.0.1:{bare_pub}",
                                         "certificate-authority": str(work / "tls" / "ca.crt")}
        (work / "floor.yaml").write_text(json.dumps(api))

        direct, direct_port = _forward(work / "direct.yaml", work / "direct-forward.log")
        procs.append(direct)
        tunnel, tunnel_port = _forward(work / "tunnel.yaml", work / "tunnel-forward.log")
        procs.append(tunnel)
        floor, floor_port = _forward(work / "floor.yaml", work / "floor-forward.log")
        procs.append(floor)
        for port in (direct_port, tunnel_port, floor_port):  # warm-up
            _download(port, 1 << 20)
        best = {"direct": 0.0, "tunnel": 0.0, "floor": 0.0}
        for n in range(args.rounds):
            # Rotated, so drift in the machine's load hits every side alike.
            d = _download(direct_port, size)
            cpu0 = _cpu(hub), _cpu(agent)
            t = _download(tunnel_port, size)
            cpu = [(_cpu(pid) - before) / args.megabytes for pid, before in zip((hub, agent), cpu0)]
            cpu0 = _cpu(bare_hub_pid), _cpu(bare_agent_pid)
            f = _download(floor_port, size)
            bare_cpu = [(_cpu(pid) - before) / args.megabytes
                        for pid, before in zip((bare_hub_pid, bare_agent_pid), cpu0)]
            for side, value in (("direct", d), ("tunnel", t), ("floor", f)):
                best[side] = max(best[side], value)
            print(f"round {n + 1}: {args.megabytes} MiB direct {d:.1f} MB/s, tunnel {t:.1f} MB/s "
                  f"(CPU ms per MiB: hub {cpu[0] * 1e3:.1f}, agent {cpu[1] * 1e3:.1f}), bare relay {f:.1f} MB/s "
                  f"(hub {bare_cpu[0] * 1e3:.1f}, agent {bare_cpu[1] * 1e3:.1f})", flush=True)
        print(f"port-forward floor MB/s: bare relay {best['floor']:.1f}, direct {best['direct']:.1f}, "
              f"ratio {best['floor'] / best['direct']:.2f}; tunnel/floor {best['tunnel'] / best['floor']:.2f}")
        print(f"port-forward MB/s: tunnel {best['tunnel']:.1f}, direct {best['direct']:.1f}, "
              f"ratio {best['tunnel'] / best['direct']:.2f}")
    finally:
        stop_processes(procs)


if __name__ == "__main__":
    main()
