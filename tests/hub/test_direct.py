"""The kubeconfig proxy in front of a cluster reached directly (a cloud cluster, no agent):
the hub forwards to the API server itself with the cluster's own credential, verified
with its CA, as the token's user (kubesim evaluates RBAC for the impersonated identity)."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from cceone.hub import Upstream
from sandbox.kubesim import EmulatorServer

from .conftest import USER_TOKEN, kube_api, wait_until


@pytest.fixture
def cloud():
    with EmulatorServer(seed_files=["local-3node"], tls=True) as srv:
        yield srv


@pytest.fixture
def direct_cluster(directory, cloud):
    directory.add_direct_cluster("d1", Upstream(cloud.url, "admin-token", cloud.certificates.ca_pem.decode()),
                                 tenant="t1")
    return "d1"


def grant_group_view(sim, namespace: str, group: str = "team-a") -> None:
    sim.emulator.put_object({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": f"{group}-view", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "Group", "name": group, "apiGroup": "rbac.authorization.k8s.io"}]})


def test_direct_cluster_is_reached_as_the_tokens_user(hub, cloud, direct_cluster):
    core = kube_api(f"{hub.public_url}/k8s/clusters/{direct_cluster}", token=USER_TOKEN)
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_pod("prod")
    # Not the admin credential the hub holds: the user the kubeconfig token stands for.
    assert refused.value.status == 403
    assert 'User "alice@example.com" cannot list resource "pods"' in json.loads(refused.value.body)["message"]
    grant_group_view(cloud, "prod")
    assert "postgres-0" in {p.metadata.name for p in core.list_namespaced_pod("prod").items}


def test_a_client_cannot_choose_whom_the_credential_acts_as(hub, cloud, direct_cluster):
    core = kube_api(f"{hub.public_url}/k8s/clusters/{direct_cluster}", token=USER_TOKEN)
    core.api_client.set_default_header("Impersonate-User", "admin")
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_pod("prod")
    assert refused.value.status == 403 and "impersonation" in json.loads(refused.value.body)["message"]


def test_watch_streams_through_the_hub(hub, cloud, direct_cluster):
    grant_group_view(cloud, "prod")
    core = kube_api(f"{hub.public_url}/k8s/clusters/{direct_cluster}", token=USER_TOKEN)
    start = core.list_namespaced_config_map("prod").metadata.resource_version
    seen, stream = [], watch.Watch()

    def follow():
        for event in stream.stream(core.list_namespaced_config_map, "prod", resource_version=start,
                                   timeout_seconds=20):
            seen.append((event["type"], event["object"].metadata.name))
            if event["object"].metadata.name == "second":
                stream.stop()

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    cloud.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "first", "namespace": "prod"}})
    # The first event arrives while the watch is still open: it is streamed, not buffered.
    wait_until(lambda: ("ADDED", "first") in seen, timeout=10, what="the first watch event")
    assert reader.is_alive()
    cloud.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "second", "namespace": "prod"}})
    reader.join(10)
    assert seen == [("ADDED", "first"), ("ADDED", "second")]


def test_other_tenant_frozen_and_unknown(hub, cloud, directory, direct_cluster):
    directory.add_direct_cluster("d2", Upstream(cloud.url, "admin-token", cloud.certificates.ca_pem.decode()),
                                 tenant="t2")
    with pytest.raises(ApiException) as foreign:
        kube_api(f"{hub.public_url}/k8s/clusters/d2", token=USER_TOKEN).list_namespace()
    assert foreign.value.status == 404
    directory.frozen.add(direct_cluster)
    with pytest.raises(ApiException) as frozen:
        kube_api(f"{hub.public_url}/k8s/clusters/{direct_cluster}", token=USER_TOKEN).list_namespace()
    assert frozen.value.status == 403 and "frozen" in json.loads(frozen.value.body)["message"]


def test_the_credential_never_goes_over_plain_http(hub, directory):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    with listener:
        port = listener.getsockname()[1]
        directory.add_direct_cluster("d3", Upstream(f"http://127.0.0.1:{port}", "admin-token"), tenant="t1")
        with pytest.raises(ApiException) as refused:
            kube_api(f"{hub.public_url}/k8s/clusters/d3", token=USER_TOKEN).list_namespace()
        assert refused.value.status == 502
        assert "never sends the cluster's credential over plain HTTP" in json.loads(refused.value.body)["message"]
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing even connected


def test_a_wrong_or_broken_ca_is_refused_and_a_stopped_server_is_unreachable(hub, directory, cloud):
    with EmulatorServer(seed_files=["local-3node"], tls=True) as other:
        directory.add_direct_cluster("d4", Upstream(cloud.url, "admin-token", other.certificates.ca_pem.decode()),
                                     tenant="t1")
        with pytest.raises(ApiException) as untrusted:
            kube_api(f"{hub.public_url}/k8s/clusters/d4", token=USER_TOKEN).list_namespace()
        assert untrusted.value.status == 502 and "certificate" in json.loads(untrusted.value.body)["message"]
        gone_url = other.url
    directory.add_direct_cluster("d6", Upstream(cloud.url, "admin-token", "not a certificate"), tenant="t1")
    with pytest.raises(ApiException) as unusable:
        kube_api(f"{hub.public_url}/k8s/clusters/d6", token=USER_TOKEN).list_namespace()
    assert unusable.value.status == 502 and "not a valid PEM certificate" in json.loads(unusable.value.body)["message"]
    directory.add_direct_cluster("d5", Upstream(gone_url, "admin-token", cloud.certificates.ca_pem.decode()),
                                 tenant="t1")
    with pytest.raises(ApiException) as down:
        kube_api(f"{hub.public_url}/k8s/clusters/d5", token=USER_TOKEN).list_namespace()
    assert down.value.status == 503 and "does not answer" in json.loads(down.value.body)["message"]


def test_request_bodies_reach_the_api_server(hub, cloud, direct_cluster):
    cloud.emulator.put_object({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "team-a-edit", "namespace": "staging"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "Group", "name": "team-a", "apiGroup": "rbac.authorization.k8s.io"}]})
    core = kube_api(f"{hub.public_url}/k8s/clusters/{direct_cluster}", token=USER_TOKEN)
    core.create_namespaced_config_map("staging", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="big"), data={"blob": "x" * 300_000}))
    stored = cloud.emulator.get_object("v1", "ConfigMap", "big", "staging")
    assert len(stored["data"]["blob"]) == 300_000
