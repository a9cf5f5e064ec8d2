"""Helpers the benchmark scripts share (they run as plain scripts: `python benchmarks/x.py`)."""
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, headers: dict | None = None, timeout: float = 60, ok=lambda body: True) -> bytes:
    """GET `url` until it answers (and `ok(body)`), or give up after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            body = urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5).read()
            if ok(body):
                return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {url}")
        time.sleep(0.1)


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """Terminate benchmark processes, newest first; kill what does not stop in 10 s."""
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def interleaved(first, second, n: int, warmup: int = 200) -> tuple[list[float], list[float]]:
    """Seconds taken by `first()` and `second()`, called alternately `n` times
    after `warmup` rounds (alternating, so drift hits both sides equally)."""
    for _ in range(warmup):
        first()
        second()
    a, b = [], []
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        a.append(t1 - t0)
        b.append(t2 - t1)
    return a, b


def rotated(calls: list, n: int, warmup: int = 200) -> list[list[float]]:
    """Seconds taken by each of `calls`, all called once per round for `n` rounds after
    `warmup`; the order rotates every round so no side always runs first."""
    k = len(calls)
    for _ in range(warmup):
        for call in calls:
            call()
    times: list[list[float]] = [[] for _ in calls]
    clock = time.perf_counter
    for i in range(n):
        for j in range(k):
            side = (i + j) % k
            t0 = clock()
            calls[side]()
            times[side].append(clock() - t0)
    return times


def wait_listening(port: int, timeout: float = 60) -> None:
    """Until something accepts TCP connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing listens on port {port}")
            time.sleep(0.05)
