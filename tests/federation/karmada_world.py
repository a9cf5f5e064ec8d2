"""A sandbox Karmada with three kubesim members, for the federation console's tests.

The members join as `karmadactl join` leaves them (tests/sandbox/karmada_helpers.join: the
member's service-account token, its URL as the Cluster's apiEndpoint); the console reaches
the Karmada API server over HTTPS with the control plane's admin token, impersonating the
user, whose RBAC in Karmada the tests grant (`grant`)."""
import itertools

from kubernetes import client

from sandbox.karmadasim import KarmadaServer, Settings
from sandbox.kubesim import EmulatorServer
from tests.federation.conftest import register_control_plane
from tests.factories import FederationFactory
from tests.sandbox.karmada_helpers import BINDINGS, CLUSTERS, cluster_ready, eventually, join

MEMBERS = ("member1", "member2", "member3")
_names = itertools.count()


def start_members() -> dict[str, EmulatorServer]:
    return {name: EmulatorServer(seed_files=["local-3node"]).start() for name in MEMBERS}


def start_karmada(members: dict[str, EmulatorServer], **settings) -> KarmadaServer:
    karmada = KarmadaServer(tls=True, settings=Settings(cluster_status_interval=0.5, **settings)).start()
    with karmada.api_client() as api:
        for name, member in members.items():
            join(api, name, member, region="cn-north" if name != "member3" else "cn-south")
        custom = client.CustomObjectsApi(api)
        custom.patch_cluster_custom_object(*CLUSTERS, "member3", {"metadata": {"labels": {"env": "test"}}})
        for name in ("member1", "member2"):
            custom.patch_cluster_custom_object(*CLUSTERS, name, {"metadata": {"labels": {"env": "prod"}}})
        for name in members:
            eventually(lambda name=name: cluster_ready(api, name))
    return karmada


def federation_on(karmada: KarmadaServer, account, **fields):
    """A running federation of `account` whose control plane is this sandbox Karmada."""
    plane = register_control_plane(karmada.server, name=f"karmada-{next(_names)}", source="sandbox")
    return FederationFactory(account=account, control_plane=plane, is_sandbox=True, provisioner="sandbox",
                             **fields)


def namespace(karmada: KarmadaServer) -> str:
    name = f"fed{next(_names)}"
    with karmada.api_client() as api:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def binding(karmada: KarmadaServer, ns: str, name: str) -> dict | None:
    with karmada.api_client() as api:
        try:
            return client.CustomObjectsApi(api).get_namespaced_custom_object(*BINDINGS, ns, "resourcebindings",
                                                                             name)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise


def member_workload(members: dict[str, EmulatorServer], member: str, kind: str, ns: str, name: str):
    """The member's apps/v1 object (`kind` as the client names it: deployment, daemon_set …), or None."""
    try:
        return getattr(client.AppsV1Api(members[member].api_client()), f"read_namespaced_{kind}")(name, ns)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise


def member_deployment(members: dict[str, EmulatorServer], member: str, ns: str, name: str):
    return member_workload(members, member, "deployment", ns, name)


__all__ = ["MEMBERS", "binding", "eventually", "federation_on", "member_deployment", "member_workload",
           "namespace", "start_karmada", "start_members"]
