"""End to end: a sandbox Karmada places workloads into three kubesim members through their apiEndpoints.

The members are joined as ``karmadactl join`` leaves them (a service account token of the
member in the Cluster's secretRef); the controllers use only the kubernetes client.
"""

from __future__ import annotations

import itertools
from typing import Iterator

import jsonschema
import pytest
from kubernetes import client

from cceone_karmada import schemas
from sandbox.karmadasim import KarmadaServer, Settings
from sandbox.kubesim import EmulatorServer
from sandbox.kubesim.testing import deployment_manifest

from .karmada_helpers import BINDINGS, CLUSTERS, POLICY, cluster_ready, condition, eventually, join

MEMBERS = ("member1", "member2", "member3")
_names = itertools.count()


@pytest.fixture(scope="module")
def members() -> Iterator[dict[str, EmulatorServer]]:
    servers = {name: EmulatorServer(seed_files=["local-3node"]).start() for name in MEMBERS}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def karmada(members: dict[str, EmulatorServer]) -> Iterator[KarmadaServer]:
    with KarmadaServer(settings=Settings(cluster_status_interval=0.5)) as server:
        with server.api_client() as api:
            for name, member in members.items():
                join(api, name, member, region="cn-north" if name != "member3" else "cn-south")
            for name in MEMBERS:
                eventually(lambda name=name: cluster_ready(api, name))
        yield server


@pytest.fixture(scope="module")
def api(karmada: KarmadaServer) -> Iterator[client.ApiClient]:
    with karmada.api_client() as api:
        yield api


@pytest.fixture(scope="module")
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


@pytest.fixture
def ns(api: client.ApiClient) -> str:
    """A fresh namespace in Karmada (the members get it when something is propagated into it)."""
    name = f"fed{next(_names)}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def member_apps(members: dict[str, EmulatorServer], name: str) -> client.AppsV1Api:
    return client.AppsV1Api(members[name].api_client())


def replicas_in(members: dict[str, EmulatorServer], ns: str, name: str) -> dict[str, int]:
    """Spec replicas of the Deployment in each member that has it."""
    out = {}
    for member in MEMBERS:
        try:
            out[member] = member_apps(members, member).read_namespaced_deployment(name, ns).spec.replicas
        except client.ApiException as e:
            assert e.status == 404
    return out


def policy(custom: client.CustomObjectsApi, ns: str, name: str, placement: dict, kind: str = "Deployment",
           **spec) -> dict:
    body = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": name},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1" if kind == "Deployment" else "v1",
                                            "kind": kind, "name": name}], "placement": placement, **spec}}
    stored = custom.create_namespaced_custom_object(*POLICY, ns, "propagationpolicies", body)
    validator = jsonschema.Draft7Validator(schemas.load("PropagationPolicy", strict=True))
    assert [e.message for e in validator.iter_errors(stored)] == []
    return stored


def weighted(*pairs: tuple[str, int]) -> dict:
    return {"clusterAffinity": {"clusterNames": [c for c, _ in pairs]},
            "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
                                  "weightPreference": {"staticWeightList": [
                                      {"targetCluster": {"clusterNames": [c]}, "weight": w} for c, w in pairs]}}}


def test_members_are_ready_with_their_summaries(custom: client.CustomObjectsApi) -> None:
    cluster = custom.get_cluster_custom_object(*CLUSTERS, "member1")
    status = cluster["status"]
    assert condition(cluster, "Ready")["reason"] == "ClusterReady"
    assert status["kubernetesVersion"] == "v1.31.4"
    assert status["nodeSummary"] == {"totalNum": 3, "readyNum": 3}
    assert status["resourceSummary"]["allocatable"]["pods"] == "330"
    assert any(e["groupVersion"] == "apps/v1" and {"name": "deployments", "kind": "Deployment"} in e["resources"]
               for e in status["apiEnablements"])
    assert "karmada.io/cluster-controller" in cluster["metadata"]["finalizers"]
    assert client.CoreV1Api(custom.api_client).read_namespace("karmada-es-member1").status.phase == "Active"


def test_a_deployment_split_1_to_2_lands_in_two_members(api, custom, members, ns: str) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(ns, deployment_manifest("web", replicas=3))
    pp = policy(custom, ns, "web", weighted(("member1", 1), ("member2", 2)))
    assert eventually(lambda: replicas_in(members, ns, "web") == {"member1": 1, "member2": 2} or None) is True
    # The member runs it: its pods exist there (kubesim's controllers), none in Karmada.
    pods = client.CoreV1Api(members["member2"].api_client()).list_namespaced_pod(ns).items
    assert len(pods) == 2
    assert client.CoreV1Api(api).list_namespaced_pod(ns).items == []

    template = apps.read_namespaced_deployment("web", ns)
    policy_id = pp["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"]
    assert template.metadata.labels["propagationpolicy.karmada.io/permanent-id"] == policy_id
    assert template.metadata.annotations["propagationpolicy.karmada.io/name"] == "web"
    binding = custom.get_namespaced_custom_object(*BINDINGS, ns, "resourcebindings", "web-deployment")
    assert binding["spec"]["clusters"] == [{"name": "member1", "replicas": 1}, {"name": "member2", "replicas": 2}]
    assert binding["spec"]["resource"]["uid"] == template.metadata.uid
    assert binding["metadata"]["ownerReferences"][0]["uid"] == template.metadata.uid
    eventually(lambda: condition(custom.get_namespaced_custom_object(*BINDINGS, ns, "resourcebindings",
                                                                   "web-deployment"), "Scheduled"))
    binding = custom.get_namespaced_custom_object(*BINDINGS, ns, "resourcebindings", "web-deployment")
    assert condition(binding, "Scheduled")["reason"] == "Success"
    works = custom.list_namespaced_custom_object("work.karmada.io", "v1alpha1", "karmada-es-member2", "works",
                                                 label_selector="resourcebinding.karmada.io/permanent-id="
                                                 + binding["metadata"]["labels"]["resourcebinding.karmada.io/"
                                                                                 "permanent-id"])["items"]
    assert len(works) == 1 and works[0]["spec"]["workload"]["manifests"][0]["spec"]["replicas"] == 2
    # Member status comes back: onto the Work, the binding and, summed, the template.
    eventually(lambda: condition(custom.get_namespaced_custom_object(*BINDINGS, ns, "resourcebindings",
                                                                   "web-deployment"), "FullyApplied")["status"]
             == "True")
    eventually(lambda: apps.read_namespaced_deployment_status("web", ns).status.ready_replicas == 3)
    binding = custom.get_namespaced_custom_object(*BINDINGS, ns, "resourcebindings", "web-deployment")
    assert [(s["clusterName"], s["health"], s["status"]["readyReplicas"]) for s in binding["status"]
            ["aggregatedStatus"]] == [("member1", "Healthy", 1), ("member2", "Healthy", 2)]

    # Scaling the template to 6 keeps the 1:2 ratio; deleting it empties the members.
    apps.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 6}})
    assert eventually(lambda: replicas_in(members, ns, "web") == {"member1": 2, "member2": 4} or None) is True
    apps.delete_namespaced_deployment("web", ns)
    assert eventually(lambda: replicas_in(members, ns, "web") == {} or None) is True
    eventually(lambda: not custom.list_namespaced_custom_object(*BINDINGS, ns, "resourcebindings")["items"])


def test_an_override_changes_the_image_in_one_member(api, custom, members, ns: str) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(ns, deployment_manifest("shop", replicas=2, image="nginx:1.25"))
    custom.create_namespaced_custom_object(*POLICY, ns, "overridepolicies", {
        "apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy", "metadata": {"name": "mirror"},
        "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"}],
                 "overrideRules": [{"targetCluster": {"clusterNames": ["member2"]}, "overriders": {
                     "imageOverrider": [{"component": "Registry", "operator": "replace",
                                         "value": "mirror.cn-north.example"}]}}]}})
    policy(custom, ns, "shop", {"clusterAffinity": {"clusterNames": ["member1", "member2"]}})  # Duplicated

    def images() -> dict[str, str] | None:
        try:
            return {m: member_apps(members, m).read_namespaced_deployment("shop", ns)
                    .spec.template.spec.containers[0].image for m in ("member1", "member2")}
        except client.ApiException:
            return None

    assert eventually(images) == {"member1": "nginx:1.25", "member2": "mirror.cn-north.example/nginx:1.25"}
    assert replicas_in(members, ns, "shop") == {"member1": 2, "member2": 2}
    # A new image in the template reaches both, the override still applied to member2.
    apps.patch_namespaced_deployment("shop", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.27"}]}}}})
    assert eventually(lambda: images() == {"member1": "nginx:1.27",
                                         "member2": "mirror.cn-north.example/nginx:1.27"} or None) is True


def test_cluster_affinity_by_labels_and_region_with_exclusion(api, custom, members, ns: str) -> None:
    for name in ("member1", "member3"):
        custom.patch_cluster_custom_object(*CLUSTERS, name, {"metadata": {"labels": {"env": "prod"}}})
    client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    policy(custom, ns, "settings", {"clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}}},
           kind="ConfigMap")
    client.AppsV1Api(api).create_namespaced_deployment(ns, deployment_manifest("north", replicas=2))
    policy(custom, ns, "north", {"clusterAffinity": {
        "fieldSelector": {"matchExpressions": [{"key": "region", "operator": "In", "values": ["cn-north"]}]},
        "exclude": ["member2"]}})

    def holders(read) -> list[str]:
        out = []
        for member in MEMBERS:
            try:
                read(members[member].api_client())
                out.append(member)
            except client.ApiException:
                pass
        return out

    assert eventually(lambda: holders(lambda a: client.CoreV1Api(a).read_namespaced_config_map("settings", ns))
                    == ["member1", "member3"] or None) is True
    assert eventually(lambda: replicas_in(members, ns, "north") == {"member1": 2} or None) is True


def test_conflict_resolution_abort_then_overwrite_adopts_in_place(api, custom, members, ns: str) -> None:
    member = members["member3"]
    with member.api_client() as admin:
        client.CoreV1Api(admin).create_namespace({"metadata": {"name": ns}})
        existing = client.AppsV1Api(admin).create_namespaced_deployment(ns, deployment_manifest("legacy", 1))
        pods_before = {p.metadata.name for p in client.CoreV1Api(admin).list_namespaced_pod(ns).items}
    client.AppsV1Api(api).create_namespaced_deployment(ns, deployment_manifest("legacy", 1))
    policy(custom, ns, "legacy", {"clusterAffinity": {"clusterNames": ["member3"]}})

    def member3_status() -> dict | None:
        try:
            binding = custom.get_namespaced_custom_object(*BINDINGS, ns, "resourcebindings", "legacy-deployment")
        except client.ApiException:
            return None  # not created yet
        entries = (binding.get("status") or {}).get("aggregatedStatus") or []
        return entries[0] if entries and "applied" in entries[0] else None

    refused = eventually(member3_status)
    assert refused["applied"] is False and "conflict resolution is Abort" in refused["appliedMessage"]
    custom.patch_namespaced_custom_object(*POLICY, ns, "propagationpolicies", "legacy",
                                          {"spec": {"conflictResolution": "Overwrite"}})
    assert eventually(lambda: (member3_status() or {}).get("applied")) is True
    with member.api_client() as admin:
        adopted = client.AppsV1Api(admin).read_namespaced_deployment("legacy", ns)
        pods_after = {p.metadata.name for p in client.CoreV1Api(admin).list_namespaced_pod(ns).items}
    assert adopted.metadata.uid == existing.metadata.uid  # updated in place, not recreated
    assert adopted.metadata.labels["karmada.io/managed"] == "true"
    assert pods_after == pods_before


def test_a_claimed_template_keeps_its_policy_until_released(api, custom, members, ns: str) -> None:
    apps = client.AppsV1Api(api)

    def create(name: str, selector: dict, cluster: str) -> None:
        custom.create_namespaced_custom_object(*POLICY, ns, "propagationpolicies", {
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": name},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", **selector}],
                     "placement": {"clusterAffinity": {"clusterNames": [cluster]}}}})

    create("a-all", {}, "member1")
    apps.create_namespaced_deployment(ns, deployment_manifest("api", replicas=1))
    assert eventually(lambda: replicas_in(members, ns, "api") == {"member1": 1} or None) is True
    # More precise policies arriving later do not take a claimed template over (no preemption).
    create("b-labelled", {"labelSelector": {"matchLabels": {"app": "api"}}}, "member2")
    create("c-named", {"name": "api"}, "member3")
    custom.patch_namespaced_custom_object(*POLICY, ns, "propagationpolicies", "a-all", {
        "spec": {"placement": {"clusterAffinity": {"clusterNames": ["member1", "member2"]}}}})
    assert eventually(lambda: replicas_in(members, ns, "api") == {"member1": 1, "member2": 1} or None) is True
    assert apps.read_namespaced_deployment("api", ns).metadata.annotations[
        "propagationpolicy.karmada.io/name"] == "a-all"
    # Deleting the claiming policy releases the template: the most precise remaining one (by name) takes it.
    custom.delete_namespaced_custom_object(*POLICY, ns, "propagationpolicies", "a-all")
    assert eventually(lambda: apps.read_namespaced_deployment("api", ns).metadata.annotations.get(
        "propagationpolicy.karmada.io/name") == "c-named") is True
    assert eventually(lambda: replicas_in(members, ns, "api") == {"member3": 1} or None) is True


def test_aggregated_and_dynamic_division_follow_member_capacity(api, custom, members, ns: str) -> None:
    apps = client.AppsV1Api(api)

    def heavy(name: str, replicas: int) -> dict:
        manifest = deployment_manifest(name, replicas=replicas)
        manifest["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1"}}
        return manifest

    # Every member has room for about 18 one-CPU replicas (resourceSummary).
    apps.create_namespaced_deployment(ns, heavy("packed", 5))
    policy(custom, ns, "packed", {"replicaScheduling": {"replicaSchedulingType": "Divided",
                                                        "replicaDivisionPreference": "Aggregated"}})
    assert eventually(lambda: len(replicas_in(members, ns, "packed")) == 1 and
                      sum(replicas_in(members, ns, "packed").values()) == 5)
    apps.create_namespaced_deployment(ns, heavy("spread", 12))
    policy(custom, ns, "spread", {"replicaScheduling": {
        "replicaSchedulingType": "Divided", "weightPreference": {"dynamicWeight": "AvailableReplicas"}}})
    assert eventually(lambda: sum(replicas_in(members, ns, "spread").values()) == 12 and
                      len(replicas_in(members, ns, "spread")) == 3)
    # More than all members can hold: not scheduled, and said so.
    apps.create_namespaced_deployment(ns, heavy("huge", 500))
    policy(custom, ns, "huge", {"replicaScheduling": {"replicaSchedulingType": "Divided",
                                                      "replicaDivisionPreference": "Aggregated"}})

    def scheduled() -> dict | None:
        try:
            return condition(custom.get_namespaced_custom_object(*BINDINGS, ns, "resourcebindings",
                                                                 "huge-deployment"), "Scheduled")
        except client.ApiException:
            return None

    refused = eventually(scheduled)
    assert (refused["status"], refused["reason"]) == ("False", "Unschedulable")
    assert refused["message"].startswith("clusters resources are not enough to schedule")
    assert replicas_in(members, ns, "huge") == {}
