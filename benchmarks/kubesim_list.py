"""How fast kubesim lists: ``python -m benchmarks.kubesim_list [pods]`` (default 10,000 pods in one namespace).

Reports seeding time, the latency of a first page of 100 (HTTP round trip
included), and the size and latency of the full list.
"""

from __future__ import annotations

import statistics
import sys
import time
import urllib.request

from sandbox.kubesim import Emulator, EmulatorServer


def main(count: int = 10_000) -> None:
    emulator = Emulator(controllers=False)
    started = time.perf_counter()
    emulator.put_objects({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": f"pod-{i:05d}", "namespace": "bench", "labels": {"app": "bench"},
                                       "annotations": {"padding": "x" * 400}},
                          "spec": {"containers": [{"name": "main", "image": "nginx"}], "nodeName": "n1"},
                          "status": {"phase": "Running"}} for i in range(count))
    print(f"seeded {count} pods in {time.perf_counter() - started:.2f}s")
    with EmulatorServer(emulator) as srv:
        def fetch(query: str) -> bytes:
            req = urllib.request.Request(f"{srv.url}/api/v1/namespaces/bench/pods?{query}",
                                         headers={"Authorization": "Bearer admin-token"})
            with urllib.request.urlopen(req) as resp:
                return resp.read()

        for query in ("limit=100", "limit=100&labelSelector=app%3Dbench", ""):
            times = []
            for _ in range(5 if not query else 50):
                t = time.perf_counter()
                body = fetch(query)
                times.append((time.perf_counter() - t) * 1000)
            print(f"GET ?{query or '(full list)'}: median {statistics.median(times):.1f} ms, "
                  f"{len(body) / 1e6:.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
