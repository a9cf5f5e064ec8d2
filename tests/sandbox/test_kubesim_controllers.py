"""The minimal controllers: what a console sees change after someone acts."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from sandbox.kubesim import Emulator, EmulatorServer
from sandbox.kubesim.testing import deployment_manifest, pod_manifest, status_body

READY_WORKERS = {"worker-1", "worker-2"}  # cp-1 is tainted NoSchedule in the local-3node seed


def _owned_pods(core: client.CoreV1Api, ns: str, app: str) -> list[client.V1Pod]:
    return [p for p in core.list_namespaced_pod(ns, label_selector=f"app={app}").items
            if not p.metadata.deletion_timestamp]


def test_deployment_creates_replicaset_and_running_pods(apps: client.AppsV1Api, core: client.CoreV1Api,
                                                        ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment_manifest("web", replicas=3))
    dep = apps.read_namespaced_deployment("web", ns)
    assert (dep.status.replicas, dep.status.ready_replicas, dep.status.available_replicas,
            dep.status.updated_replicas, dep.status.observed_generation) == (3, 3, 3, 3, 1)
    assert {c.type: c.status for c in dep.status.conditions} == {"Available": "True", "Progressing": "True"}
    [rs] = apps.list_namespaced_replica_set(ns).items
    assert rs.metadata.owner_references[0].uid == dep.metadata.uid
    assert rs.metadata.name == f"web-{rs.metadata.labels['pod-template-hash']}"
    pods = _owned_pods(core, ns, "web")
    assert len(pods) == 3
    for pod in pods:
        assert pod.status.phase == "Running" and pod.spec.node_name in READY_WORKERS
        assert pod.metadata.owner_references[0].uid == rs.metadata.uid
        assert pod.status.container_statuses[0].ready and pod.status.pod_ip.startswith("10.244.")


def test_scaling_and_pod_replacement(apps: client.AppsV1Api, core: client.CoreV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment_manifest("api", replicas=2))
    apps.patch_namespaced_deployment_scale("api", ns, {"spec": {"replicas": 4}})
    assert len(_owned_pods(core, ns, "api")) == 4
    assert apps.read_namespaced_deployment("api", ns).status.ready_replicas == 4
    victim = _owned_pods(core, ns, "api")[0].metadata.name
    core.delete_namespaced_pod(victim, ns)
    names = {p.metadata.name for p in _owned_pods(core, ns, "api")}
    assert len(names) == 4 and victim not in names  # the ReplicaSet replaced it
    apps.patch_namespaced_deployment("api", ns, {"spec": {"replicas": 1}})
    assert len(_owned_pods(core, ns, "api")) == 1
    assert apps.read_namespaced_deployment("api", ns).status.replicas == 1


def test_template_change_rolls_out_a_new_replicaset(apps: client.AppsV1Api, core: client.CoreV1Api,
                                                    ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment_manifest("roll", replicas=2, image="nginx:1.25"))
    apps.patch_namespaced_deployment("roll", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.27"}]}}}})
    sets = {rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs
            for rs in apps.list_namespaced_replica_set(ns).items}
    assert set(sets) == {"1", "2"}
    assert sets["1"].spec.replicas == 0 and sets["2"].spec.replicas == 2
    assert {p.spec.containers[0].image for p in _owned_pods(core, ns, "roll")} == {"nginx:1.27"}
    dep = apps.read_namespaced_deployment("roll", ns)
    assert dep.metadata.generation == 2 and dep.status.observed_generation == 2


def test_deleting_a_deployment_cascades(apps: client.AppsV1Api, core: client.CoreV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment_manifest("gone", replicas=2))
    apps.delete_namespaced_deployment("gone", ns)
    assert apps.list_namespaced_replica_set(ns).items == []
    assert _owned_pods(core, ns, "gone") == []


def test_statefulset_pods_are_ordinal_with_bound_claims(apps: client.AppsV1Api, core: client.CoreV1Api,
                                                         ns: str) -> None:
    body = deployment_manifest("db", replicas=3)
    body["kind"] = "StatefulSet"
    body["spec"]["serviceName"] = "db"
    body["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}}]
    apps.create_namespaced_stateful_set(ns, body)
    pods = sorted(p.metadata.name for p in _owned_pods(core, ns, "db"))
    assert pods == ["db-0", "db-1", "db-2"]
    claims = {c.metadata.name: c for c in core.list_namespaced_persistent_volume_claim(ns).items}
    assert set(claims) == {"data-db-0", "data-db-1", "data-db-2"}
    assert all(c.status.phase == "Bound" and c.spec.storage_class_name == "standard" for c in claims.values())
    pv = core.read_persistent_volume(claims["data-db-0"].spec.volume_name)
    assert pv.spec.claim_ref.name == "data-db-0" and pv.spec.capacity["storage"] == "5Gi"
    sts = apps.read_namespaced_stateful_set("db", ns)
    assert (sts.status.replicas, sts.status.ready_replicas) == (3, 3)
    apps.patch_namespaced_stateful_set_scale("db", ns, {"spec": {"replicas": 1}})
    assert sorted(p.metadata.name for p in _owned_pods(core, ns, "db")) == ["db-0"]


def test_daemonset_runs_one_pod_per_schedulable_node(apps: client.AppsV1Api, core: client.CoreV1Api,
                                                     ns: str) -> None:
    body = deployment_manifest("agent")
    body["kind"] = "DaemonSet"
    del body["spec"]["replicas"]
    apps.create_namespaced_daemon_set(ns, body)
    nodes = sorted(p.spec.node_name for p in _owned_pods(core, ns, "agent"))
    assert nodes == ["worker-1", "worker-2"]  # the control plane's NoSchedule taint is not tolerated
    ds = apps.read_namespaced_daemon_set("agent", ns)
    assert (ds.status.desired_number_scheduled, ds.status.number_ready) == (2, 2)
    apps.patch_namespaced_daemon_set("agent", ns, {"spec": {"template": {"spec": {"tolerations": [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}}}})
    assert sorted(p.spec.node_name for p in _owned_pods(core, ns, "agent")) == ["cp-1", "worker-1", "worker-2"]


def test_job_runs_to_completion(api: client.ApiClient, core: client.CoreV1Api, ns: str) -> None:
    batch = client.BatchV1Api(api)
    batch.create_namespaced_job(ns, {"metadata": {"name": "once"}, "spec": {"completions": 2, "template": {
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}}})
    job = batch.read_namespaced_job("once", ns)
    assert job.status.succeeded == 2 and job.status.completion_time
    assert {c.type for c in job.status.conditions} >= {"Complete"}
    pods = core.list_namespaced_pod(ns, label_selector="batch.kubernetes.io/job-name=once").items
    assert [p.status.phase for p in pods] == ["Succeeded", "Succeeded"]


def test_bare_pod_is_scheduled_or_left_pending(core: client.CoreV1Api, ns: str) -> None:
    pod = core.create_namespaced_pod(ns, pod_manifest("bare"))
    assert pod.status.phase == "Pending"  # the create response is what the API server stored
    running = core.read_namespaced_pod("bare", ns)
    assert running.status.phase == "Running" and running.spec.node_name in READY_WORKERS
    picky = pod_manifest("picky")
    picky["spec"]["nodeSelector"] = {"disk": "nvme"}
    core.create_namespaced_pod(ns, picky)
    pending = core.read_namespaced_pod("picky", ns)
    assert pending.status.phase == "Pending"
    [cond] = pending.status.conditions
    assert (cond.type, cond.status, cond.reason) == ("PodScheduled", "False", "Unschedulable")
    assert cond.message.startswith("0/3 nodes are available:")


def test_eviction_honours_pod_disruption_budget(apps: client.AppsV1Api, core: client.CoreV1Api,
                                                api: client.ApiClient, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment_manifest("guarded", replicas=3))
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(ns, {
        "metadata": {"name": "guarded"}, "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "guarded"}}}})
    pdb = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget("guarded", ns)
    assert (pdb.status.current_healthy, pdb.status.desired_healthy, pdb.status.disruptions_allowed) == (3, 3, 0)
    victim = _owned_pods(core, ns, "guarded")[0].metadata.name
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": victim, "namespace": ns}}
    with pytest.raises(client.ApiException) as e:
        core.create_namespaced_pod_eviction(victim, ns, eviction)
    body = status_body(e.value)
    assert (e.value.status, body["reason"]) == (429, "TooManyRequests")
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"][0] == {"reason": "DisruptionBudget",
                                            "message": "The disruption budget guarded needs 3 healthy pods and has 3 "
                                                       "currently"}
    assert core.read_namespaced_pod(victim, ns).metadata.name == victim  # still there

    client.PolicyV1Api(api).patch_namespaced_pod_disruption_budget("guarded", ns, {"spec": {"minAvailable": 2}})
    core.create_namespaced_pod_eviction(victim, ns, eviction)
    remaining = {p.metadata.name for p in _owned_pods(core, ns, "guarded")}
    assert victim not in remaining and len(remaining) == 3  # evicted, and the ReplicaSet made a replacement


def test_eviction_without_budget_deletes_the_pod(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("free"))
    core.create_namespaced_pod_eviction("free", ns, {"metadata": {"name": "free"}})
    assert core.list_namespaced_pod(ns).items == []


def test_controllers_can_be_turned_off() -> None:
    emulator = Emulator(controllers=False)
    emulator.put_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                         "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    with EmulatorServer(emulator) as srv:
        api = srv.api_client()
        try:
            client.AppsV1Api(api).create_namespaced_deployment("default", deployment_manifest("still", replicas=2))
            assert client.CoreV1Api(api).list_namespaced_pod("default").items == []
            assert client.AppsV1Api(api).list_namespaced_replica_set("default").items == []
        finally:
            api.close()


def test_a_seeded_deployment_written_back_with_defaults_keeps_its_pods(emulator: Any, apps: client.AppsV1Api,
                                                                       core: client.CoreV1Api, ns: str) -> None:
    """Seeds are stored as written (no defaults); a client that writes the same Deployment back
    (Karmada adopting it after a promote) sends the defaulted template. The API server stores
    defaults on both, so the Deployment controller sees the same template: no new ReplicaSet."""
    template = {"metadata": {"labels": {"app": "seeded"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}
    dep = emulator.put_object({"apiVersion": "apps/v1", "kind": "Deployment",
                               "metadata": {"name": "seeded", "namespace": ns, "labels": {"app": "seeded"}},
                               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "seeded"}},
                                        "template": template}})
    hashed = {**template, "metadata": {"labels": {"app": "seeded", "pod-template-hash": "5d4f8b7c9"}}}
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "seeded", "uid": dep["metadata"]["uid"],
             "controller": True}
    rs = emulator.put_object({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                              "metadata": {"name": "seeded-5d4f8b7c9", "namespace": ns, "ownerReferences": [owner],
                                           "labels": hashed["metadata"]["labels"],
                                           "annotations": {"deployment.kubernetes.io/revision": "1"}},
                              "spec": {"replicas": 1, "selector": {"matchLabels": hashed["metadata"]["labels"]},
                                       "template": hashed}})
    emulator.put_object({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": "seeded-5d4f8b7c9-abcde", "namespace": ns,
                                      "labels": hashed["metadata"]["labels"],
                                      "ownerReferences": [{**owner, "kind": "ReplicaSet", "name": rs["metadata"]["name"],
                                                           "uid": rs["metadata"]["uid"]}]},
                         "spec": {**template["spec"], "nodeName": "worker-1"}, "status": {"phase": "Running"}})
    written = apps.read_namespaced_deployment("seeded", ns)
    written.metadata.labels["adopted"] = "yes"  # an update through the API: defaults are filled in
    apps.replace_namespaced_deployment("seeded", ns, written)
    assert apps.read_namespaced_deployment("seeded", ns).spec.template.spec.containers[0].termination_message_path
    assert [r.metadata.name for r in apps.list_namespaced_replica_set(ns).items] == ["seeded-5d4f8b7c9"]
    assert [p.metadata.name for p in _owned_pods(core, ns, "seeded")] == ["seeded-5d4f8b7c9-abcde"]


@pytest.mark.parametrize("kind, namespace, name", [("StatefulSet", "prod", "postgres"),
                                                   ("DaemonSet", "kube-system", "kube-proxy")])
def test_seeded_statefulset_and_daemonset_written_back_with_defaults_keep_their_pods(
        apps: client.AppsV1Api, core: client.CoreV1Api, kind: str, namespace: str, name: str) -> None:
    read, replace = ((apps.read_namespaced_stateful_set, apps.replace_namespaced_stateful_set) if kind == "StatefulSet"
                     else (apps.read_namespaced_daemon_set, apps.replace_namespaced_daemon_set))

    def pods() -> dict[str, str]:
        return {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(namespace).items
                if any(o.name == name and o.kind == kind for o in p.metadata.owner_references or [])
                and not p.metadata.deletion_timestamp}

    before = pods()
    assert before
    written = read(name, namespace)
    written.metadata.labels = {**(written.metadata.labels or {}), "adopted": "yes"}
    replace(name, namespace, written)
    assert pods() == before
