"""A Karmada-like API server for federation tests: the Kubernetes API emulator over HTTPS with
Karmada's Cluster and PropagationPolicy CRDs and a Karmada version (the sandbox Karmada,
sandbox/karmadasim, is built elsewhere; the console needs only what a client of Karmada sees)."""
import pytest

from cceone.iam.models import EnterpriseProject
from federation.models import KarmadaControlPlane
from sandbox.kubesim.emulator import DEFAULT_TOKEN
from sandbox.kubesim.runner import EmulatorServer
from tests.factories import make_inventory, ready_to_order

KARMADA_VERSION = "v1.12.3"

KARMADA_CRDS = [
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": "clusters.cluster.karmada.io"},
     "spec": {"group": "cluster.karmada.io", "scope": "Cluster",
              "names": {"plural": "clusters", "singular": "cluster", "kind": "Cluster", "listKind": "ClusterList"},
              "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                            "schema": {"openAPIV3Schema": {"type": "object",
                                                           "x-kubernetes-preserve-unknown-fields": True}}}]}},
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": "propagationpolicies.policy.karmada.io"},
     "spec": {"group": "policy.karmada.io", "scope": "Namespaced",
              "names": {"plural": "propagationpolicies", "singular": "propagationpolicy",
                        "kind": "PropagationPolicy", "listKind": "PropagationPolicyList", "shortNames": ["pp"]},
              "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                            "schema": {"openAPIV3Schema": {"type": "object",
                                                           "x-kubernetes-preserve-unknown-fields": True}}}]}},
]


def karmada_server(**kwargs) -> EmulatorServer:
    server = EmulatorServer(tls=True, version=KARMADA_VERSION, controllers=False, **kwargs).start()
    for crd in KARMADA_CRDS:
        server.emulator.apply_object(crd)
    return server


@pytest.fixture
def karmada():
    server = karmada_server()
    yield server
    server.stop()


@pytest.fixture
def plain_kubernetes():
    """An API server that is not a Karmada control plane (no cluster.karmada.io)."""
    with EmulatorServer(tls=True, controllers=False) as server:
        yield server


def register_control_plane(server, name="karmada-a", token=DEFAULT_TOKEN, region=None, source="pre_registered"):
    """What an operator adds in the admin: endpoint, admin token, CA."""
    plane = KarmadaControlPlane(name=name, source=source, region=region, api_endpoint=server.url,
                                ca_data=server.certificates.ca_pem.decode())
    plane.token = token
    plane.save()
    return plane


@pytest.fixture
def inventory(db):
    return make_inventory()


@pytest.fixture
def orderable(tenant, inventory):
    ready_to_order(tenant.account)
    return tenant


def order_data(tenant, inventory, **overrides):
    data = {"billing_mode": "on_demand", "name": "fed-shanghai", "fleet": "",
            "enterprise_project": EnterpriseProject.objects.get(account=tenant.account, name="default").pk,
            "vpc": inventory["vpc"].pk, "subnet": inventory["subnet"].pk, "security_group": "auto",
            "apiserver_spec": inventory["apiserver_spec"].pk, "apiserver_eip": "on", "deletion_protection": "on"}
    data.update(overrides)
    return data


# --- the sandbox Karmada with three kubesim members (karmada_world.py), one per test module ---
# (the console, promote and browser tests; started once a module, as it takes seconds).

@pytest.fixture(scope="module")
def members():
    from .karmada_world import start_members

    servers = start_members()
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def sandbox_karmada(members):
    from .karmada_world import start_karmada

    server = start_karmada(members)
    yield server
    server.stop()


@pytest.fixture
def federation(sandbox_karmada, tenant):
    """A running federation of the tenant on the sandbox Karmada, where its main user is cluster-admin."""
    from tests.live import grant

    from .karmada_world import federation_on

    grant(sandbox_karmada, tenant.main, "cluster-admin")
    return federation_on(sandbox_karmada, tenant.account, name="fed-east")


# --- two running clusters of the tenant behind the hub and their agents, joined to the sandbox
# Karmada by `federation.members` (function scope: the live hub lives a test). Karmada reaches
# them only through the hub, as in production.

HUB_KARMADA_ADMIN = "admin-token"


@pytest.fixture
def member_servers():
    servers = [EmulatorServer(seed_files=["local-3node"]).start() for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def hub_karmada():
    """The sandbox Karmada with its controllers, quick to see a member go or come back."""
    from sandbox.karmadasim import KarmadaServer, Settings

    with KarmadaServer(tls=True, settings=Settings(cluster_status_interval=0.3, cluster_failure_threshold=2,
                                                   graceful_eviction_timeout=20)) as server:
        yield server


@pytest.fixture
def federation_setup(tenant, live_hub, member_servers, hub_karmada, tmp_path):
    """Two running clusters of the tenant (edge-01, edge-02), each with its agent, in a fleet; a
    running federation over that fleet whose control plane is `hub_karmada`. Not joined yet:
    the test calls `members.sync` (or `joined`)."""
    from clusters import connectivity
    from clusters.models import RegisteredCluster
    from federation.models import Federation
    from tests.factories import ClusterFactory, FleetFactory
    from tests.live import AgentProcess, wait_until

    fleet = FleetFactory(account=tenant.account, name="shop")
    clusters, agents = [], []
    for index, server in enumerate(member_servers):
        cluster = ClusterFactory(account=tenant.account, status=RegisteredCluster.Status.PENDING_ACCESS,
                                 name=f"edge-0{index + 1}", fleet=fleet)
        token = connectivity.issue_agent_token(cluster)
        kubeconfig = server.write_kubeconfig(tmp_path / f"member-{index}.yaml")
        agents.append(AgentProcess(f"wss://127.0.0.1:{live_hub.public_port}", token, live_hub.ca_file,
                                   kubeconfig, tmp_path / f"agent-{index}"))
        clusters.append(cluster)
    for cluster in clusters:
        wait_until(lambda c=cluster: RegisteredCluster.objects.get(pk=c.pk).status == "running", timeout=20,
                   what="the member's agent")
    plane = KarmadaControlPlane(name="sandbox", source="sandbox", api_endpoint=hub_karmada.url,
                                ca_data=hub_karmada.server.certificates.ca_pem.decode())
    plane.token = HUB_KARMADA_ADMIN
    plane.save()
    federation = Federation.objects.create(account=tenant.account, name="fed-shop", region=clusters[0].region,
                                           status=Federation.Status.RUNNING, control_plane=plane, fleet=fleet,
                                           provisioner="sandbox", creator=tenant.main)
    yield federation, clusters, agents
    for agent in agents:
        agent.kill()


def karmada_api(karmada):
    """An API client of `hub_karmada` as its administrator (what the operator registered)."""
    return karmada.api_client(HUB_KARMADA_ADMIN)


def joined(federation, timeout=30):
    """Join the fleet's clusters (the sweep's `members.sync`) and wait until Karmada, through
    the hub, sees every member Ready."""
    from federation import members
    from federation.models import FederationMember
    from tests.live import wait_until

    members.sync(federation.pk)
    wait_until(lambda: (members.refresh(federation) or True) and set(
        FederationMember.objects.filter(federation=federation).values_list("status", flat=True)) == {"connected"},
        timeout=timeout, what="every member connected")
