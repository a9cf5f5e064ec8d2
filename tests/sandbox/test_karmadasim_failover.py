"""Failover (karmada SPEC §6): a member that stops answering goes NotReady, gets the not-ready NoExecute
taint, and its replicas move to the other member once the policy's toleration runs out."""

from __future__ import annotations

import time
from typing import Iterator

import pytest
from kubernetes import client

from sandbox.karmadasim import KarmadaServer, Settings
from sandbox.kubesim import EmulatorServer
from sandbox.kubesim.testing import deployment_manifest

from .karmada_helpers import BINDINGS, CLUSTERS, POLICY, cluster_ready, condition, eventually, join


@pytest.fixture(scope="module")
def members() -> Iterator[dict[str, EmulatorServer]]:
    servers = {name: EmulatorServer(seed_files=["local-3node"]).start() for name in ("member1", "member2")}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def karmada(members: dict[str, EmulatorServer]) -> Iterator[KarmadaServer]:
    settings = Settings(cluster_status_interval=0.2, cluster_failure_threshold=2, graceful_eviction_timeout=30)
    with KarmadaServer(settings=settings) as server:
        with server.api_client() as api:
            for name, member in members.items():
                join(api, name, member)
            for name in members:
                eventually(lambda name=name: cluster_ready(api, name))
        yield server


def split(name: str, tolerations: list | None = None) -> dict:
    placement = {"clusterAffinity": {"clusterNames": ["member1", "member2"]},
                 "replicaScheduling": {"replicaSchedulingType": "Divided", "weightPreference": {"staticWeightList": [
                     {"targetCluster": {"clusterNames": ["member1"]}, "weight": 1},
                     {"targetCluster": {"clusterNames": ["member2"]}, "weight": 2}]}}}
    if tolerations:
        placement["clusterTolerations"] = tolerations
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": name},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
                     "placement": placement}}


def placed(custom: client.CustomObjectsApi, name: str) -> list[dict]:
    try:
        binding = custom.get_namespaced_custom_object(*BINDINGS, "default", "resourcebindings", f"{name}-deployment")
    except client.ApiException:
        return []  # the detector has not made it yet
    return binding["spec"].get("clusters") or []


def replicas(apps: client.AppsV1Api, name: str) -> int | None:
    try:
        return apps.read_namespaced_deployment(name, "default").spec.replicas
    except client.ApiException:
        return None


def test_a_stopped_member_moves_its_replicas(karmada: KarmadaServer, members: dict[str, EmulatorServer]) -> None:
    with karmada.api_client() as api:
        custom, apps = client.CustomObjectsApi(api), client.AppsV1Api(api)
        for name, tolerations in (("web", None), ("patient", [
                {"key": "cluster.karmada.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 5}])):
            apps.create_namespaced_deployment("default", deployment_manifest(name, replicas=3))
            custom.create_namespaced_custom_object(*POLICY, "default", "propagationpolicies", split(name, tolerations))
        member1 = client.AppsV1Api(members["member1"].api_client())
        for name in ("web", "patient"):
            eventually(lambda name=name: placed(custom, name) == [{"name": "member1", "replicas": 1},
                                                                {"name": "member2", "replicas": 2}])
        eventually(lambda: replicas(member1, "web") == 1)

        stopped = time.monotonic()  # before: the server stops listening first, then drains its streams
        members["member2"].stop()

        def not_ready() -> dict | None:
            cluster = custom.get_cluster_custom_object(*CLUSTERS, "member2")
            ready = condition(cluster, "Ready")
            return cluster if ready and ready["status"] == "False" else None

        cluster = eventually(not_ready)
        assert condition(cluster, "Ready")["reason"] == "ClusterNotReachable"
        eventually(lambda: {(t["key"], t["effect"]) for t in (custom.get_cluster_custom_object(
            *CLUSTERS, "member2")["spec"].get("taints") or [])} == {
            ("cluster.karmada.io/not-ready", "NoSchedule"), ("cluster.karmada.io/not-ready", "NoExecute")})
        # The tolerating workload stays for its five seconds.
        assert placed(custom, "patient") == [{"name": "member1", "replicas": 1}, {"name": "member2", "replicas": 2}]

        # Without a toleration the eviction is immediate and member1 takes all three replicas.
        eventually(lambda: placed(custom, "web") == [{"name": "member1", "replicas": 3}])
        binding = custom.get_namespaced_custom_object(*BINDINGS, "default", "resourcebindings", "web-deployment")
        tasks = binding["spec"].get("gracefulEvictionTasks") or []
        assert not tasks or (tasks[0]["fromCluster"], tasks[0]["reason"], tasks[0]["producer"]) == \
            ("member2", "TaintUntolerated", "TaintManager")
        eventually(lambda: replicas(member1, "web") == 3)
        # Once member1's copy is healthy, the eviction task is done.
        eventually(lambda: not custom.get_namespaced_custom_object(
            *BINDINGS, "default", "resourcebindings", "web-deployment")["spec"].get("gracefulEvictionTasks"))

        # Then it moves too. Taint times have a resolution of one second, as in Kubernetes.
        eventually(lambda: placed(custom, "patient") == [{"name": "member1", "replicas": 3}])
        assert time.monotonic() - stopped >= 4.0
        eventually(lambda: replicas(member1, "patient") == 3)


def test_unjoining_a_member_removes_what_karmada_put_there(karmada: KarmadaServer,
                                                           members: dict[str, EmulatorServer]) -> None:
    """Runs after the failover above: member1 holds web and patient; deleting its Cluster empties it."""
    with karmada.api_client() as api, members["member1"].api_client() as member_api:
        custom, member1 = client.CustomObjectsApi(api), client.AppsV1Api(member_api)
        assert replicas(member1, "web") == 3
        client.CoreV1Api(member_api).create_namespaced_config_map("default", {"metadata": {"name": "own"}})
        custom.delete_cluster_custom_object(*CLUSTERS, "member1")

        def gone() -> bool:
            try:
                custom.get_cluster_custom_object(*CLUSTERS, "member1")
                return False
            except client.ApiException as e:
                return e.status == 404

        eventually(gone)
        assert replicas(member1, "web") is None and replicas(member1, "patient") is None
        # What Karmada did not put there stays.
        assert client.CoreV1Api(member_api).read_namespaced_config_map("own", "default").metadata.name == "own"
        with pytest.raises(client.ApiException):
            client.CoreV1Api(api).read_namespace("karmada-es-member1")
