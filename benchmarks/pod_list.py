"""Server time of the pod list page's first page on a namespace of 10,000 pods.

    python benchmarks/pod_list.py [--pods 10000] [--requests 30]

As in production, the API server (the kubesim emulator), the access hub and the agent
are separate processes; the console (Django, a fresh SQLite database in a temporary
directory) serves `/k8s/cluster/<id>/pods/?namespace=bench` in this process, so the time
measured is the page's server time: IAM and status checks, the gateway's list through
hub and agent as the impersonated user, the table and the template.

The baseline, "direct client list", is the official client (the gateway's DynamicClient)
listing the same first page (limit=100) straight from the API server: no hub, no agent,
no console. Last line:

    first page median ms: X, ratio vs direct client list: Y

Target: median ≤ 300 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import free_port, stop_processes, wait_http  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "admin-token"
NAMESPACE = "bench"


def pod(i: int) -> dict:
    """A pod as a Deployment's would look, status included (about 1.5 KB of JSON)."""
    name = f"shop-7d9c8b6f5-{i:05d}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": f"00000000-0000-4000-8000-{i:012d}",
                     "creationTimestamp": "now-2d", "labels": {"app": "shop", "pod-template-hash": "7d9c8b6f5"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-7d9c8b6f5",
                                          "uid": "11111111-0000-4000-8000-000000000000", "controller": True}]},
        "spec": {"nodeName": f"worker-{1 + i % 2}", "restartPolicy": "Always", "serviceAccountName": "default",
                 "containers": [{"name": "shop", "image": "registry.example.com/shop:1.4.2",
                                 "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]},
        "status": {"phase": "Running", "podIP": f"10.244.{i // 250}.{i % 250 + 2}", "hostIP": "10.0.0.11",
                   "qosClass": "Burstable", "startTime": "now-2d",
                   "conditions": [{"type": t, "status": "True", "lastTransitionTime": "now-2d"}
                                  for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                   "containerStatuses": [{"name": "shop", "ready": True, "restartCount": i % 3, "started": True,
                                          "image": "registry.example.com/shop:1.4.2",
                                          "state": {"running": {"startedAt": "now-2d"}}}]},
    }


def start(args: list[str], log: Path, env=None) -> subprocess.Popen:
    handle = open(log, "wb")
    return subprocess.Popen([sys.executable, *args], cwd=str(ROOT), stdout=handle, stderr=handle, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30, help="measured requests per side, after warm-up")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pod-list-bench-"))
    # Production settings serve static files from a manifest: collected here, into the scratch
    # directory, rather than hoping someone ran collectstatic in the checkout.
    os.environ.update({"DJANGO_SETTINGS_MODULE": "cceone.settings", "CCEONE_VAR_DIR": str(work / "var"),
                       "DATABASE_URL": f"sqlite:///{work / 'console.sqlite3'}", "CELERY_TASK_ALWAYS_EAGER": "true",
                       "STATIC_ROOT": str(work / "static")})
    procs: list[subprocess.Popen] = []
    try:
        # The API server, seeded with the pods.
        seed = work / "pods.yaml"
        seed.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod(i) for i in range(args.pods)]}))
        api_port = free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        started = time.perf_counter()
        procs.append(start(["-m", "sandbox.kubesim", "--port", str(api_port), "--no-controllers",
                            "--seed", "local-3node", "--seed", str(seed)], work / "kubesim.log"))
        wait_http(f"{api_url}/version", {"Authorization": f"Bearer {TOKEN}"})
        print(f"API server with {args.pods} pods in namespace {NAMESPACE} up in {time.perf_counter() - started:.1f}s")

        # The console's database, tenant and cluster.
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        from cceone.iam.models import EnterpriseProject, Region
        from cceone.iam.services import create_account
        from cceone.kube.gateway import identity_for
        from clusters.models import RegisteredCluster

        account = create_account("Bench Ltd.", "bench", "Bench-password-42")
        user = account.owner
        cluster = RegisteredCluster.objects.create(
            account=account, name="bench", cluster_type="local", region=Region.default(),
            enterprise_project=EnterpriseProject.objects.get(account=account), status="running", creator=user)

        # Hub and agent, as their own processes.
        public, internal, secret = free_port(), free_port(), "bench-secret"
        (work / "hub.json").write_text(json.dumps({"clusters": [{"id": str(cluster.pk), "agent_token": "bench-agent"}]}))
        (work / "token").write_text("bench-agent")
        (work / "kubeconfig.json").write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "x",
            "clusters": [{"name": "x", "cluster": {"server": api_url}}],
            "users": [{"name": "x", "user": {"token": TOKEN}}],
            "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}]}))
        procs.append(start(["-m", "cceone.hub", "--config", str(work / "hub.json"), "--public", f"127.0.0.1:{public}",
                            "--internal", f"127.0.0.1:{internal}", "--secret", secret, "--tls-dir", str(work / "tls"),
                            "--log-level", "warning"], work / "hub.log"))
        internal_url = f"http://127.0.0.1:{internal}"
        wait_http(f"{internal_url}/healthz")
        agent_env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "agent"),
                                                                             os.environ.get("PYTHONPATH")])))
        procs.append(start(["-m", "cceone_agent", "--hub", f"wss://127.0.0.1:{public}", "--token-file",
                            str(work / "token"), "--ca-file", str(work / "tls" / "ca.crt"), "--kubeconfig",
                            str(work / "kubeconfig.json"), "--log-level", "warning"], work / "agent.log", agent_env))
        wait_http(f"{internal_url}/clusters/{cluster.pk}/_status", {"X-Hub-Secret": secret},
                  ok=lambda body: json.loads(body)["connected"])
        settings.CCEONE_HUB_INTERNAL_URL, settings.CCEONE_HUB_SECRET = internal_url, secret

        # The user may read the cluster (their own RBAC, as the console impersonates them).
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "bench-admin"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "User", "name": identity_for(user).username,
                                 "apiGroup": "rbac.authorization.k8s.io"}]}
        urllib.request.urlopen(urllib.request.Request(
            f"{api_url}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", data=json.dumps(binding).encode(),
            method="POST", headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})).read()

        from django.test import Client

        client = Client(HTTP_HOST="127.0.0.1")  # a default ALLOWED_HOSTS name, as a browser on this machine sends
        client.force_login(user)
        url = f"/k8s/cluster/{cluster.pk}/pods/?namespace={NAMESPACE}&limit=100"

        def page() -> float:
            t = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - t) * 1000
            body = response.content.decode()
            if response.status_code != 200 or body.count("shop-7d9c8b6f5-") < 100:
                raise SystemExit(f"unexpected page: {response.status_code} {body[:300]}")
            return elapsed

        from kubernetes import client as k8s
        from kubernetes.dynamic import DynamicClient

        configuration = k8s.Configuration(host=api_url)
        configuration.api_key = {"authorization": TOKEN}
        configuration.api_key_prefix = {"authorization": "Bearer"}
        pods = DynamicClient(k8s.ApiClient(configuration)).resources.get(api_version="v1", kind="Pod")

        def direct() -> float:
            t = time.perf_counter()
            listed = pods.get(namespace=NAMESPACE, limit=100)
            elapsed = (time.perf_counter() - t) * 1000
            if len(listed.items) != 100:
                raise SystemExit("the direct list did not return 100 pods")
            return elapsed

        for _ in range(3):  # warm-up: connections, discovery cache, templates
            page()
            direct()
        page_times, direct_times = [], []
        for _ in range(args.requests):  # interleaved, so drift hits both sides alike
            page_times.append(page())
            direct_times.append(direct())
        page_ms, direct_ms = statistics.median(page_times), statistics.median(direct_times)
        print(f"direct client list (limit=100): median {direct_ms:.1f} ms, p90 "
              f"{sorted(direct_times)[int(len(direct_times) * 0.9)]:.1f} ms")
        print(f"pod list page (100 rows, through hub and agent): median {page_ms:.1f} ms, p90 "
              f"{sorted(page_times)[int(len(page_times) * 0.9)]:.1f} ms (target ≤ 300 ms)")
        print(f"first page median ms: {page_ms:.1f}, ratio vs direct client list: {page_ms / direct_ms:.2f}")
    finally:
        stop_processes(procs)


if __name__ == "__main__":
    main()
