"""``python -m sandbox.karmadasim`` serves a Karmada whose controllers place workloads, until SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from kubernetes import client

from sandbox.kubesim import EmulatorServer
from sandbox.kubesim.testing import deployment_manifest

from .karmada_helpers import POLICY, cluster_ready, eventually, join

ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_a_working_karmada_until_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.karmadasim", "--port", "0", "--print-port",
                             "--token", "t0k:ops:system:masters", "--karmada-version", "v1.15.2",
                             "--status-interval", "0.3"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        assert proc.stdout.readline().strip() == f"listening on http://127.0.0.1:{port} (sandbox Karmada v1.15.2)"
        config = client.Configuration(host=f"http://127.0.0.1:{port}")
        config.api_key = {"authorization": "Bearer t0k"}
        with client.ApiClient(config) as api, EmulatorServer(seed_files=["local-3node"]) as member:
            crd = client.ApiextensionsV1Api(api).read_custom_resource_definition(
                "propagationpolicies.policy.karmada.io")
            assert crd.metadata.annotations["controller-gen.kubebuilder.io/version"] == "v0.18.0"
            join(api, "member1", member)
            eventually(lambda: cluster_ready(api, "member1"))
            client.AppsV1Api(api).create_namespaced_deployment("default", deployment_manifest("web", replicas=2))
            client.CustomObjectsApi(api).create_namespaced_custom_object(*POLICY, "default", "propagationpolicies", {
                "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "web"},
                "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]}})
            member_apps = client.AppsV1Api(member.api_client())

            def ready_in_member() -> int | None:
                try:
                    return member_apps.read_namespaced_deployment_status("web", "default").status.ready_replicas
                except client.ApiException:
                    return None

            assert eventually(ready_in_member) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
