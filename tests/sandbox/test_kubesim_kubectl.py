"""Stock kubectl against the emulator (HTTPS: kubectl never sends a token over plain HTTP)."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Iterator

import pytest
import yaml

from sandbox.kubesim import EmulatorServer

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25", ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {greeting: hello}
"""


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    binary = shutil.which("kubectl")
    assert binary, "kubectl is required for this test (apt-get install kubernetes-client)"
    home = tmp_path_factory.mktemp("kubectl-home")
    with EmulatorServer(tls=True, seed_files=["local-3node"]) as srv:
        config = srv.write_kubeconfig(home / "config")
        env = {**os.environ, "HOME": str(home), "KUBECONFIG": config}

        def run(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
            result = subprocess.run([binary, "--cache-dir", str(home / "cache"), *args], input=stdin, env=env,
                                    capture_output=True, text=True, timeout=60)
            if check:
                assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
            return result

        yield run


def test_get_pods_across_namespaces(kubectl) -> None:
    out = kubectl("get", "pods", "-A").stdout
    header = out.splitlines()[0].split()
    assert header == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    crashing = next(line.split() for line in out.splitlines() if line.startswith("prod") and "api-" in line
                    and "CrashLoopBackOff" in line)
    assert crashing[2:5] == ["0/1", "CrashLoopBackOff", "7"]
    assert "ImagePullBackOff" in out and "Completed" in out


def test_apply_get_yaml_scale_logs_delete(kubectl) -> None:
    applied = kubectl("apply", "-f", "-", stdin=MANIFEST).stdout
    assert "namespace/shop created" in applied and "deployment.apps/web created" in applied
    again = kubectl("apply", "-f", "-", stdin=MANIFEST.replace("greeting: hello", "greeting: hi")).stdout
    assert "configmap/web-config configured" in again and "deployment.apps/web unchanged" in again
    assert kubectl("get", "configmap", "web-config", "-n", "shop", "-o", "jsonpath={.data.greeting}").stdout == "hi"

    deployment = yaml.safe_load(kubectl("get", "deploy", "web", "-n", "shop", "-o", "yaml").stdout)
    assert deployment["spec"]["replicas"] == 2 and deployment["status"]["readyReplicas"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in deployment["metadata"]["annotations"]

    kubectl("scale", "deploy/web", "-n", "shop", "--replicas=3")
    pods = kubectl("get", "pods", "-n", "shop", "-l", "app=web", "-o", "name").stdout.split()
    assert len(pods) == 3
    assert "start worker processes" in kubectl("logs", "-n", "shop", pods[0]).stdout

    assert 'deployment.apps "web" deleted' in kubectl("delete", "deploy", "web", "-n", "shop").stdout
    assert kubectl("get", "pods", "-n", "shop", "-o", "name").stdout.strip() == ""
    missing = kubectl("get", "deploy", "web", "-n", "shop", check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "web" not found' in missing.stderr


def test_auth_can_i_with_impersonation(kubectl) -> None:
    assert kubectl("auth", "can-i", "delete", "nodes").stdout.strip() == "yes"
    denied = kubectl("auth", "can-i", "list", "pods", "-n", "prod", "--as", "nobody", check=False)
    assert denied.stdout.strip() == "no" and denied.returncode == 1
    allowed = kubectl("auth", "can-i", "patch", "deployments", "-n", "prod", "--as", "dev",
                      "--as-group", "prod-deployers")
    assert allowed.stdout.strip() == "yes"
    forbidden = kubectl("get", "nodes", "--as", "nobody", check=False)
    assert 'nodes is forbidden: User "nobody" cannot list resource "nodes" in API group "" at the cluster scope' \
        in forbidden.stderr
