"""autoscaling/v1 beside autoscaling/v2, and the Events the emulated controllers write, seen by stock
kubectl (1.33: protobuf bodies) and the official Python client over HTTP."""

from __future__ import annotations

import json

import kubernetes
import pytest

from sandbox.kubesim import EmulatorServer

from .test_kubesim_kubectl import kubectl133  # noqa: F401  (the module's kubectl 1.33 fixture)

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: %(name)s, namespace: default}
spec:
  replicas: %(replicas)d
  selector: {matchLabels: {app: %(name)s}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25", resources: {requests: {cpu: 100m}}}
"""


def test_autoscaling_v1_beside_v2(kubectl133) -> None:  # noqa: F811
    groups = json.loads(kubectl133("get", "--raw", "/apis/autoscaling").stdout)
    assert [v["version"] for v in groups["versions"]] == ["v2", "v1"]
    assert groups["preferredVersion"]["version"] == "v2"
    v1 = json.loads(kubectl133("get", "--raw", "/apis/autoscaling/v1").stdout)
    assert "horizontalpodautoscalers" in [r["name"] for r in v1["resources"]]
    assert "horizontalpodautoscalers.autoscaling" in kubectl133("api-resources", "--api-group=autoscaling",
                                                                "-o", "name").stdout.split()

    kubectl133("apply", "-f", "-", stdin=DEPLOYMENT % {"name": "scaled", "replicas": 1})
    kubectl133("autoscale", "deployment", "scaled", "--cpu-percent=50", "--min=1", "--max=3")
    table = kubectl133("get", "hpa", "scaled").stdout
    assert "Deployment/scaled" in table and "cpu: <unknown>/50%" in table.replace("cpu:<unknown>", "cpu: <unknown>")
    as_v1 = json.loads(kubectl133("get", "horizontalpodautoscalers.v1.autoscaling", "scaled", "-o", "json").stdout)
    assert as_v1["apiVersion"] == "autoscaling/v1"
    assert as_v1["spec"]["targetCPUUtilizationPercentage"] == 50
    assert (as_v1["spec"]["minReplicas"], as_v1["spec"]["maxReplicas"]) == (1, 3)
    assert "metrics" not in as_v1["spec"]
    as_v2 = json.loads(kubectl133("get", "horizontalpodautoscalers.v2.autoscaling", "scaled", "-o", "json").stdout)
    assert as_v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]

    # Written at v1 (the old manifest shape), read at v2; patched at v1.
    kubectl133("apply", "-f", "-", stdin=DEPLOYMENT % {"name": "legacy", "replicas": 1})
    kubectl133("apply", "-f", "-", stdin="""
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: legacy, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: legacy}
  minReplicas: 2
  maxReplicas: 5
  targetCPUUtilizationPercentage: 70
""")
    metrics = kubectl133("get", "horizontalpodautoscalers.v2.autoscaling", "legacy", "-o", "jsonpath={.spec.metrics}").stdout
    assert json.loads(metrics) == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    kubectl133("patch", "horizontalpodautoscalers.v1.autoscaling", "legacy", "--type=merge", "-p",
               '{"spec": {"targetCPUUtilizationPercentage": 60}}')
    assert "cpu: <unknown>/60%" in kubectl133("get", "hpa", "legacy").stdout.replace("cpu:<unknown>",
                                                                                      "cpu: <unknown>")


def test_official_client_reads_one_hpa_in_both_versions() -> None:
    with EmulatorServer(seed_files=["local-3node"]) as srv:
        with srv.api_client() as api:
            v2 = kubernetes.client.AutoscalingV2Api(api)
            v1 = kubernetes.client.AutoscalingV1Api(api)
            v2.create_namespaced_horizontal_pod_autoscaler("default", {
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "both"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                         "minReplicas": 1, "maxReplicas": 4,
                         "metrics": [{"type": "Resource", "resource": {
                             "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 65}}},
                             {"type": "Resource", "resource": {
                                 "name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}]}})
            old = v1.read_namespaced_horizontal_pod_autoscaler("both", "default")
            assert old.spec.target_cpu_utilization_percentage == 65
            assert old.spec.max_replicas == 4
            # What v1 cannot say survives a round trip through it.
            v1.replace_namespaced_horizontal_pod_autoscaler("both", "default", old)
            new = v2.read_namespaced_horizontal_pod_autoscaler("both", "default")
            assert [m.resource.name for m in new.spec.metrics] == ["cpu", "memory"]
            assert new.spec.metrics[1].resource.target.average_value == "100Mi"
            assert not (new.metadata.annotations or {})
            listed = v1.list_namespaced_horizontal_pod_autoscaler("default")
            assert {h.metadata.name: h.spec.target_cpu_utilization_percentage for h in listed.items}["both"] == 65
