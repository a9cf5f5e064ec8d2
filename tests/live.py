"""Live fixtures (a pytest plugin loaded by tests/conftest.py) for anything that talks to a cluster: a Kubernetes API emulator, the access hub with the
database as its directory, and real agent processes. Real sockets throughout."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cceone.hub import HubThread
from cceone.hub.certs import HubTLS
from clusters import connectivity
from clusters.hub_directory import DatabaseDirectory
from cceone.kube.gateway import identity_for
from clusters.models import RegisteredCluster
from sandbox.kubesim.runner import EmulatorServer
from tests.factories import ClusterFactory

ROOT = Path(__file__).resolve().parents[2]
# Heartbeat window in these tests (30 s in production). The hub runs in a thread of the test
# process: a window much shorter than a busy page render drops agents that are fine. On CI's
# two cores, filling the emulator with a thousand pods in this process starved the hub's
# thread past a 1 s window (lost after 2 s) and a page met the reconnect; 3 s leaves room.
WINDOW = 3.0


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def emulator():
    with EmulatorServer(seed_files=["local-3node"]) as server:
        yield server


@pytest.fixture
def tls_emulator():
    """An emulator serving HTTPS, as a cloud cluster's API server (cloud clusters are reached
    directly, and their credential never goes over plain HTTP)."""
    with EmulatorServer(seed_files=["local-3node"], tls=True) as server:
        yield server


def cloud_inventory(account, server, name="cce-prod-01", token="admin-token", region=None,
                    edition="cce_managed"):
    """A cluster of the cloud's container service as operators enter it in the admin: the
    emulator's HTTPS endpoint, its CA, and an encrypted token."""
    from cceone.iam.models import Region
    from clusters.models import CloudProviderCluster

    cloud = CloudProviderCluster(account=account, region=region or Region.default(), name=name, edition=edition,
                                 api_endpoint=server.url, ca_data=server.certificates.ca_pem.decode())
    cloud.token = token
    cloud.full_clean()
    cloud.save()
    return cloud


@pytest.fixture
def hub_directory():
    """The live hub's directory; a test module may override this fixture (e.g. to hold a call)."""
    return DatabaseDirectory()


@pytest.fixture
def hub_options():
    """Further `Hub` arguments of the live hub; a test module may override this fixture."""
    return {}


@pytest.fixture
def live_hub(transactional_db, settings, tmp_path, hub_directory, hub_options):
    tls_dir = tmp_path / "hub-tls"
    hub = HubThread(hub_directory, heartbeat_window=WINDOW,
                    tls=HubTLS.ensure(tls_dir, hostnames=["localhost", "127.0.0.1"]), **hub_options)
    settings.CCEONE_HUB_TLS_DIR = str(tls_dir)
    settings.CCEONE_HUB_INTERNAL_URL = hub.internal_url
    settings.CCEONE_HUB_SECRET = hub.secret
    settings.CCEONE_HUB_PUBLIC_URL = settings.CCEONE_HUB_PRIVATE_URL = f"wss://127.0.0.1:{hub.public_port}"
    settings.CCEONE_HUB_KUBECONFIG_URL = f"https://127.0.0.1:{hub.public_port}"
    settings.CCEONE_HUB_HEARTBEAT_WINDOW = WINDOW
    hub.ca_file = str(tls_dir / "ca.crt")
    yield hub
    hub.stop()


class AgentProcess:
    """The real agent CLI, as a member cluster would run it."""

    def __init__(self, hub_url, token, ca_file, kubeconfig, workdir: Path):
        workdir.mkdir(parents=True, exist_ok=True)
        token_file = workdir / f"token-{id(self)}"
        token_file.write_text(token)
        self.log_path = workdir / f"agent-{id(self)}.log"
        self._log = open(self.log_path, "wb")
        env = dict(os.environ, PYTHONPATH=str(ROOT / "agent"), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cceone_agent", "--hub", hub_url, "--token-file", str(token_file),
             "--ca-file", ca_file, "--kubeconfig", kubeconfig, "--heartbeat-interval", str(WINDOW / 2),
             "--backoff-base", "0.1", "--backoff-cap", "1", "--shutdown-grace", "0.5"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=str(ROOT))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def start_agent(live_hub, emulator, tmp_path):
    agents = []
    kubeconfig = emulator.write_kubeconfig(tmp_path / "agent-kubeconfig.yaml")

    def start(token, hub_url=None, ca_file=None, kubeconfig_path=None):
        agent = AgentProcess(hub_url or f"wss://127.0.0.1:{live_hub.public_port}", token,
                             ca_file or live_hub.ca_file, kubeconfig_path or kubeconfig, tmp_path)
        agents.append(agent)
        return agent

    yield start
    for agent in agents:
        agent.kill()


def cluster_status(cluster) -> str:
    return RegisteredCluster.objects.values_list("status", flat=True).get(pk=cluster.pk)


@pytest.fixture
def connected_cluster(tenant, start_agent):
    """A local cluster of the tenant whose agent is connected and reporting: running."""
    return connect_cluster(tenant.account, start_agent, "edge-01")


def connect_cluster(account, start_agent, name: str, kubeconfig_path=None):
    """A local cluster of `account` whose agent (serving `kubeconfig_path`: another emulator;
    default the `emulator` fixture's) is connected and reporting: running."""
    cluster = ClusterFactory(account=account, status=RegisteredCluster.Status.PENDING_ACCESS, name=name)
    token = connectivity.issue_agent_token(cluster)
    agent = start_agent(token, kubeconfig_path=kubeconfig_path)
    wait_until(lambda: cluster_status(cluster) == "running", what="the cluster to run")
    # Running triggers the platform's RBAC sync (fleets); wait for it so tests see a settled cluster.
    from permissions.models import ClusterPermissionSync

    wait_until(lambda: ClusterPermissionSync.objects.filter(pk=cluster.pk, state="synced").exists(),
               what="the first permission sync")
    cluster.refresh_from_db()
    cluster.agent = agent
    cluster.agent_token = token
    return cluster


def grant(emulator, user, cluster_role: str, namespace: str | None = None):
    """Bind a ClusterRole to the user's impersonated identity inside the emulated cluster."""
    name = f"test-{cluster_role}-{user.username}-{namespace or 'all'}"
    binding = {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "User", "name": identity_for(user).username, "apiGroup": "rbac.authorization.k8s.io"}],
    }
    if namespace:
        binding.update(kind="RoleBinding", apiVersion="rbac.authorization.k8s.io/v1")
        binding["metadata"]["namespace"] = namespace
    else:
        binding.update(kind="ClusterRoleBinding", apiVersion="rbac.authorization.k8s.io/v1")
    emulator.emulator.put_object(binding)
