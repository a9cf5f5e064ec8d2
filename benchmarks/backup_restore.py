"""Back up and restore 5,000 objects across 50 namespaces through hub and agent to an S3 server.

    python benchmarks/backup_restore.py [--namespaces 50] [--per-namespace 100]

As in production the source cluster's API server (kubesim), the access hub and the agent are
separate processes; the S3 API is moto's server over HTTP; the target cluster is a second
kubesim reached directly. The console's services run in this process (tasks eager, a fresh
SQLite database in a temporary directory). Backup: discovery, paged lists, the tarball, the
upload. Restore: download, checksum, plan, one create per object into new namespaces. Last line:

    backup S1 s, restore S2 s, objects: N

Target: ≤ 60 s each.
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


def objects(namespaces: int, per_namespace: int) -> list[dict]:
    """Per namespace: ConfigMaps, Secrets, Services and Deployments in the proportions 4:3:2:1."""
    items = []
    for n in range(namespaces):
        ns = f"team-{n:02d}"
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for i in range(per_namespace - 1):
            kind = ("ConfigMap", "ConfigMap", "ConfigMap", "ConfigMap", "Secret", "Secret", "Secret", "Service",
                    "Service", "Deployment")[i % 10]
            meta = {"name": f"{kind.lower()}-{i:03d}", "namespace": ns, "labels": {"app": f"app-{i % 7}"}}
            if kind == "ConfigMap":
                items.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "data": {"k": "v" * 200}})
            elif kind == "Secret":
                items.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "type": "Opaque",
                              "data": {"password": "c2VjcmV0"}})
            elif kind == "Service":
                items.append({"apiVersion": "v1", "kind": kind, "metadata": meta,
                              "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}],
                                       "clusterIP": f"10.96.{n}.{i}"}})
            else:
                labels = {"app": meta["name"]}
                items.append({"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": {
                    "replicas": 2, "selector": {"matchLabels": labels}, "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "app", "image": "harbor.old/team/app:1.0"}]}}}})
    return items


def wait_file(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size):
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} was not written within {timeout:.0f} s")
        time.sleep(0.1)


def start(args: list[str], log: Path, env=None) -> subprocess.Popen:
    handle = open(log, "wb")
    return subprocess.Popen([sys.executable, *args], cwd=str(ROOT), stdout=handle, stderr=handle, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--per-namespace", type=int, default=100)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="backup-bench-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "cceone.settings", "CCEONE_VAR_DIR": str(work / "var"),
                       "DATABASE_URL": f"sqlite:///{work / 'console.sqlite3'}", "CELERY_TASK_ALWAYS_EAGER": "true"})
    procs: list[subprocess.Popen] = []
    try:
        seed = work / "objects.json"
        seed.write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                    "items": objects(args.namespaces, args.per_namespace)}))
        source_port, target_port = free_port(), free_port()
        procs.append(start(["-m", "sandbox.kubesim", "--port", str(source_port), "--no-controllers",
                            "--seed", str(seed)], work / "source.log"))
        # The target is a cloud cluster, reached directly: over HTTPS, verified with its CA.
        procs.append(start(["-m", "sandbox.kubesim", "--port", str(target_port), "--no-controllers", "--tls",
                            "--kubeconfig", str(work / "target-kubeconfig.yaml")], work / "target.log"))
        wait_http(f"http://127.0.0.1:{source_port}/version", {"Authorization": f"Bearer {TOKEN}"})
        wait_file(work / "target-kubeconfig.yaml")
        import base64

        import yaml

        target_cluster = yaml.safe_load((work / "target-kubeconfig.yaml").read_text())["clusters"][0]["cluster"]

        from moto.server import ThreadedMotoServer

        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        s3_server.start()
        s3_url = "http://%s:%d" % s3_server.get_host_and_port()

        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        import boto3

        from backups import services
        from backups.models import StorageLocation
        from cceone.iam.models import EnterpriseProject, Region
        from cceone.iam.services import create_account
        from clusters.models import CloudProviderCluster, RegisteredCluster

        account = create_account("Bench Ltd.", "bench", "Bench-password-42")
        user = account.owner
        project = EnterpriseProject.objects.get(account=account)
        source = RegisteredCluster.objects.create(account=account, name="source", cluster_type="local",
                                                  region=Region.default(), enterprise_project=project,
                                                  status="running", creator=user)
        cloud = CloudProviderCluster(account=account, region=Region.default(), name="target-cloud",
                                     edition="cce_managed", api_endpoint=target_cluster["server"],
                                     ca_data=base64.b64decode(target_cluster["certificate-authority-data"]).decode())
        cloud.token = TOKEN
        cloud.save()
        target = RegisteredCluster.objects.create(account=account, name="target", cluster_type="cloud",
                                                  region=Region.default(), enterprise_project=project,
                                                  status="running", creator=user, cloud_cluster=cloud,
                                                  connection_mode="direct")

        public, internal, secret = free_port(), free_port(), "bench-secret"
        (work / "hub.json").write_text(json.dumps({"clusters": [{"id": str(source.pk), "agent_token": "bench"}]}))
        (work / "token").write_text("bench")
        (work / "kubeconfig.json").write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "x",
            "clusters": [{"name": "x", "cluster": {"server": f"http://127.0.0.1:{source_port}"}}],
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
        wait_http(f"{internal_url}/clusters/{source.pk}/_status", {"X-Hub-Secret": secret},
                  ok=lambda body: json.loads(body)["connected"])
        settings.CCEONE_HUB_INTERNAL_URL, settings.CCEONE_HUB_SECRET = internal_url, secret

        boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_bucket(Bucket="bench")
        location = services.save_location(user, None, name="bench", endpoint=s3_url, region="us-east-1",
                                          bucket="bench", prefix="", access_key="bench", secret_key="bench")
        namespaces = [f"team-{n:02d}" for n in range(args.namespaces)]

        started = time.perf_counter()
        backup = services.start_backup(user, cluster=source, location=location, name="bench", namespaces=namespaces)
        backup_s = time.perf_counter() - started
        backup.refresh_from_db()
        if backup.phase != "completed":
            raise SystemExit(f"backup {backup.phase}: {backup.message}")
        print(f"backup: {backup.item_count} objects, {backup.size / 1e6:.1f} MB, {backup_s:.1f} s")

        started = time.perf_counter()
        restore = services.start_restore(
            user, backup, target=target, namespace_mapping={ns: f"{ns}-new" for ns in namespaces},
            cleansing_rules=[{"operations": [{"attribute": "image", "old": "harbor.old", "new": "harbor.new"}]}])
        restore_s = time.perf_counter() - started
        restore.refresh_from_db()
        if restore.phase != "completed":
            raise SystemExit(f"restore {restore.phase}: {restore.message}")
        print(f"restore: {restore.counts}, {restore_s:.1f} s (target ≤ 60 s each)")
        print(f"backup {backup_s:.1f} s, restore {restore_s:.1f} s, objects: {backup.item_count}")
        s3_server.stop()
    finally:
        stop_processes(procs)


if __name__ == "__main__":
    main()
