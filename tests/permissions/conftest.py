"""Fixtures of the permission (and fleet) tests: more running clusters (each an emulated
cluster with its own real agent, through the one live hub), and helpers that read the RBAC
objects a member cluster holds and act in it as a console user."""
import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError

from cceone.kube.gateway import client_for
from clusters import connectivity
from clusters.models import RegisteredCluster
from sandbox.kubesim.runner import EmulatorServer
from tests.factories import ClusterFactory
from tests.live import AgentProcess, cluster_status, wait_until


@pytest.fixture(autouse=True)
def _no_hub_unless_live(settings):
    """Tests without a live hub must not reach a hub someone runs on this machine: syncs fail fast."""
    settings.CCEONE_HUB_INTERNAL_URL = "http://127.0.0.1:9"


@pytest.fixture
def more_clusters(tenant, live_hub, tmp_path):
    """make(name) → a running cluster of the tenant with its own emulator and agent."""
    servers, agents = [], []

    def make(name: str, **fields) -> RegisteredCluster:
        server = EmulatorServer(seed_files=["local-3node"]).start()
        servers.append(server)
        cluster = ClusterFactory(account=tenant.account, status=RegisteredCluster.Status.PENDING_ACCESS,
                                 name=name, **fields)
        token = connectivity.issue_agent_token(cluster)
        kubeconfig = server.write_kubeconfig(tmp_path / f"{name}-kubeconfig.yaml")
        agent = AgentProcess(f"wss://127.0.0.1:{live_hub.public_port}", token, live_hub.ca_file, kubeconfig,
                             tmp_path / name)
        agents.append(agent)
        wait_until(lambda: cluster_status(cluster) == "running", what=f"{name} to run")
        cluster.refresh_from_db()
        cluster.emulator = server.emulator
        return cluster

    yield make
    for agent in agents:
        agent.kill()
    for server in servers:
        server.stop()


RBAC = "rbac.authorization.k8s.io/v1"


def rbac_objects(emulator, kind: str, managed_only=True) -> dict:
    """{(namespace, name): object} of one RBAC kind held by the emulated cluster."""
    items = emulator.list_objects(RBAC, kind)
    if managed_only:
        items = [i for i in items if (i["metadata"].get("labels") or {}).get("cceone.io/managed-by") == "cceone"]
    return {(i["metadata"].get("namespace") or "", i["metadata"]["name"]): i for i in items}


def subjects(obj) -> list[str]:
    return sorted(s["name"] for s in obj.get("subjects") or [])


def allowed(cluster, user, verb: str, kind: str, namespace: str | None = None, api_version="v1", body=None,
            name=None) -> bool:
    """Try one request in the cluster as the user (impersonated through hub and agent)."""
    resource = client_for(cluster, user).resources.get(api_version=api_version, kind=kind)
    try:
        if verb == "list":
            resource.get(namespace=namespace)
        elif verb == "get":
            resource.get(namespace=namespace, name=name)
        elif verb == "create":
            resource.create(body=body, namespace=namespace)
        elif verb == "delete":
            resource.delete(name=name, namespace=namespace)
        else:
            raise ValueError(verb)
    except (ApiException, DynamicApiError) as error:
        if error.status == 403:
            return False
        raise
    return True


def settled(cluster, timeout=10.0):
    """Wait until the cluster's latest requested sync has been written (the sync that a cluster
    coming up triggers runs in the hub's thread)."""
    from permissions.models import ClusterPermissionSync

    def done():
        state = ClusterPermissionSync.objects.filter(pk=cluster.pk).first()
        return state is not None and state.state == "synced" and state.synced_generation == state.generation

    wait_until(done, timeout=timeout, what=f"the permission sync of {cluster.name}")
    return ClusterPermissionSync.objects.get(pk=cluster.pk)


@pytest.fixture
def running_cluster(connected_cluster, emulator):
    """The live cluster, once its first permission sync (on becoming running) is done; with
    namespaces a and b."""
    for name in ("a", "b"):
        emulator.emulator.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    settled(connected_cluster)
    connected_cluster.emulator = emulator.emulator
    return connected_cluster
