"""A registered cluster reached through the access hub and a real agent (issue 3):
status follows the agent, the gateway impersonates the user so the cluster's own RBAC
decides, and kubeconfigs work with stock kubectl as that user."""
import concurrent.futures
import subprocess
from datetime import timedelta

import pytest
import yaml

from cceone.audit.models import AuditEvent
from cceone.kube.gateway import KubeError, client_for
from clusters import connectivity, kubeconfigs
from clusters.models import ClusterHeartbeat
from clusters.status import hub_status
from tests.live import WINDOW, cluster_status, grant, wait_until
from tests.factories import ClusterFactory


def test_first_heartbeat_brings_the_cluster_to_running_with_its_facts(connected_cluster):
    cluster = connected_cluster
    assert cluster.first_running_at is not None
    assert cluster.kubernetes_version.startswith("v1.")
    names = {n["name"] for n in cluster.facts["nodes"]}
    assert len(names) == 3
    beat = ClusterHeartbeat.objects.filter(cluster=cluster).first()
    assert beat.nodes_total == 3 and beat.vcpu > 0
    assert AuditEvent.objects.filter(action="clusters:status", target_id=str(cluster.pk),
                                     details__to="running").exists()


def test_gateway_reaches_the_cluster_as_the_user(connected_cluster, emulator, tenant):
    grant(emulator, tenant.main, "cluster-admin")
    pods = client_for(connected_cluster, tenant.main).resources.get(api_version="v1", kind="Pod")
    listed = pods.get(namespace="default")
    assert listed.items is not None
    cms = client_for(connected_cluster, tenant.main).resources.get(api_version="v1", kind="ConfigMap")
    cms.create(namespace="default", body={"metadata": {"name": "settings"}, "data": {"a": "1"}})
    cms.patch(namespace="default", name="settings", body={"data": {"a": "2"}},
              content_type="application/merge-patch+json")
    assert cms.get(namespace="default", name="settings").data["a"] == "2"
    cms.delete(namespace="default", name="settings")
    with pytest.raises(Exception):
        cms.get(namespace="default", name="settings")


def test_a_user_without_rbac_is_refused_with_the_missing_permission(connected_cluster, emulator, tenant):
    # A sub-account without IAM read on the cluster holds no Kubernetes role from the
    # platform; it only has what this test binds for it.
    grant(emulator, tenant.nopolicy, "view", namespace="default")
    client = client_for(connected_cluster, tenant.nopolicy)
    pods = client.resources.get(api_version="v1", kind="Pod")
    assert pods.get(namespace="default").items is not None  # view in default: allowed
    with pytest.raises(Exception) as raised:
        pods.get(namespace="kube-system")
    from cceone.kube.gateway import explain

    error = explain(raised.value, connected_cluster)
    assert isinstance(error, KubeError) and error.status == 403
    assert str(error) == "You lack permission to list pods in namespace kube-system on edge-01."
    with pytest.raises(Exception) as raised:
        client.resources.get(api_version="v1", kind="Node").get()
    assert "list nodes at cluster scope" in str(explain(raised.value, connected_cluster))


def test_watch_and_large_lists_through_the_tunnel(connected_cluster, emulator, tenant):
    grant(emulator, tenant.main, "cluster-admin")
    client = client_for(connected_cluster, tenant.main, timeout=(5, 60))
    cms = client.resources.get(api_version="v1", kind="ConfigMap")
    blob = "x" * 100_000
    for i in range(55):  # > 5 MB in one list
        emulator.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": f"big-{i}", "namespace": "default"}, "data": {"v": blob}})
    items = cms.get(namespace="default").items
    big = [i for i in items if i.metadata.name.startswith("big-")]
    assert len(big) == 55 and all(len(i.data["v"]) == 100_000 for i in big)

    seen = []
    events = cms.watch(namespace="default", field_selector="metadata.name=watched", timeout=5)
    cms.create(namespace="default", body={"metadata": {"name": "watched"}})
    for event in events:
        seen.append((event["type"], event["object"].metadata.name))
        break
    assert seen == [("ADDED", "watched")]


def test_fifty_concurrent_requests_over_the_tunnel(connected_cluster, emulator, tenant):
    grant(emulator, tenant.main, "cluster-admin")
    client = client_for(connected_cluster, tenant.main)
    namespaces = client.resources.get(api_version="v1", kind="Namespace")

    def one(_):
        return len(namespaces.get().items)

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        counts = list(pool.map(one, range(50)))
    assert len(set(counts)) == 1 and counts[0] >= 4


def test_agent_loss_disconnects_and_reconnect_restores(connected_cluster, start_agent):
    cluster = connected_cluster
    cluster.agent.kill()
    wait_until(lambda: cluster_status(cluster) == "disconnected", timeout=2 * WINDOW + 5,
               what="disconnected within two windows")
    cluster.refresh_from_db()
    assert cluster.disconnected_since is not None
    assert "is disconnected since" in cluster.unreachable_message()
    with pytest.raises(KubeError) as raised:
        from cceone.kube.gateway import explain

        try:
            client_for(cluster, cluster.creator).resources.get(api_version="v1", kind="Pod").get()
        except Exception as error:  # noqa: BLE001
            raise explain(error, cluster) from error
    assert "disconnected since" in str(raised.value)

    token = connectivity.issue_agent_token(cluster)
    start_agent(token)
    wait_until(lambda: cluster_status(cluster) == "running", what="running again")
    transitions = list(AuditEvent.objects.filter(action="clusters:status", target_id=str(cluster.pk))
                       .order_by("time").values_list("details__to", flat=True))
    assert transitions == ["running", "disconnected", "running"]


def test_hub_restart_agents_come_back(connected_cluster, live_hub, settings):
    from cceone.hub import HubThread
    from cceone.hub.certs import HubTLS
    from clusters.hub_directory import DatabaseDirectory

    public, internal = live_hub.public_port, live_hub.internal_port
    live_hub.stop()
    again = HubThread(DatabaseDirectory(), public_port=public, internal_port=internal, heartbeat_window=WINDOW,
                      secret=live_hub.secret, tls=HubTLS.ensure(settings.CCEONE_HUB_TLS_DIR))
    settings.CCEONE_HUB_INTERNAL_URL = again.internal_url
    try:
        wait_until(lambda: (hub_status(connected_cluster) or {}).get("connected"), timeout=10,
                   what="the agent reconnecting within 10 s")
    finally:
        again.stop()


def test_bad_agent_token_is_refused_and_audited(live_hub, start_agent, tenant):
    agent = start_agent("cca_not-a-real-token")
    wait_until(lambda: AuditEvent.objects.filter(action="clusters:agent-refused", result="denied").exists(),
               what="the refusal in the audit log")
    agent.kill()


def test_sweep_marks_silent_clusters_disconnected(tenant, settings):
    from django.utils import timezone

    settings.CCEONE_HUB_HEARTBEAT_WINDOW = 30
    silent = ClusterFactory(account=tenant.account, last_heartbeat_at=timezone.now() - timedelta(minutes=5))
    fresh = ClusterFactory(account=tenant.account, last_heartbeat_at=timezone.now())
    assert connectivity.sweep_disconnected() == 1
    assert cluster_status(silent) == "disconnected" and cluster_status(fresh) == "running"


# --- kubeconfigs through the hub's proxy, with stock kubectl -----------------------------

def kubectl(config_text: str, tmp_path, *args) -> subprocess.CompletedProcess:
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(config_text)
    return subprocess.run(["kubectl", "--kubeconfig", str(path), "--request-timeout", "10s", *args],
                          capture_output=True, text=True, timeout=30)


def unauthorized(result: subprocess.CompletedProcess) -> bool:
    """kubectl's wording for a 401 (it varies with the command and version)."""
    return result.returncode != 0 and ("Unauthorized" in result.stderr or "must be logged in" in result.stderr)


def test_kubeconfig_works_with_kubectl_as_the_user(connected_cluster, emulator, tenant, tmp_path):
    """The proxy impersonates the token's user: what kubectl may do is that user's RBAC —
    here `restricted` (read-only on namespaced resources), the default of a sub-account."""
    _issued, config = kubeconfigs.issue(tenant.user, connected_cluster)
    ok = kubectl(config, tmp_path, "get", "pods", "-n", "prod", "-o", "name")
    assert ok.returncode == 0, ok.stderr
    assert "pod/" in ok.stdout
    denied = kubectl(config, tmp_path, "get", "nodes")
    assert denied.returncode != 0
    assert 'User "cceone:acme-user" cannot list resource "nodes"' in denied.stderr
    pod = ok.stdout.split()[0]
    refused = kubectl(config, tmp_path, "delete", "-n", "prod", pod)
    assert refused.returncode != 0 and "cannot delete resource" in refused.stderr


def test_expired_and_revoked_kubeconfigs_are_refused(connected_cluster, emulator, tenant, tmp_path):
    from django.utils import timezone

    grant(emulator, tenant.user, "view")
    issued, config = kubeconfigs.issue(tenant.user, connected_cluster, timedelta(hours=1))
    assert kubectl(config, tmp_path, "get", "ns").returncode == 0
    type(issued).objects.filter(pk=issued.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = kubectl(config, tmp_path, "get", "ns")
    assert unauthorized(expired)

    issued, config = kubeconfigs.issue(tenant.user, connected_cluster)
    kubeconfigs.revoke(tenant.user, issued)
    revoked = kubectl(config, tmp_path, "get", "ns")
    assert unauthorized(revoked)


def test_kubeconfig_for_another_tenants_cluster_is_not_found(connected_cluster, other_tenant, tenant, tmp_path):
    foreign = ClusterFactory(account=other_tenant.account)
    _issued, config = kubeconfigs.issue(tenant.main, connected_cluster)
    data = yaml.safe_load(config)
    data["clusters"][0]["cluster"]["server"] = data["clusters"][0]["cluster"]["server"].replace(
        f"/clusters/{connected_cluster.pk}", f"/clusters/{foreign.pk}")
    result = kubectl(yaml.safe_dump(data), tmp_path, "get", "ns")
    assert result.returncode != 0
    assert "not found" in result.stderr.lower() or "notfound" in result.stderr.lower()


def test_disabling_a_user_revokes_their_kubeconfigs(connected_cluster, emulator, tenant, tmp_path):
    from cceone.iam import services as iam_services

    grant(emulator, tenant.user, "view")
    _issued, config = kubeconfigs.issue(tenant.user, connected_cluster)
    iam_services.update_sub_account(tenant.main, tenant.user, email="", phone="", is_active=False, groups=[])
    assert unauthorized(kubectl(config, tmp_path, "get", "ns"))


def test_a_password_change_revokes_kubeconfigs_and_a_new_one_works(connected_cluster, emulator, tenant, tmp_path):
    from cceone.iam import services as iam_services

    grant(emulator, tenant.user, "view")
    _issued, config = kubeconfigs.issue(tenant.user, connected_cluster)
    assert kubectl(config, tmp_path, "get", "ns").returncode == 0
    iam_services.set_password(tenant.main, tenant.user, "Another-Horse-77")
    assert unauthorized(kubectl(config, tmp_path, "get", "ns"))
    _issued, fresh = kubeconfigs.issue(tenant.user, connected_cluster)
    assert kubectl(fresh, tmp_path, "get", "ns").returncode == 0


def test_sweep_marks_a_cloud_cluster_no_poll_reached_disconnected(tenant, settings):
    """Beat or the workers stopped: a cluster reached directly must not stay "running" on
    facts nobody checks; the next poll that answers brings it back."""
    from django.utils import timezone

    settings.CCEONE_DIRECT_POLL_SECONDS = 30
    unpolled = ClusterFactory(account=tenant.account, connection_mode="direct",
                              last_heartbeat_at=timezone.now() - timedelta(minutes=2))
    polled = ClusterFactory(account=tenant.account, connection_mode="direct", last_heartbeat_at=timezone.now())
    assert connectivity.sweep_disconnected() == 1
    assert cluster_status(unpolled) == "disconnected" and cluster_status(polled) == "running"
    assert unpolled.status_changes.last().reason == "not polled for three poll intervals"
