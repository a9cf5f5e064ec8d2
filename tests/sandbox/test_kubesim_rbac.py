"""RBAC for impersonated users, evaluated from Roles and bindings stored in the emulator."""

from __future__ import annotations

import pytest
from kubernetes import client

from sandbox.kubesim.testing import deployment_manifest, pod_manifest, status_body

from .conftest import AGENT, PLAIN

RBAC = "rbac.authorization.k8s.io"


def role(name: str, rules: list[dict]) -> dict:
    return {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": name}, "rules": rules}


def binding(name: str, role_kind: str, role_name: str, *subjects: tuple[str, str]) -> dict:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name},
            "subjects": [{"kind": kind, "name": name, **({"apiGroup": RBAC} if kind != "ServiceAccount" else {})}
                         for kind, name in subjects]}


@pytest.fixture(scope="module")
def namespaces(api: client.ApiClient) -> tuple[str, str]:
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    a, b = "rbac-a", "rbac-b"
    for ns in (a, b):
        core.create_namespace({"metadata": {"name": ns}})
        core.create_namespaced_pod(ns, pod_manifest("victim", image="busybox:1.36"))
    rbac.create_namespaced_role(a, role("deployer", [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "get", "list", "watch"]}]))
    rbac.create_namespaced_role_binding(a, binding("alice-deployer", "Role", "deployer", ("User", "alice")))
    rbac.create_namespaced_role(a, role("one-config", [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "update"],
         "resourceNames": ["allowed"]}]))
    rbac.create_namespaced_role_binding(a, binding("bob-one-config", "Role", "one-config", ("User", "bob")))
    core.create_namespaced_config_map(a, {"metadata": {"name": "allowed"}})
    core.create_namespaced_config_map(a, {"metadata": {"name": "secret-ish"}})
    rbac.create_namespaced_role_binding(a, binding("devs-edit", "ClusterRole", "edit", ("Group", "devs")))
    rbac.create_namespaced_role(a, role("log-reader", [
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["get", "update", "patch"]}]))
    rbac.create_namespaced_role_binding(a, binding("erin-logs", "Role", "log-reader", ("User", "erin")))
    rbac.create_cluster_role_binding({
        "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "carol-view"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "carol"}]})
    return a, b


def forbidden(call, *args, **kwargs) -> str:
    with pytest.raises(client.ApiException) as e:
        call(*args, **kwargs)
    body = status_body(e.value)
    assert (e.value.status, body["reason"], body["code"]) == (403, "Forbidden", 403)
    return body["message"]


def test_role_grants_only_within_its_namespace(namespaces, client_for) -> None:
    a, b = namespaces
    alice = client.AppsV1Api(client_for(impersonate="alice"))
    made = alice.create_namespaced_deployment(a, deployment_manifest("by-alice", replicas=0))
    assert made.metadata.namespace == a
    assert [d.metadata.name for d in alice.list_namespaced_deployment(a).items] == ["by-alice"]
    assert forbidden(alice.create_namespaced_deployment, b, deployment_manifest("nope", replicas=0)) == (
        f'deployments.apps is forbidden: User "alice" cannot create resource "deployments" in API group "apps" '
        f'in the namespace "{b}"')
    assert forbidden(alice.delete_namespaced_deployment, "by-alice", a) == (
        f'deployments.apps "by-alice" is forbidden: User "alice" cannot delete resource "deployments" in API group '
        f'"apps" in the namespace "{a}"')


def test_forbidden_messages_for_core_and_cluster_scope(namespaces, client_for) -> None:
    a, _ = namespaces
    core = client.CoreV1Api(client_for(impersonate="alice"))
    assert forbidden(core.list_node) == ('nodes is forbidden: User "alice" cannot list resource "nodes" in API group '
                                         '"" at the cluster scope')
    assert forbidden(core.delete_namespaced_pod, "victim", a) == (
        f'pods "victim" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace '
        f'"{a}"')
    with pytest.raises(client.ApiException) as e:
        core.delete_namespaced_pod("victim", a)
    assert status_body(e.value)["details"] == {"name": "victim", "kind": "pods"}


def test_resource_names_restrict_named_requests_only(namespaces, client_for) -> None:
    a, _ = namespaces
    bob = client.CoreV1Api(client_for(impersonate="bob"))
    assert bob.read_namespaced_config_map("allowed", a).metadata.name == "allowed"
    forbidden(bob.read_namespaced_config_map, "secret-ish", a)
    # list cannot be restricted by resourceNames unless it is pinned to that name, like the real API
    forbidden(bob.list_namespaced_config_map, a)
    pinned = bob.list_namespaced_config_map(a, field_selector="metadata.name=allowed")
    assert [c.metadata.name for c in pinned.items] == ["allowed"]
    forbidden(bob.create_namespaced_config_map, a, {"metadata": {"name": "allowed2"}})


def test_cluster_role_binding_grants_everywhere(namespaces, client_for) -> None:
    a, b = namespaces
    carol = client.CoreV1Api(client_for(impersonate="carol"))
    assert [p.metadata.name for p in carol.list_namespaced_pod(b).items] == ["victim"]
    assert len(carol.list_pod_for_all_namespaces().items) > 10
    forbidden(carol.list_namespaced_secret, a)  # "view" does not include secrets
    forbidden(carol.delete_namespaced_pod, "victim", a)


def test_group_subjects(namespaces, client_for) -> None:
    a, _ = namespaces
    dev = client.CoreV1Api(client_for(impersonate="dave", group="devs"))
    assert dev.create_namespaced_config_map(a, {"metadata": {"name": "by-dave"}}).metadata.name == "by-dave"
    lone = client.CoreV1Api(client_for(impersonate="dave"))
    forbidden(lone.create_namespaced_config_map, a, {"metadata": {"name": "by-lone-dave"}})


def test_subresource_rules(namespaces, client_for, api) -> None:
    a, _ = namespaces
    client.AppsV1Api(api).create_namespaced_deployment(a, deployment_manifest("scalable", replicas=0))
    erin_api = client_for(impersonate="erin")
    core, apps = client.CoreV1Api(erin_api), client.AppsV1Api(erin_api)
    assert core.read_namespaced_pod_log("victim", a) == ""  # pods/log granted...
    assert forbidden(core.read_namespaced_pod, "victim", a) == (  # ...but not the pod itself
        f'pods "victim" is forbidden: User "erin" cannot get resource "pods" in API group "" in the namespace "{a}"')
    assert apps.patch_namespaced_deployment_scale("scalable", a, {"spec": {"replicas": 0}}).spec.replicas == 0
    forbidden(apps.patch_namespaced_deployment, "scalable", a, {"metadata": {"labels": {"x": "y"}}})
    alice = client.CoreV1Api(client_for(impersonate="alice"))
    assert "cannot get resource \"pods/log\"" in forbidden(alice.read_namespaced_pod_log, "victim", a)


def test_service_account_subject_and_masters_group(client_for) -> None:
    agent = client.CoreV1Api(client_for(AGENT))  # cluster-admin through a ClusterRoleBinding to its ServiceAccount
    assert len(agent.list_node().items) == 3
    masters = client.CoreV1Api(client_for(impersonate="root-ish", group="system:masters"))
    assert len(masters.list_node().items) == 3
    agent_as_alice = client.CoreV1Api(client_for(AGENT, impersonate="alice"))
    forbidden(agent_as_alice.list_node)


def test_impersonation_needs_permission(client_for) -> None:
    plain = client.CoreV1Api(client_for(PLAIN, impersonate="alice"))
    assert forbidden(plain.list_namespace) == ('users "alice" is forbidden: User "plain" cannot impersonate resource '
                                               '"users" in API group "" at the cluster scope')


def test_self_subject_access_review(namespaces, client_for) -> None:
    a, b = namespaces
    authz = client.AuthorizationV1Api(client_for(impersonate="alice"))

    def can(verb: str, resource: str, group: str = "", namespace: str = "") -> bool:
        review = authz.create_self_subject_access_review({"spec": {"resourceAttributes": {
            "verb": verb, "resource": resource, "group": group, "namespace": namespace}}})
        return review.status.allowed

    assert can("create", "deployments", "apps", a)
    assert not can("create", "deployments", "apps", b)
    assert not can("list", "nodes")
    rules = authz.create_self_subject_rules_review({"spec": {"namespace": a}}).status.resource_rules
    assert any("deployments" in r.resources and "create" in r.verbs for r in rules)


def test_subject_access_review_for_another_user(namespaces, api) -> None:
    a, _ = namespaces
    review = client.AuthorizationV1Api(api).create_subject_access_review({"spec": {
        "user": "bob", "resourceAttributes": {"verb": "get", "resource": "configmaps", "name": "allowed",
                                              "namespace": a}}})
    assert review.status.allowed is True


def test_missing_role_is_reported_in_the_denial(namespaces, api, client_for) -> None:
    _, b = namespaces
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(
        b, binding("dangling", "Role", "does-not-exist", ("User", "frank")))
    message = forbidden(client.CoreV1Api(client_for(impersonate="frank")).list_namespaced_pod, b)
    assert message.endswith(': RBAC: role.rbac.authorization.k8s.io "does-not-exist" not found')


def test_aggregated_cluster_role(api, client_for) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_cluster_role({"metadata": {"name": "monitoring"}, "aggregationRule": {"clusterRoleSelectors": [
        {"matchLabels": {"aggregate-to-monitoring": "true"}}]}, "rules": []})
    rbac.create_cluster_role({"metadata": {"name": "monitoring-nodes", "labels": {"aggregate-to-monitoring": "true"}},
                              "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]})
    rbac.create_cluster_role_binding({"metadata": {"name": "gina-monitoring"},
                                      "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "monitoring"},
                                      "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "gina"}]})
    assert len(client.CoreV1Api(client_for(impersonate="gina")).list_node().items) == 3
