"""Hub + agent in front of the kubesim API server emulator (sandbox/kubesim).

Unlike the fake in fakeapi.py, kubesim authenticates, enforces RBAC with
impersonation, and implements watch/log/list semantics like kube-apiserver.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.request

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from sandbox.kubesim import EmulatorServer

from .conftest import USER_TOKEN, AgentThread, kube_api, wait_until


@pytest.fixture
def sim():
    with EmulatorServer(seed_files=["local-3node"]) as srv:
        yield srv


@pytest.fixture
def sim_agent(hub, sim, tmp_path):
    # The agent authenticates as kubesim's admin (system:masters): allowed
    # to impersonate, as the real agent's service account would be.
    a = AgentThread(hub.agent_url, "agent-token-c1", sim.write_kubeconfig(tmp_path / "sim.kubeconfig"))
    a.wait_connected()
    yield a
    a.stop()


@pytest.fixture
def sim_core(hub, sim_agent):
    return kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret)


def test_crud_through_hub(sim_core, sim):
    pods = sim_core.list_namespaced_pod("prod")
    assert "postgres-0" in {p.metadata.name for p in pods.items}
    body = client.V1Pod(
        metadata=client.V1ObjectMeta(name="hub-test", labels={"app": "hub"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")]),
    )
    created = sim_core.create_namespaced_pod("staging", body)
    assert created.metadata.uid
    assert sim_core.read_namespaced_pod("hub-test", "staging").spec.containers[0].image == "nginx"
    patched = sim_core.patch_namespaced_pod("hub-test", "staging", {"metadata": {"labels": {"tier": "x"}}})
    assert patched.metadata.labels == {"app": "hub", "tier": "x"}
    assert sim.emulator.get_object("v1", "Pod", "hub-test", "staging")["metadata"]["labels"]["tier"] == "x"
    sim_core.delete_namespaced_pod("hub-test", "staging", grace_period_seconds=0)
    wait_until(lambda: sim.emulator.get_object("v1", "Pod", "hub-test", "staging") is None, what="pod deleted")
    with pytest.raises(ApiException) as exc:
        sim_core.read_namespaced_pod("hub-test", "staging")
    assert exc.value.status == 404


def test_watch_through_hub(sim_core, hub):
    rv = sim_core.list_namespaced_config_map("staging").metadata.resource_version
    seen = []

    def run():
        w = watch.Watch()
        for ev in w.stream(sim_core.list_namespaced_config_map, "staging", resource_version=rv, timeout_seconds=10):
            seen.append((ev["type"], ev["object"].metadata.name))
            if len(seen) == 2:
                w.stop()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    other = kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret)
    other.create_namespaced_config_map("staging", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w1"), data={"a": "1"}))
    other.delete_namespaced_config_map("w1", "staging")
    t.join(10)
    assert seen == [("ADDED", "w1"), ("DELETED", "w1")]


def test_log_follow_through_hub(sim_core, sim):
    resp = sim_core.read_namespaced_pod_log("postgres-0", "prod", follow=True, _preload_content=False, tail_lines=0)
    for i in range(3):
        line = f"hub follow line {i}"
        sim.emulator.append_log("prod", "postgres-0", _container(sim, "prod", "postgres-0"), line)
        got = b""
        while not got.endswith(b"\n"):
            got += resp.read(1)
        assert got.decode().rstrip("\n").endswith(line)
    resp.close()


def _container(sim, ns, pod):
    return sim.emulator.get_object("v1", "Pod", pod, ns)["spec"]["containers"][0]["name"]


def test_large_list_through_hub(sim_core, sim, hub):
    sim.emulator.put_objects(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"big-{i}", "namespace": "staging"}, "data": {"blob": f"{i:06d}" * 1000}}
        for i in range(900)
    )
    cms = sim_core.list_namespaced_config_map("staging", label_selector="")
    big = [c for c in cms.items if c.metadata.name.startswith("big-")]
    assert len(big) == 900 and big[0].data["blob"].startswith(big[0].metadata.name[4:])
    hdr = {"Accept": "application/json"}
    direct = urllib.request.urlopen(urllib.request.Request(sim.url + "/api/v1/namespaces/staging/configmaps", headers={**hdr, "Authorization": "Bearer admin-token"})).read()
    tunnelled = urllib.request.urlopen(urllib.request.Request(f"{hub.internal_url}/clusters/c1/api/v1/namespaces/staging/configmaps", headers={**hdr, "X-Hub-Secret": hub.secret})).read()
    assert len(tunnelled) >= 5 * 1024 * 1024
    # resourceVersion is the same (no writes in between), so the bytes must be too.
    assert hashlib.sha256(tunnelled).digest() == hashlib.sha256(direct).digest()


def test_kubeconfig_proxy_rbac_sees_impersonated_user(sim_agent, hub, sim):
    core = kube_api(f"{hub.public_url}/k8s/clusters/c1", token=USER_TOKEN)
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod("prod")
    assert exc.value.status == 403
    assert 'User "alice@example.com" cannot list resource "pods"' in json.loads(exc.value.body)["message"]
    # Grant the user's *group* (sent as Impersonate-Group) read access in prod.
    rbac = client.RbacAuthorizationV1Api(kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret).api_client)
    rbac.create_namespaced_role_binding(
        "prod",
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="team-a-view"),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="view"),
            subjects=[client.RbacV1Subject(kind="Group", name="team-a", api_group="rbac.authorization.k8s.io")],
        ),
    )
    names = {p.metadata.name for p in core.list_namespaced_pod("prod").items}
    assert "postgres-0" in names
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod("staging")
    assert exc.value.status == 403


def test_heartbeat_facts_from_kubesim(sim_agent, directory, sim):
    from cceone_agent.heartbeat import cpu_millicores, memory_bytes

    facts = directory.wait_for("heartbeat", "c1", timeout=5).data
    assert facts["errors"] == []
    assert facts["kubernetes"]["gitVersion"] == "v1.31.4"
    nodes = {n["name"]: n for n in facts["nodes"]}
    assert set(nodes) == {"cp-1", "worker-1", "worker-2"}
    raw = sim.emulator.get_object("v1", "Node", "worker-1")
    assert nodes["worker-1"]["allocatable"]["cpu_millicores"] == cpu_millicores(raw["status"]["allocatable"]["cpu"])
    assert nodes["worker-1"]["ready"] is True
    # Independent sum over running/pending pods' containers (the seed has no init containers).
    cpu = mem = count = 0
    for pod in sim.emulator.list_objects("v1", "Pod"):
        if pod["status"].get("phase") in ("Succeeded", "Failed"):
            continue
        count += 1
        for c in pod["spec"]["containers"]:
            req = (c.get("resources") or {}).get("requests") or {}
            cpu += cpu_millicores(req.get("cpu", "0"))
            mem += memory_bytes(req.get("memory", "0"))
    assert facts["pod_requests"]["total"] == {"cpu_millicores": cpu, "memory_bytes": mem, "pods": count}
    assert count < len(sim.emulator.list_objects("v1", "Pod"))  # the seed has finished pods to exclude


def test_agent_reaches_api_server_over_tls(hub, tmp_path):
    """The agent's own leg to an HTTPS API server, verified with the kubeconfig's CA."""
    with EmulatorServer(seed_files=["local-3node"], tls=True) as srv:
        kc = srv.write_kubeconfig(tmp_path / "tls.kubeconfig")
        a = AgentThread(hub.agent_url, "agent-token-c1", kc)
        try:
            a.wait_connected()
            core = kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret)
            assert "postgres-0" in {p.metadata.name for p in core.list_namespaced_pod("prod").items}
        finally:
            a.stop()
