"""Discovery and authentication, as DynamicClient, kubectl and raw HTTP see them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes import client, dynamic

from sandbox.kubesim.testing import status_body


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_dynamic_client_discovers_builtin_kinds_and_subresources(dyn: dynamic.DynamicClient) -> None:
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    assert pods.namespaced and pods.name == "pods" and "po" in pods.short_names
    assert {"log", "status", "eviction"} <= set(pods.subresources)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert {"status", "scale"} <= set(deployments.subresources)
    assert deployments.subresources["scale"].kind == "Scale"
    for api_version, kind in [("v1", "Namespace"), ("v1", "Node"), ("v1", "Service"), ("v1", "Endpoints"),
                              ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "ServiceAccount"), ("v1", "Event"),
                              ("v1", "PersistentVolume"), ("v1", "PersistentVolumeClaim"),
                              ("storage.k8s.io/v1", "StorageClass"), ("apps/v1", "StatefulSet"),
                              ("apps/v1", "DaemonSet"), ("apps/v1", "ReplicaSet"), ("batch/v1", "Job"),
                              ("batch/v1", "CronJob"), ("networking.k8s.io/v1", "Ingress"),
                              ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
                              ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
                              ("policy/v1", "PodDisruptionBudget"), ("coordination.k8s.io/v1", "Lease")]:
        assert dyn.resources.get(api_version=api_version, kind=kind).kind == kind
    nodes = dyn.resources.get(api_version="v1", kind="Node")
    assert not nodes.namespaced
    assert len(nodes.get().items) == 3  # from the local-3node seed


def test_version_and_group_documents(server, api: client.ApiClient) -> None:
    version = client.VersionApi(api).get_code()
    assert version.git_version == "v1.31.4" and version.major == "1" and version.minor == "31"
    status, groups = _get(server.url + "/apis", "admin-token")
    assert status == 200 and groups["kind"] == "APIGroupList"
    names = {g["name"] for g in groups["groups"]}
    assert {"apps", "batch", "rbac.authorization.k8s.io", "policy", "storage.k8s.io", "networking.k8s.io",
            "apiextensions.k8s.io", "authorization.k8s.io"} <= names
    status, core = _get(server.url + "/api/v1", "admin-token")
    log = next(r for r in core["resources"] if r["name"] == "pods/log")
    assert log["verbs"] == ["get"] and log["kind"] == "Pod"


def test_missing_or_wrong_token_is_401_status(server) -> None:
    for token in (None, "wrong-token"):
        status, body = _get(server.url + "/api/v1/namespaces", token)
        assert status == 401
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def test_bad_token_with_official_client(client_for) -> None:
    with pytest.raises(client.ApiException) as e:
        client.CoreV1Api(client_for("nope")).list_namespace()
    assert e.value.status == 401 and status_body(e.value)["reason"] == "Unauthorized"


def test_health_and_version_are_public(server) -> None:
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as resp:
        assert resp.read() == b"ok"
    assert _get(server.url + "/version")[0] == 200


def test_unknown_resource_is_404(server) -> None:
    status, body = _get(server.url + "/apis/apps/v1/namespaces/default/widgets", "admin-token")
    assert status == 404 and body["reason"] == "NotFound"


def test_discovery_allowed_for_any_authenticated_user(server) -> None:
    # system:discovery is bound to system:authenticated, like on a real cluster
    assert _get(server.url + "/apis/apps/v1", "plain-token")[0] == 200
    status, body = _get(server.url + "/api/v1/namespaces", "plain-token")
    assert status == 403
    assert body["message"] == ('namespaces is forbidden: User "plain" cannot list resource "namespaces" '
                               'in API group "" at the cluster scope')


def _raw(url: str, accept: str) -> tuple[str, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": "Bearer admin-token", "Accept": accept})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers["Content-Type"], resp.read()


def test_openapi_documents_describe_the_served_kinds(server) -> None:
    """v2 in JSON for JSON clients (protobuf, empty, for kubectl), v3 per group version."""
    ctype, body = _raw(server.url + "/openapi/v2", "application/json")
    assert ctype == "application/json"
    v2 = json.loads(body)
    deployment = v2["definitions"]["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "version": "v1", "kind": "Deployment"}]
    assert deployment["properties"]["spec"]["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    pod_spec = v2["definitions"]["io.k8s.api.core.v1.PodSpec"]
    assert pod_spec["properties"]["containers"]["x-kubernetes-patch-merge-key"] == "name"
    assert "containers" in pod_spec["required"]
    assert v2["definitions"]["io.k8s.api.core.v1.ServicePort"]["properties"]["port"]["type"] == "integer"
    ctype, _ = _raw(server.url + "/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert ctype == "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

    root = json.loads(_raw(server.url + "/openapi/v3", "application/json")[1])
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    apps = json.loads(_raw(server.url + url, "application/json")[1])
    spec = apps["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]
    assert spec["properties"]["replicas"]["type"] == "integer"
    assert "Number of desired pods" in spec["properties"]["replicas"]["description"]
    assert "io.k8s.api.core.v1.PodTemplateSpec" in apps["components"]["schemas"]
