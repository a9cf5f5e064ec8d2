"""Throughput of `kubectl port-forward` through hub and agent versus straight to the API server.

    python benchmarks/port_forward.py [--megabytes 50] [--rounds 3]

Every component is its own process, as in production: the API server (the kubesim
emulator over TLS, serving a pod whose port 8080 answers GET /bytes/<n>), the hub
(`python -m cceone.hub`, agent link over TLS), the agent (`python -m cceone_agent`) and
two stock `kubectl port-forward`s, one with a kubeconfig for the emulator itself and one
with a kubeconfig for the hub's proxy. Each round downloads the same body through both
(alternating, so drift hits both sides equally); the best round of each counts. Last line:

    port-forward MB/s: tunnel T, direct D, ratio R
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import free_port, stop_processes, wait_http  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench", "namespace": "default"},
       "spec": {"containers": [{"name": "main", "image": "nginx:1.25", "ports": [{"containerPort": 8080}]}]},
       "status": {"phase": "Running"}}


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
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--megabytes", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
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
            cwd=str(ROOT), env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "agent")},
            stdout=open(work / "agent.log", "wb"), stderr=subprocess.STDOUT))
        wait_http(f"http://127.0.0.1:{internal}/clusters/bench/_status", {"X-Hub-Secret": "bench"},
                  ok=lambda body: json.loads(body)["connected"])
        (work / "tunnel.yaml").write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "hub",
            "clusters": [{"name": "hub", "cluster": {"server": f"https://127.0.0.1:{pub}/k8s/clusters/bench",
                                                     "certificate-authority": str(work / "tls" / "ca.crt")}}],
            "users": [{"name": "hub", "user": {"token": "bench-user"}}],
            "contexts": [{"name": "hub", "context": {"cluster": "hub", "user": "hub"}}]}))

        direct, direct_port = _forward(work / "direct.yaml", work / "direct-forward.log")
        procs.append(direct)
        tunnel, tunnel_port = _forward(work / "tunnel.yaml", work / "tunnel-forward.log")
        procs.append(tunnel)
        _download(direct_port, 1 << 20), _download(tunnel_port, 1 << 20)  # warm-up
        best_direct = best_tunnel = 0.0
        hub, agent = procs[1].pid, procs[2].pid
        for n in range(args.rounds):
            d = _download(direct_port, size)
            cpu0 = _cpu(hub), _cpu(agent)
            t = _download(tunnel_port, size)
            cpu = [(_cpu(pid) - before) / args.megabytes for pid, before in zip((hub, agent), cpu0)]
            best_direct, best_tunnel = max(best_direct, d), max(best_tunnel, t)
            print(f"round {n + 1}: {args.megabytes} MiB direct {d:.1f} MB/s, tunnel {t:.1f} MB/s "
                  f"(CPU ms per MiB: hub {cpu[0] * 1e3:.1f}, agent {cpu[1] * 1e3:.1f})")
        print(f"port-forward MB/s: tunnel {best_tunnel:.1f}, direct {best_direct:.1f}, "
              f"ratio {best_tunnel / best_direct:.2f}")
    finally:
        stop_processes(procs)


if __name__ == "__main__":
    main()
