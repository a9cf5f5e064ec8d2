"""autoscaling/v1 beside autoscaling/v2, and the Events the emulated controllers write, seen by stock
kubectl (1.33: protobuf bodies) and the official Python client over HTTP."""

from __future__ import annotations

import json

import kubernetes
import pytest

from sandbox.kubesim import EmulatorServer

from .test_kubesim_kubectl import kubectl, kubectl133  # noqa: F401  (stock kubectl, and kubectl 1.33)

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


def test_kubectl_132_autoscale_posts_autoscaling_v1(kubectl) -> None:  # noqa: F811
    kubectl("apply", "-f", "-", stdin=DEPLOYMENT % {"name": "older", "replicas": 1})
    made = kubectl("autoscale", "deployment", "older", "--cpu-percent=40", "--min=2", "--max=4", "-v=6")
    assert "POST" in made.stderr and "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers" in made.stderr
    row = kubectl("get", "hpa", "older", "--no-headers").stdout.split()
    assert row[:2] == ["older", "Deployment/older"] and "<unknown>/40%" in " ".join(row) and row[-4:-1] == ["2", "4", "0"]
    described = kubectl("describe", "hpa", "older").stdout
    assert "resource cpu on pods  (as a percentage of request):  <unknown> / 40%" in described


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


def _events(kubectl133, *selector: str) -> list[dict]:  # noqa: F811
    return json.loads(kubectl133("get", "events", "-n", "default", "-o", "json", *selector).stdout)["items"]


def test_controllers_write_events_kubectl_shows(kubectl133) -> None:  # noqa: F811
    kubectl133("apply", "-f", "-", stdin=DEPLOYMENT % {"name": "noisy", "replicas": 2})
    kubectl133("scale", "deployment", "noisy", "--replicas=3")
    described = kubectl133("describe", "deployment", "noisy").stdout
    events = described.split("Events:")[1]
    rs = json.loads(kubectl133("get", "rs", "-l", "app=noisy", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    assert "ScalingReplicaSet" in events and "deployment-controller" in events
    assert f"Scaled up replica set {rs} from 0 to 2" in events
    assert f"Scaled up replica set {rs} from 2 to 3" in events

    for_deployment = _events(kubectl133, "--field-selector", "involvedObject.kind=Deployment,involvedObject.name=noisy")
    first = next(e for e in for_deployment if e["message"].endswith("from 0 to 2"))
    deployment = json.loads(kubectl133("get", "deployment", "noisy", "-o", "json").stdout)
    assert first["involvedObject"]["uid"] == deployment["metadata"]["uid"]
    assert first["involvedObject"]["apiVersion"] == "apps/v1"
    assert (first["type"], first["count"], first["source"]["component"]) == ("Normal", 1, "deployment-controller")
    assert first["firstTimestamp"] and first["lastTimestamp"] >= first["firstTimestamp"]

    created = _events(kubectl133, "--field-selector", f"involvedObject.kind=ReplicaSet,involvedObject.name={rs}")
    pods = json.loads(kubectl133("get", "pods", "-l", "app=noisy", "-o", "json").stdout)["items"]
    assert sorted(e["message"] for e in created if e["reason"] == "SuccessfulCreate") == \
        sorted(f"Created pod: {p['metadata']['name']}" for p in pods)
    pod = pods[0]
    pod_events = kubectl133("describe", "pod", pod["metadata"]["name"]).stdout.split("Events:")[1]
    assert "Scheduled" in pod_events and "default-scheduler" in pod_events
    assert f"Successfully assigned default/{pod['metadata']['name']} to {pod['spec']['nodeName']}" in pod_events
    assert "Started container web" in pod_events

    # Scaling down and up again repeats a message: the Event counts up, as kubectl describe shows (x2).
    kubectl133("scale", "deployment", "noisy", "--replicas=2")
    kubectl133("scale", "deployment", "noisy", "--replicas=3")
    again = [e for e in _events(kubectl133, "--field-selector", "involvedObject.name=noisy")
             if e["message"].endswith("from 2 to 3")]
    assert len(again) == 1 and again[0]["count"] == 2
    assert "(x2 over" in kubectl133("describe", "deployment", "noisy").stdout
    table = kubectl133("get", "events", "--field-selector", "reason=SuccessfulDelete").stdout
    assert "replicaset/" + rs in table and "Deleted pod:" in table

    # The same Events through events.k8s.io/v1.
    newer = json.loads(kubectl133("get", "--raw", "/apis/events.k8s.io/v1/namespaces/default/events").stdout)
    scaled = [e for e in newer["items"] if e.get("reason") == "ScalingReplicaSet"
              and e["regarding"]["name"] == "noisy"]
    assert {e["note"] for e in scaled} >= {f"Scaled up replica set {rs} from 0 to 2",
                                          f"Scaled up replica set {rs} from 2 to 3"}
    assert all(e["apiVersion"] == "events.k8s.io/v1" and e["reportingController"] == "deployment-controller"
               for e in scaled)
    assert next(e for e in scaled if e["note"].endswith("from 2 to 3"))["deprecatedCount"] == 2


def test_events_through_the_official_client() -> None:
    with EmulatorServer(seed_files=["local-3node"]) as srv, srv.api_client() as api:
        batch = kubernetes.client.BatchV1Api(api)
        batch.create_namespaced_job("default", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "run", "image": "busybox"}]}}}})
        core = kubernetes.client.CoreV1Api(api)
        reasons = {e.reason for e in core.list_namespaced_event(
            "default", field_selector="involvedObject.kind=Job,involvedObject.name=once").items}
        assert reasons == {"SuccessfulCreate", "Completed"}
        newer = kubernetes.client.EventsV1Api(api).list_namespaced_event("default").items
        job_events = [e for e in newer if e.regarding.kind == "Job" and e.regarding.name == "once"]
        assert {e.reason for e in job_events} == {"SuccessfulCreate", "Completed"}
        assert all(e.deprecated_source.component == "job-controller" for e in job_events)
        # An Event written through events.k8s.io/v1 reads back through core/v1.
        kubernetes.client.EventsV1Api(api).create_namespaced_event("default", {
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "custom.1"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/ctl",
            "reportingInstance": "ctl-1", "action": "Check", "reason": "Checked", "type": "Normal",
            "note": "all good", "regarding": {"kind": "Job", "namespace": "default", "name": "once"}})
        core_view = core.read_namespaced_event("custom.1", "default")
        assert (core_view.message, core_view.involved_object.name, core_view.reporting_component) == \
            ("all good", "once", "example.com/ctl")
