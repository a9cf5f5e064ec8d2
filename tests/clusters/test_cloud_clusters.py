"""Cloud clusters (#13 items 1, 2): reached directly, without an agent. Their kubeconfig
goes through the hub's proxy like an agent cluster's (same authorisation, the user's own
Kubernetes identity), the hub holding the cluster's credential, which never travels over
plain HTTP; the worker polls them for the facts an agent would report, disconnects them
after two failed polls, and billing charges what the polls saw."""
from datetime import timedelta
from decimal import Decimal

import pytest
import yaml
from django.urls import reverse

from billing.models import Settlement
from cceone.iam.models import EnterpriseProject
from cceone.kube.gateway import KubeError, client_for
from clusters import connectivity, kubeconfigs, services
from clusters.models import CloudProviderCluster, ClusterHeartbeat, RegisteredCluster
from clusters.transitions import change_status
from tests.clusters.test_connectivity import kubectl
from tests.conftest import client_for as console_client
from tests.factories import ClusterFactory, ready_to_order
from sandbox.kubesim.runner import EmulatorServer
from tests.live import cloud_inventory, cluster_status, grant, wait_until

Status = RegisteredCluster.Status


@pytest.fixture
def cloud_cluster(tenant, live_hub, tls_emulator, django_capture_on_commit_callbacks):
    """A cloud cluster the tenant associated through the order form's service: running,
    its platform RBAC written into it (as after any cluster comes up)."""
    from permissions.models import ClusterPermissionSync

    ready_to_order(tenant.account)
    cloud = cloud_inventory(tenant.account, tls_emulator)
    order = services.Order(cluster_type="cloud", region=cloud.region, name=cloud.name, cloud_cluster=cloud,
                           enterprise_project=EnterpriseProject.objects.get(account=tenant.account, name="default"))
    with django_capture_on_commit_callbacks(execute=True):
        cluster = services.place_order(tenant.main, order, agreed=True)
    wait_until(lambda: cluster_status(cluster) == Status.RUNNING, what="the cloud cluster to run")
    wait_until(lambda: ClusterPermissionSync.objects.filter(pk=cluster.pk, state="synced").exists(),
               what="the first permission sync")
    cluster.refresh_from_db()
    return cluster


def node(name: str, cpu: str, ready: str = "True") -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {}},
            "status": {"capacity": {"cpu": cpu, "memory": "64Gi"}, "allocatable": {"cpu": cpu, "memory": "60Gi"},
                       "conditions": [{"type": "Ready", "status": ready}]}}


# --- the kubeconfig, through the hub ----------------------------------------------------

def test_kubectl_on_a_cloud_cluster_acts_as_the_user(cloud_cluster, tenant, tmp_path):
    """The hub holds the cluster's admin credential, yet kubectl can do only what the user's
    RBAC allows: the user's identity reached the API server (impersonation)."""
    _issued, config = kubeconfigs.issue(tenant.user, cloud_cluster)
    server = yaml.safe_load(config)["clusters"][0]["cluster"]["server"]
    assert server.endswith(f"/k8s/clusters/{cloud_cluster.pk}")  # the hub, not the cluster's own endpoint
    pods = kubectl(config, tmp_path, "get", "pods", "-n", "prod", "-o", "name")
    assert pods.returncode == 0, pods.stderr
    assert "pod/postgres-0" in pods.stdout.split()
    nodes = kubectl(config, tmp_path, "get", "nodes")
    assert nodes.returncode != 0
    assert 'User "cceone:acme-user" cannot list resource "nodes"' in nodes.stderr


def test_a_watch_through_the_hub_streams(cloud_cluster, tenant, tls_emulator, tmp_path):
    import subprocess

    grant(tls_emulator, tenant.user, "view")
    _issued, config = kubeconfigs.issue(tenant.user, cloud_cluster)
    path = tmp_path / "watch.kubeconfig"
    path.write_text(config)
    watcher = subprocess.Popen(["kubectl", "--kubeconfig", str(path), "get", "configmaps", "-n", "prod", "--watch",
                                "-o", "name"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: kubectl(config, tmp_path, "get", "ns").returncode == 0, what="the proxy to answer")
        tls_emulator.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "streamed", "namespace": "prod"}})
        seen = []

        def arrived():
            line = watcher.stdout.readline()
            seen.append(line.strip())
            return "configmap/streamed" in seen

        wait_until(arrived, timeout=15, what="the watch event")
        assert watcher.poll() is None  # still watching: streamed, not buffered to the end
    finally:
        watcher.kill()
        watcher.wait(5)


def test_another_tenants_token_gets_not_found(cloud_cluster, other_tenant, live_hub, tmp_path):
    own = ClusterFactory(account=other_tenant.account, name="globex-01")
    _issued, config = kubeconfigs.issue(other_tenant.main, own)
    data = yaml.safe_load(config)
    data["clusters"][0]["cluster"]["server"] = data["clusters"][0]["cluster"]["server"].replace(
        f"/clusters/{own.pk}", f"/clusters/{cloud_cluster.pk}")
    result = kubectl(yaml.safe_dump(data), tmp_path, "get", "pods", "-n", "prod")
    assert result.returncode != 0
    assert "(NotFound)" in result.stderr and "postgres-0" not in result.stdout
    # What the hub answered, to any client: that cluster does not exist for this token.
    import ssl
    import urllib.error
    import urllib.request

    user = data["users"][0]["user"]
    request = urllib.request.Request(f"{data['clusters'][0]['cluster']['server']}/api/v1/namespaces/prod/pods",
                                     headers={"Authorization": f"Bearer {user['token']}"})
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(request, context=ssl.create_default_context(cafile=live_hub.ca_file), timeout=10)
    assert answered.value.code == 404
    assert f'clusters \\"{cloud_cluster.pk}\\" not found' in answered.value.read().decode()


def test_a_frozen_cloud_cluster_is_refused(cloud_cluster, tenant, tmp_path):
    _issued, config = kubeconfigs.issue(tenant.main, cloud_cluster)
    assert kubectl(config, tmp_path, "get", "ns").returncode == 0
    change_status(cloud_cluster, Status.FROZEN, "arrears")
    refused = kubectl(config, tmp_path, "get", "ns")
    assert refused.returncode != 0 and "frozen because its account is in arrears" in refused.stderr


# --- never over plain HTTP --------------------------------------------------------------

def test_an_http_endpoint_is_refused_in_the_admin(tenant, region):
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.create_superuser("ops", "ops@example.com", "Correct-Horse-42")
    client = console_client(operator)
    form = {"account": tenant.account.pk, "region": region.pk, "name": "cce-plain", "edition": "cce_managed",
            "api_endpoint": "http://api.cce-plain.example.com:6443", "token": "secret", "ca_data": "",
            "is_running": "on"}
    response = client.post(reverse("admin:clusters_cloudprovidercluster_add"), form)
    assert response.status_code == 200
    assert "Use an https:// API endpoint: the cluster&#x27;s credential is never sent over plain HTTP." in \
        response.content.decode()
    assert not CloudProviderCluster.objects.exists()
    accepted = client.post(reverse("admin:clusters_cloudprovidercluster_add"),
                           {**form, "api_endpoint": "https://api.cce-plain.example.com:6443"})
    assert accepted.status_code == 302 and CloudProviderCluster.objects.get().name == "cce-plain"


def test_an_http_endpoint_left_in_the_database_gets_no_credential(cloud_cluster, tenant, tls_emulator, tmp_path):
    """A row written before endpoints were checked: neither the hub nor the worker sends the
    token to it; the user is told why."""
    CloudProviderCluster.objects.filter(pk=cloud_cluster.cloud_cluster_id).update(
        api_endpoint=tls_emulator.url.replace("https://", "http://"))
    _issued, config = kubeconfigs.issue(tenant.main, cloud_cluster)
    refused = wait_until(lambda: (r := kubectl(config, tmp_path, "get", "ns")).returncode != 0 and r,
                         what="the hub to see the new endpoint")
    assert "never sends the cluster's credential over plain HTTP" in refused.stderr
    cloud_cluster.refresh_from_db()
    with pytest.raises(KubeError) as raised:
        client_for(cloud_cluster, tenant.main)
    assert "its credential is never sent over plain HTTP" in str(raised.value)
    assert connectivity.poll_direct(cloud_cluster.pk) is False


# --- polling ----------------------------------------------------------------------------

def test_polls_update_the_facts_and_billing_charges_what_they_saw(cloud_cluster, tenant, tls_emulator,
                                                                  broker_queue, tmp_path):
    """Polled by a real worker from the beat's task: the new version, the added node and its
    vCPU show on the cluster and in its heartbeats, and the hour is billed at the polled vCPU."""
    from billing import services as billing
    from billing.models import LedgerEntry
    from clusters.tasks import poll_direct_clusters
    from tests.worker import Worker

    assert cloud_cluster.kubernetes_version == "v1.31.4" and len(cloud_cluster.facts["nodes"]) == 3
    associated = ClusterHeartbeat.objects.get(cluster=cloud_cluster)
    assert associated.vcpu == 20
    tls_emulator.emulator.version = "v1.32.1"
    tls_emulator.emulator.put_object(node("worker-3", "16"))
    worker = Worker("poller", broker_queue, tmp_path)
    try:
        worker.wait_ready()
        poll_direct_clusters.apply_async(queue=broker_queue)
        wait_until(lambda: ClusterHeartbeat.objects.filter(cluster=cloud_cluster, nodes_total=4).exists(),
                   timeout=60, what="a polled heartbeat")
    finally:
        worker.kill()
    cloud_cluster.refresh_from_db()
    assert cloud_cluster.kubernetes_version == "v1.32.1"
    assert {n["name"] for n in cloud_cluster.facts["nodes"]} == {"cp-1", "worker-1", "worker-2", "worker-3"}
    polled = ClusterHeartbeat.objects.get(cluster=cloud_cluster, nodes_total=4)
    assert polled.vcpu == 36 and polled.status == Status.RUNNING

    # Settle the hour of the polls: billed at the largest vCPU observed, 36, not the 20 seen
    # at association.
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("cloud-ops", "cloud-ops@example.com", "Correct-Horse-42")
    billing.top_up(staff, tenant.account, Decimal("100"), "receipt-1")
    hour = polled.time.replace(minute=0, second=0, microsecond=0)
    billing.settle(now=hour + timedelta(hours=1))
    settled = Settlement.objects.get(instance_id=cloud_cluster.pk, hour_start=hour)
    assert settled.billable and settled.vcpu == 36
    assert LedgerEntry.objects.filter(account=tenant.account, kind=LedgerEntry.Kind.CHARGE).exists()


def restarted(server: EmulatorServer) -> EmulatorServer:
    """The cluster's API server back at the same address with the same certificate."""
    again = EmulatorServer(seed_files=["local-3node"], tls=True, port=server.port)
    again.certificates = server.certificates
    return again


def test_two_failed_polls_disconnect_and_an_answer_brings_it_back(cloud_cluster, tls_emulator):
    assert connectivity.poll_direct(cloud_cluster.pk) is True
    tls_emulator.stop()
    assert connectivity.poll_direct(cloud_cluster.pk) is False
    assert cluster_status(cloud_cluster) == Status.RUNNING  # one failed poll is not a disconnection
    assert connectivity.poll_direct(cloud_cluster.pk) is False
    assert cluster_status(cloud_cluster) == Status.DISCONNECTED
    cloud_cluster.refresh_from_db()
    assert cloud_cluster.disconnected_since == cloud_cluster.last_heartbeat_at
    assert "disconnected since" in cloud_cluster.unreachable_message()
    change = cloud_cluster.status_changes.last()
    assert change.reason == "API server did not answer two polls in a row"
    beats = ClusterHeartbeat.objects.filter(cluster=cloud_cluster).count()

    with restarted(tls_emulator):
        assert connectivity.poll_direct(cloud_cluster.pk) is True
    cloud_cluster.refresh_from_db()
    assert cloud_cluster.status == Status.RUNNING and cloud_cluster.failed_polls == 0
    assert cloud_cluster.disconnected_since is None
    assert cloud_cluster.status_changes.last().reason == "API server answered a poll"
    assert ClusterHeartbeat.objects.filter(cluster=cloud_cluster).count() == beats + 1


def test_a_failed_poll_between_answers_changes_nothing(cloud_cluster, tls_emulator):
    tls_emulator.stop()
    assert connectivity.poll_direct(cloud_cluster.pk) is False
    with restarted(tls_emulator):
        assert connectivity.poll_direct(cloud_cluster.pk) is True
    assert connectivity.poll_direct(cloud_cluster.pk) is False
    assert cluster_status(cloud_cluster) == Status.RUNNING  # not two in a row


def test_only_live_clusters_reached_directly_are_polled(cloud_cluster, tenant):
    ClusterFactory(account=tenant.account, name="agent-01")  # an agent cluster: its agent reports
    assert connectivity.clusters_to_poll() == [cloud_cluster.pk]
    change_status(cloud_cluster, Status.FROZEN, "arrears")
    assert connectivity.clusters_to_poll() == [cloud_cluster.pk]  # still read; not billed while frozen
    assert connectivity.poll_direct(cloud_cluster.pk) is True
    assert ClusterHeartbeat.objects.filter(cluster=cloud_cluster).first().status == Status.FROZEN
    RegisteredCluster.objects.filter(pk=cloud_cluster.pk).update(status=Status.UNSUBSCRIBED)
    assert connectivity.clusters_to_poll() == []
    assert connectivity.poll_direct(cloud_cluster.pk) is False


def test_the_count_of_failed_polls_outlives_a_killed_worker(cloud_cluster, tls_emulator, broker_queue, tmp_path):
    """The database holds the count: a worker killed after the first failed poll, the next
    worker's failed poll is the second one in a row."""
    from clusters.tasks import poll_direct_clusters
    from tests.worker import Worker

    tls_emulator.stop()
    failed = lambda n: RegisteredCluster.objects.filter(pk=cloud_cluster.pk, failed_polls=n).exists()  # noqa: E731
    first = Worker("first-poller", broker_queue, tmp_path)
    try:
        first.wait_ready()
        poll_direct_clusters.apply_async(queue=broker_queue)
        wait_until(lambda: failed(1), timeout=60, what="the first failed poll")
    finally:
        first.kill()
    assert cluster_status(cloud_cluster) == Status.RUNNING
    second = Worker("second-poller", broker_queue, tmp_path)
    try:
        second.wait_ready()
        poll_direct_clusters.apply_async(queue=broker_queue)
        wait_until(lambda: cluster_status(cloud_cluster) == Status.DISCONNECTED, timeout=60,
                   what="the second failed poll")
    finally:
        second.kill()
    assert failed(2)


# --- upgraded connections (exec, cp, port-forward) straight to the cluster's API server ----

def test_exec_cp_and_port_forward_on_a_cloud_cluster(cloud_cluster, tenant, tls_emulator, tmp_path):
    """The hub dials the cloud cluster's API server with the upgrade itself (no agent): the
    user's RBAC decides, the bytes flow both ways, and each session is audited."""
    import os
    import subprocess
    import urllib.request

    from cceone.audit.models import AuditEvent
    from tests.clusters.test_pod_sessions import POD, SPDY, _free_port, _sessions

    tls_emulator.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "web-config", "namespace": "default"},
                                      "data": {"MODE": "cloud", "app.conf": "listen 8080\n"}})
    tls_emulator.emulator.put_object(POD)
    _issued, config = kubeconfigs.issue(tenant.user, cloud_cluster)
    refused = kubectl(config, tmp_path, "exec", "web", "--", "echo", "hi")
    assert refused.returncode != 0 and 'cannot create resource "pods/exec"' in refused.stderr

    grant(tls_emulator, tenant.user, "edit", namespace="default")
    ran = kubectl(config, tmp_path, "exec", "web", "--", "sh", "-c", "echo $GREETING $MODE; hostname")
    assert ran.returncode == 0 and ran.stdout == "hello cloud\nweb\n", ran.stderr
    path = tmp_path / "kubeconfig.yaml"
    old = subprocess.run(["kubectl", "--kubeconfig", str(path), "exec", "-i", "web", "--", "sh"], input="echo spdy\n",
                         capture_output=True, text=True, timeout=30, env={**os.environ, **SPDY})
    assert old.stdout == "spdy\n", old.stderr
    local = tmp_path / "up.txt"
    local.write_text("to the cloud\n" * 500)
    assert kubectl(config, tmp_path, "cp", str(local), "default/web:/tmp/up.txt").returncode == 0
    back = tmp_path / "back.txt"
    assert kubectl(config, tmp_path, "cp", "default/web:/tmp/up.txt", str(back)).returncode == 0
    assert back.read_text() == local.read_text()

    port = _free_port()
    forward = subprocess.Popen(["kubectl", "--kubeconfig", str(path), "port-forward", "pod/web", f"{port}:8080"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Forwarding from" in forward.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/cloud", timeout=10) as answer:
            assert answer.read().decode() == "Hello from pod web on port 8080: GET /cloud\n"
    finally:
        forward.terminate()
        forward.wait(10)

    execs = wait_until(lambda: len(_sessions(cloud_cluster, "clusters:pod-exec")) >= 5
                       and _sessions(cloud_cluster, "clusters:pod-exec"), what="exec sessions audited")
    assert execs[0].result == AuditEvent.Result.DENIED and execs[0].details["status"] == 403
    done = next(e for e in execs if e.details["command"][:2] == ["sh", "-c"])
    assert done.result == AuditEvent.Result.SUCCESS and done.actor == tenant.user
    assert done.details["pod"] == "web" and done.details["bytes_out"] > 0
    forwarded = wait_until(lambda: _sessions(cloud_cluster, "clusters:pod-portforward", pod="web"),
                           what="port-forward audited")[0]
    assert forwarded.details["ports"] == ["8080"] and forwarded.details["bytes_out"] > 40
