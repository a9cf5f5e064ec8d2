"""Create/get/list/update/patch/delete for every built-in kind, and the API's write rules."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from kubernetes import client, dynamic

from sandbox.kubesim.testing import deployment_manifest, pod_manifest, status_body

_ids = itertools.count()
RBAC = "rbac.authorization.k8s.io"
POD_SPEC = {"containers": [{"name": "main", "image": "busybox:1.36"}]}


def _manifests(name: str) -> list[tuple[str, str, bool, dict[str, Any]]]:
    """(apiVersion, kind, namespaced, body without apiVersion/kind/name)."""
    template = {"metadata": {"labels": {"app": name}}, "spec": POD_SPEC}
    selector = {"matchLabels": {"app": name}}
    return [
        ("v1", "Namespace", False, {}),
        ("v1", "Node", False, {"metadata": {"labels": {"pool": "x"}}}),
        ("v1", "Pod", True, {"spec": POD_SPEC}),
        ("v1", "Service", True, {"spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}),
        ("v1", "Endpoints", True, {"subsets": []}),
        ("v1", "ConfigMap", True, {"data": {"k": "v"}}),
        ("v1", "Secret", True, {"stringData": {"password": "hunter2"}}),
        ("v1", "ServiceAccount", True, {}),
        ("v1", "Event", True, {"involvedObject": {"kind": "Pod", "name": "x"}, "reason": "Test", "message": "m"}),
        ("v1", "PersistentVolume", False, {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                                    "hostPath": {"path": "/tmp"}}}),
        ("v1", "PersistentVolumeClaim", True, {"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "none",
                                                        "resources": {"requests": {"storage": "1Gi"}}}}),
        ("storage.k8s.io/v1", "StorageClass", False, {"provisioner": "example.com/none"}),
        ("apps/v1", "Deployment", True, {"spec": {"replicas": 0, "selector": selector, "template": template}}),
        ("apps/v1", "StatefulSet", True, {"spec": {"replicas": 0, "serviceName": name, "selector": selector,
                                                   "template": template}}),
        ("apps/v1", "DaemonSet", True, {"spec": {"selector": selector, "template": {
            **template, "spec": {**POD_SPEC, "nodeSelector": {"nowhere": "true"}}}}}),
        ("apps/v1", "ReplicaSet", True, {"spec": {"replicas": 0, "selector": selector, "template": template}}),
        ("batch/v1", "Job", True, {"spec": {"suspend": True, "template": {
            "spec": {**POD_SPEC, "restartPolicy": "Never"}}}}),
        ("batch/v1", "CronJob", True, {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {
            "spec": {**POD_SPEC, "restartPolicy": "Never"}}}}}}),
        ("networking.k8s.io/v1", "Ingress", True, {"spec": {"rules": [{"host": "a.example.com"}]}}),
        (f"{RBAC}/v1", "Role", True, {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        (f"{RBAC}/v1", "ClusterRole", False, {"rules": [{"apiGroups": [""], "resources": ["nodes"],
                                                         "verbs": ["list"]}]}),
        (f"{RBAC}/v1", "RoleBinding", True, {"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
                                             "subjects": [{"kind": "User", "name": "bob"}]}),
        (f"{RBAC}/v1", "ClusterRoleBinding", False, {"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole",
                                                                 "name": "view"},
                                                     "subjects": [{"kind": "Group", "name": "viewers"}]}),
        ("policy/v1", "PodDisruptionBudget", True, {"spec": {"minAvailable": 1, "selector": selector}}),
        ("coordination.k8s.io/v1", "Lease", True, {"spec": {"holderIdentity": "me"}}),
    ]


KINDS = [(api_version, kind) for api_version, kind, _, _ in _manifests("x")]


@pytest.mark.parametrize("api_version,kind", KINDS, ids=[k for _, k in KINDS])
def test_crud_roundtrip(dyn: dynamic.DynamicClient, ns: str, api_version: str, kind: str) -> None:
    name = f"{kind.lower()}-{next(_ids)}"
    _, _, namespaced, body = next(m for m in _manifests(name) if m[1] == kind)
    resource = dyn.resources.get(api_version=api_version, kind=kind)
    where = {"namespace": ns} if namespaced else {}
    manifest = {"apiVersion": api_version, "kind": kind, **body,
                "metadata": {**body.get("metadata", {}), "name": name, "labels": {"suite": "crud", "id": name}}}

    created = resource.create(body=manifest, **where)
    assert created.metadata.name == name and created.metadata.uid and created.metadata.creationTimestamp
    assert int(created.metadata.resourceVersion) > 0

    fetched = resource.get(name=name, **where)
    assert fetched.metadata.uid == created.metadata.uid
    listed = resource.get(label_selector=f"id={name}", **where)
    assert [i.metadata.name for i in listed.items] == [name]

    update = fetched.to_dict()
    update["metadata"]["annotations"] = {"touched": "put"}
    replaced = resource.replace(body=update, **where)
    assert replaced.metadata.annotations["touched"] == "put"
    assert int(replaced.metadata.resourceVersion) > int(fetched.metadata.resourceVersion)

    patched = resource.patch(name=name, body={"metadata": {"labels": {"patched": "yes"}}},
                             content_type="application/merge-patch+json", **where)
    assert patched.metadata.labels["patched"] == "yes" and patched.metadata.annotations["touched"] == "put"

    resource.delete(name=name, **where)
    with pytest.raises(dynamic.exceptions.NotFoundError):
        resource.get(name=name, **where)


def test_secret_string_data_is_folded_into_data(core: client.CoreV1Api, ns: str) -> None:
    secret = core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"user": "root"}})
    assert secret.data == {"user": "cm9vdA=="} and secret.type == "Opaque"


def test_create_in_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as e:
        core.create_namespaced_config_map("no-such-ns", {"metadata": {"name": "x"}})
    body = status_body(e.value)
    assert e.value.status == 404
    assert body["message"] == 'namespaces "no-such-ns" not found'
    assert body["details"] == {"name": "no-such-ns", "kind": "namespaces"}


def test_duplicate_create_is_409_already_exists(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment_manifest("dup", replicas=0))
    with pytest.raises(client.ApiException) as e:
        apps.create_namespaced_deployment(ns, deployment_manifest("dup", replicas=0))
    body = status_body(e.value)
    assert (e.value.status, body["reason"]) == (409, "AlreadyExists")
    assert body["message"] == 'deployments.apps "dup" already exists'
    assert body["details"] == {"name": "dup", "group": "apps", "kind": "deployments"}


def test_invalid_name_is_422_with_real_message(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(client.ApiException) as e:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "Bad_Name"}})
    body = status_body(e.value)
    assert (e.value.status, body["reason"]) == (422, "Invalid")
    assert body["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
                                      "a lowercase RFC 1123 subdomain must consist of")
    assert body["details"]["causes"][0]["field"] == "metadata.name"


def test_missing_name_and_generate_name(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(client.ApiException) as e:
        core.create_namespaced_config_map(ns, {"data": {}})
    assert status_body(e.value)["message"] == ('ConfigMap "" is invalid: metadata.name: Required value: '
                                               "name or generateName is required")
    made = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "cfg-"}})
    assert made.metadata.name.startswith("cfg-") and len(made.metadata.name) == len("cfg-") + 5


def test_kind_or_version_mismatch_with_url_is_400(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(client.ApiException) as e:
        core.create_namespaced_config_map(ns, {"apiVersion": "apps/v1", "kind": "ConfigMap",
                                               "metadata": {"name": "x"}})
    assert e.value.status == 400
    assert status_body(e.value)["message"] == ("the API version in the data (apps/v1) does not match the "
                                               "expected API version (v1)")
    with pytest.raises(client.ApiException) as e:
        core.create_namespaced_config_map(ns, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert e.value.status == 400 and status_body(e.value)["reason"] == "BadRequest"


def test_pod_without_containers_is_invalid(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(client.ApiException) as e:
        core.create_namespaced_pod(ns, {"metadata": {"name": "empty"}, "spec": {"containers": []}})
    assert status_body(e.value)["message"] == 'Pod "empty" is invalid: spec.containers: Required value'


def test_deployment_selector_must_match_template(apps: client.AppsV1Api, ns: str) -> None:
    body = deployment_manifest("mismatch")
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(client.ApiException) as e:
        apps.create_namespaced_deployment(ns, body)
    assert status_body(e.value)["message"] == (
        'Deployment.apps "mismatch" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`')


def test_deleting_a_namespace_deletes_its_objects(core: client.CoreV1Api, apps: client.AppsV1Api,
                                                  emulator) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "cfg"}})
    core.create_namespaced_pod("doomed", pod_manifest("p"))
    apps.create_namespaced_deployment("doomed", deployment_manifest("d", replicas=1))
    gone = json.loads(core.delete_namespace("doomed", _preload_content=False).data)
    assert gone["kind"] == "Namespace" and gone["status"]["phase"] == "Terminating"
    with pytest.raises(client.ApiException) as e:
        core.read_namespace("doomed")
    assert e.value.status == 404
    assert core.list_namespaced_config_map("doomed").items == []
    assert core.list_namespaced_pod("doomed").items == []
    assert emulator.list_objects("apps/v1", "ReplicaSet", "doomed") == []


def test_default_namespace_cannot_be_deleted(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as e:
        core.delete_namespace("default")
    assert (e.value.status, status_body(e.value)["message"]) == (
        403, 'namespaces "default" is forbidden: this namespace may not be deleted')


def test_service_gets_cluster_ip_and_defaults(core: client.CoreV1Api, ns: str) -> None:
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "web"},
                                              "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
    assert svc.spec.cluster_ip.startswith("10.96.")
    assert svc.spec.ports[0].protocol == "TCP" and svc.spec.ports[0].target_port == 80
    assert 30000 <= svc.spec.ports[0].node_port <= 32767
    again = core.patch_namespaced_service("web", ns, {"metadata": {"labels": {"x": "y"}}})
    assert again.spec.cluster_ip == svc.spec.cluster_ip


def test_delete_collection_with_selector(core: client.CoreV1Api, ns: str) -> None:
    for i in range(4):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"c{i}", "labels": {"even": str(i % 2 == 0)}}})
    core.delete_collection_namespaced_config_map(ns, label_selector="even=True")
    # (kube-root-ca.crt is in every new namespace, as in a real cluster)
    assert sorted(c.metadata.name for c in core.list_namespaced_config_map(ns).items) == ["c1", "c3",
                                                                                          "kube-root-ca.crt"]


def test_dry_run_persists_nothing(core: client.CoreV1Api, ns: str) -> None:
    made = core.create_namespaced_config_map(ns, {"metadata": {"name": "dry"}}, dry_run="All")
    assert made.metadata.name == "dry"
    assert [c.metadata.name for c in core.list_namespaced_config_map(ns).items] == ["kube-root-ca.crt"]


def test_finalizers_delay_deletion_until_removed(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("held", ns)
    assert core.read_namespaced_config_map("held", ns).metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException) as e:
        core.read_namespaced_config_map("held", ns)
    assert e.value.status == 404
