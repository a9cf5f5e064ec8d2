"""Shared by the sandbox Karmada tests: members joined the way ``karmadactl join`` leaves them."""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client

from sandbox.kubesim import EmulatorServer
from sandbox.kubesim.testing import wait_for

CLUSTERS = ("cluster.karmada.io", "v1alpha1", "clusters")
POLICY = ("policy.karmada.io", "v1alpha1")
BINDINGS = ("work.karmada.io", "v1alpha2")


def join(karmada_api: client.ApiClient, name: str, member: EmulatorServer, **spec: Any) -> None:
    """In the member: namespace, service account ``karmada-<name>`` bound to a cluster-admin-like role,
    its token Secret (karmada SPEC §4.2 step 4); in Karmada: the Secret and the Cluster (steps 5-6)."""
    with member.api_client() as admin:
        core, rbac = client.CoreV1Api(admin), client.RbacAuthorizationV1Api(admin)
        system = {"karmada.io/system": "true"}
        core.create_namespace({"metadata": {"name": "karmada-cluster", "labels": system}})
        core.create_namespaced_service_account("karmada-cluster", {"metadata": {"name": f"karmada-{name}",
                                                                                "labels": system}})
        role = f"karmada-controller-manager:karmada-{name}"
        rbac.create_cluster_role({"metadata": {"name": role, "labels": system}, "rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["get"]}]})
        rbac.create_cluster_role_binding({
            "metadata": {"name": role, "labels": system},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": f"karmada-{name}", "namespace": "karmada-cluster"}]})
        core.create_namespaced_secret("karmada-cluster", {
            "metadata": {"name": f"karmada-{name}", "labels": system,
                         "annotations": {"kubernetes.io/service-account.name": f"karmada-{name}"}},
            "type": "kubernetes.io/service-account-token"})
        token = wait_for(lambda: (core.read_namespaced_secret(f"karmada-{name}", "karmada-cluster").data or {})
                         .get("token"))
        cluster_id = core.read_namespace("kube-system").metadata.uid
    client.CoreV1Api(karmada_api).create_namespaced_secret("karmada-cluster", {
        "metadata": {"name": name, "labels": {"karmada.io/system": "true"}}, "data": {"token": token}})
    client.CustomObjectsApi(karmada_api).create_cluster_custom_object(*CLUSTERS, {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": name},
        "spec": {"syncMode": "Push", "apiEndpoint": member.url, "id": cluster_id,
                 "secretRef": {"namespace": "karmada-cluster", "name": name}, **spec}})


def condition(obj: dict, type_: str) -> dict | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), None)


def cluster_ready(karmada_api: client.ApiClient, name: str) -> bool:
    cluster = client.CustomObjectsApi(karmada_api).get_cluster_custom_object(*CLUSTERS, name)
    ready = condition(cluster, "Ready")
    return bool(ready and ready["status"] == "True" and not (cluster.get("spec") or {}).get("taints"))


def token_of(value: str) -> str:
    return base64.b64decode(value).decode()


def eventually(check, timeout: float = 20.0):  # noqa: ANN001, ANN201 - wait_for's signature
    """``wait_for`` with room for a loaded machine: the controllers are several threads and servers."""
    return wait_for(check, timeout=timeout)
