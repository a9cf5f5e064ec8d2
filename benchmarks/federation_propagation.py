"""Propagation from a sandbox Karmada into its members through the hub and their agents.

    python benchmarks/federation_propagation.py [--deployments 200] [--members 3] [--direct]

Every component is its own process, as in production: N member API servers (kubesim), the
hub (`python -m cceone.hub`), one agent per member (`python -m cceone_agent`) and the sandbox
Karmada (`python -m sandbox.karmadasim`, API server and controllers). The members are joined
as CCE One joins them: each Cluster's apiEndpoint is the hub's proxy URL for the member and its
secret holds a platform token, so Karmada reaches the members only through the hub. One
PropagationPolicy duplicates every Deployment labelled `bench=yes` to all members (1:1); the
Deployments are created one after another in Karmada, and a watch on each member (straight
to the member, outside the path measured) notes when each arrives. `--direct` measures the
floor: the same with the members' own endpoints and tokens (nothing of the hub in the path). A Deployment's latency
is from its create call returning to its arrival in the last member. Last line:

    propagated N in S s, p99 to all members: P ms
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import free_port, stop_processes, wait_http  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from kubernetes import client, config, watch  # noqa: E402

CLUSTERS = ("cluster.karmada.io", "v1alpha1", "clusters")


def _kubesim(work: Path, name: str, procs: list, *extra: str) -> Path:
    kubeconfig = work / f"{name}.yaml"
    procs.append(subprocess.Popen(
        [sys.executable, "-m", "sandbox.kubesim" if name != "karmada" else "sandbox.karmadasim",
         "--port", str(free_port()), "--tls", "--kubeconfig", str(kubeconfig), *extra],
        cwd=str(ROOT), stdout=open(work / f"{name}.log", "wb"), stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    while not kubeconfig.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not start: see {work / (name + '.log')}")
        time.sleep(0.1)
    time.sleep(0.3)
    return kubeconfig


def _api(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(str(kubeconfig))


def _watch_member(api: client.ApiClient, arrived: dict, lock: threading.Lock, stop: threading.Event) -> None:
    apps = client.AppsV1Api(api)
    while not stop.is_set():
        try:
            for event in watch.Watch().stream(apps.list_namespaced_deployment, "default", label_selector="bench=yes",
                                              timeout_seconds=2):
                name = event["object"].metadata.name
                with lock:
                    arrived.setdefault(name, time.perf_counter())
        except Exception:  # noqa: BLE001 - a dropped watch is simply started again
            time.sleep(0.05)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deployments", type=int, default=200)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--status-interval", type=float, default=1.0)
    ap.add_argument("--direct", action="store_true",
                    help="the floor: members joined with their own endpoints and tokens, no hub or agent in the path")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="federation-bench-"))
    procs: list[subprocess.Popen] = []
    stop = threading.Event()
    try:
        members = [f"member{i + 1}" for i in range(args.members)]
        member_configs = {name: _kubesim(work, name, procs, "--no-controllers") for name in members}
        pub, internal = free_port(), free_port()
        (work / "hub.json").write_text(json.dumps({
            "clusters": [{"id": name, "agent_token": f"agent-{name}"} for name in members],
            # The platform token Karmada holds for its members (one per member in CCE One).
            "users": [{"token": "karmada-member", "username": "system:serviceaccount:karmada-cluster:karmada",
                       "groups": ["system:masters"]}]}))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "cceone.hub", "--config", str(work / "hub.json"), "--public", f"127.0.0.1:{pub}",
             "--internal", f"127.0.0.1:{internal}", "--secret", "bench", "--tls-dir", str(work / "tls"),
             "--log-level", "warning"], cwd=str(ROOT), stdout=open(work / "hub.log", "wb"), stderr=subprocess.STDOUT))
        wait_http(f"http://127.0.0.1:{internal}/healthz")
        for name in members:
            (work / f"{name}.token").write_text(f"agent-{name}")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "cceone_agent", "--hub", f"wss://127.0.0.1:{pub}", "--token-file",
                 str(work / f"{name}.token"), "--ca-file", str(work / "tls" / "ca.crt"), "--kubeconfig",
                 str(member_configs[name]), "--log-level", "warning"],
                cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT / "agent")},
                stdout=open(work / f"agent-{name}.log", "wb"), stderr=subprocess.STDOUT))
        for name in members:
            wait_http(f"http://127.0.0.1:{internal}/clusters/{name}/_status", {"X-Hub-Secret": "bench"},
                      ok=lambda body: json.loads(body)["connected"])
        karmada_config = _kubesim(work, "karmada", procs, "--status-interval", str(args.status_interval))
        karmada = _api(karmada_config)
        core, custom = client.CoreV1Api(karmada), client.CustomObjectsApi(karmada)
        try:
            core.create_namespace({"metadata": {"name": "karmada-cluster"}})
        except client.ApiException as error:  # the sandbox Karmada may start with it
            if error.status != 409:
                raise
        hub_ca = base64.b64encode((work / "tls" / "ca.crt").read_bytes()).decode()
        for name in members:
            endpoint, token, ca = f"https://127.0.0.1:{pub}/k8s/clusters/{name}", b"karmada-member", hub_ca
            if args.direct:
                import yaml

                kubeconfig = yaml.safe_load(member_configs[name].read_text())
                endpoint = kubeconfig["clusters"][0]["cluster"]["server"]
                token = kubeconfig["users"][0]["user"]["token"].encode()
                ca = kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]
            core.create_namespaced_secret("karmada-cluster", {"metadata": {"name": name}, "data": {
                "token": base64.b64encode(token).decode(), "caBundle": ca}})
            custom.create_cluster_custom_object(*CLUSTERS, {
                "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": name},
                "spec": {"syncMode": "Push", "apiEndpoint": endpoint,
                         "id": name, "secretRef": {"namespace": "karmada-cluster", "name": name}}})
        deadline = time.monotonic() + 120
        while True:
            ready = [c for c in custom.list_cluster_custom_object(*CLUSTERS)["items"]
                     if any(k["type"] == "Ready" and k["status"] == "True"
                            for k in (c.get("status") or {}).get("conditions") or [])
                     and not (c.get("spec") or {}).get("taints")]
            if len(ready) == len(members):
                break
            if time.monotonic() > deadline:
                raise SystemExit("the members did not become Ready in Karmada")
            time.sleep(0.2)
        custom.create_namespaced_custom_object("policy.karmada.io", "v1alpha1", "default", "propagationpolicies", {
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "bench"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                            "labelSelector": {"matchLabels": {"bench": "yes"}}}],
                     "placement": {"clusterAffinity": {"clusterNames": members},
                                   "replicaScheduling": {"replicaSchedulingType": "Duplicated"}}}})
        arrived = {name: {} for name in members}
        lock = threading.Lock()
        for name in members:
            threading.Thread(target=_watch_member, args=(_api(member_configs[name]), arrived[name], lock, stop),
                             daemon=True).start()
        time.sleep(1.0)  # the watches are open
        apps = client.AppsV1Api(karmada)
        created = {}
        start = time.perf_counter()
        for n in range(args.deployments):
            name = f"bench-{n:04d}"
            apps.create_namespaced_deployment("default", {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"bench": "yes"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}}})
            created[name] = time.perf_counter()
        deadline = time.monotonic() + max(120, args.deployments)
        while True:
            with lock:
                done = all(len(arrived[m]) >= args.deployments for m in members)
            if done:
                break
            if time.monotonic() > deadline:
                with lock:
                    counts = {m: len(arrived[m]) for m in members}
                raise SystemExit(f"not every Deployment arrived: {counts} of {args.deployments}")
            time.sleep(0.05)
        with lock:
            latencies = sorted((max(arrived[m][name] for m in members) - at) * 1000 for name, at in created.items())
            last = max(max(arrived[m].values()) for m in members)
        p99 = latencies[min(len(latencies) - 1, int(round(0.99 * len(latencies))) - 1)]
        print(f"members: {len(members)} ({'direct: the floor' if args.direct else 'through hub and agents'}); latency ms: median {statistics.median(latencies):.0f}, "
              f"max {latencies[-1]:.0f}; create calls took {(created[max(created)] - start):.1f} s")
        print(f"propagated {args.deployments} in {last - start:.1f} s, p99 to all members: {p99:.0f} ms")
    finally:
        stop.set()
        stop_processes(procs)


if __name__ == "__main__":
    main()
