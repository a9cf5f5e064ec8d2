"""One cluster inspection through hub and agent on a large cluster.

    python benchmarks/inspection.py [--pods 5000] [--workloads 500] [--roles 200] [--nodes 100]

As in production, the API server (the kubesim emulator), the access hub and the agent are
separate processes; the inspection runs in this process (Celery eager) exactly as a worker
runs it: paged lists of every kind the checks read, every check, waivers, score and diff.
Last line:

    inspected N objects in S s, API calls: C

Target: ≤ 20 s; API calls grow with pages of 500, not with objects.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import free_port, stop_processes, wait_http  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "admin-token"


def objects(pods: int, workloads: int, roles: int, nodes: int) -> list[dict]:
    found = []
    for i in range(nodes):
        found.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i:03d}"},
                      "status": {"nodeInfo": {"kubeletVersion": "v1.30.2", "containerRuntimeVersion": "containerd://1.7"},
                                 "conditions": [{"type": "Ready", "status": "True" if i % 25 else "Unknown",
                                                 "reason": "KubeletReady" if i % 25 else "NodeStatusUnknown"}]}})
    for i in range(workloads):
        ns = f"team-{i % 20}"
        container = {"name": "app", "image": f"registry.example.com/app-{i}:1.{i % 7}" if i % 9 else "nginx",
                     "imagePullPolicy": "Always" if i % 2 else "IfNotPresent",
                     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}} if i % 3 else {},
                     "securityContext": {"privileged": i % 50 == 0, "runAsNonRoot": i % 4 == 0}}
        found.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"app-{i}", "namespace": ns},
                      "spec": {"selector": {"matchLabels": {"app": f"app-{i}"}},
                               "template": {"metadata": {"labels": {"app": f"app-{i}"}},
                                            "spec": {"containers": [container]}}}})
    for i in range(pods):
        found.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": f"app-{i % workloads}-{i:05d}", "namespace": f"team-{i % 20}",
                                   "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                        "name": f"app-{i % workloads}-7d9c8", "uid": f"rs-{i}",
                                                        "controller": True}]},
                      "spec": {"nodeName": f"node-{i % nodes:03d}",
                               "containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]},
                      "status": {"phase": "Running"}})
    for i in range(roles):
        verbs = ["get", "list"] if i % 5 else ["get", "delete"]
        found.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                      "metadata": {"name": f"role-{i}", "namespace": f"team-{i % 20}"},
                      "rules": [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": verbs}]})
    return found


def start(args: list[str], log: Path, env=None) -> subprocess.Popen:
    handle = open(log, "wb")
    return subprocess.Popen([sys.executable, *args], cwd=str(ROOT), stdout=handle, stderr=handle, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--workloads", type=int, default=500)
    parser.add_argument("--roles", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=100)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="inspection-bench-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "cceone.settings", "CCEONE_VAR_DIR": str(work / "var"),
                       "DATABASE_URL": f"sqlite:///{work / 'console.sqlite3'}", "CELERY_TASK_ALWAYS_EAGER": "true"})
    procs: list[subprocess.Popen] = []
    try:
        seed = work / "cluster.yaml"
        seed.write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                    "items": objects(args.pods, args.workloads, args.roles, args.nodes)}))
        api_port = free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        procs.append(start(["-m", "sandbox.kubesim", "--port", str(api_port), "--no-controllers",
                            "--seed", str(seed)], work / "kubesim.log"))
        wait_http(f"{api_url}/version", {"Authorization": f"Bearer {TOKEN}"}, timeout=180)

        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from cceone.iam.models import EnterpriseProject, Region
        from cceone.iam.services import create_account
        from clusters.models import RegisteredCluster

        account = create_account("Bench Ltd.", "bench", "Bench-password-42")
        user = account.owner
        cluster = RegisteredCluster.objects.create(
            account=account, name="bench", cluster_type="local", region=Region.default(),
            enterprise_project=EnterpriseProject.objects.get(account=account), status="running", creator=user)

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

        from operations import services

        started = time.perf_counter()
        inspection = services.start_inspection(user, cluster)
        elapsed = time.perf_counter() - started
        inspection.refresh_from_db()
        if inspection.status != "succeeded":
            raise SystemExit(f"inspection {inspection.status}: {inspection.display_message()}")
        print(f"score {inspection.score}; findings: {inspection.counts}")
        print(f"inspected {inspection.objects_inspected} objects in {elapsed:.1f} s, API calls: {inspection.api_calls}")
    finally:
        stop_processes(procs)


if __name__ == "__main__":
    main()
