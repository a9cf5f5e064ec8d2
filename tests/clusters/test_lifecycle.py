"""A registered cluster's lifecycle through the real hub and agent (R3.3, R3.5, R3.8):
order → pending access → the agent from the rendered YAML connects → running; access
timeout; unsubscribe with its checks and effects; cloud clusters connected directly."""
from datetime import timedelta

import yaml
from django.urls import reverse
from django.utils import timezone

from cceone.audit.models import AuditEvent, OperationLog
from cceone.iam.models import EnterpriseProject
from clusters import services
from clusters.models import KubeconfigToken, RegisteredCluster, SecurityGroup
from clusters.status import hub_status
from fleets import services as fleets
from tests.conftest import client_for
from tests.factories import make_inventory, ready_to_order
from tests.live import cloud_inventory, cluster_status, wait_until

Status = RegisteredCluster.Status


def order_local(tenant, name="idc-shanghai-01"):
    inventory = make_inventory()
    ready_to_order(tenant.account)
    order = services.Order(
        cluster_type="local", region=inventory["vpc"].region, name=name, provider="kubeadm",
        enterprise_project=EnterpriseProject.objects.get(account=tenant.account, name="default"),
        vpc=inventory["vpc"], subnet=inventory["subnet"], apiserver_spec=inventory["apiserver_spec"],
        deletion_protection=True)
    return services.place_order(tenant.main, order, agreed=True)  # eager tasks: provisioned on commit


def agent_from_yaml(client, cluster, tmp_path, variant="public"):
    """What a user does: download the agent YAML and apply it — here, run the agent it describes."""
    response = client.get(reverse("clusters:agent-yaml", args=[cluster.pk, variant]))
    assert response.status_code == 200
    docs = {d["kind"]: d for d in yaml.safe_load_all(response.content)}
    deployment = docs["Deployment"]
    assert deployment["metadata"]["name"] == "cceone-cluster-agent"
    assert deployment["metadata"]["namespace"] == "kube-system" and deployment["spec"]["replicas"] == 2
    secret = docs["Secret"]["stringData"]
    ca = tmp_path / "hub-ca.crt"
    ca.write_text(secret["ca.crt"])
    return secret["hub-url"], secret["token"], str(ca)


def test_local_cluster_comes_to_running_when_its_agent_connects(transactional_db, tenant, live_hub, start_agent,
                                                                 tmp_path):
    cluster = order_local(tenant)
    assert cluster_status(cluster) == Status.PENDING_ACCESS
    client = client_for(tenant.main)
    page = client.get(reverse("clusters:access", args=[cluster.pk]) + "?tab=access").content.decode()
    assert "kubectl -n kube-system get pod | grep cceone-cluster-agent" in page
    assert "Public IPv4" in page and "Private IPv4" in page
    # A switch between the network types: one agent YAML shown at a time.
    assert 'id="agent-public"' in page and 'id="agent-private"' not in page
    private = client.get(reverse("clusters:access", args=[cluster.pk]) + "?tab=access&network=private").content.decode()
    assert 'id="agent-private"' in private and 'id="agent-public"' not in private
    assert 'aria-current="true" href="?tab=access&amp;network=private"' in private
    hub_url, token, ca = agent_from_yaml(client, cluster, tmp_path)
    start_agent(token, hub_url=hub_url, ca_file=ca)
    wait_until(lambda: cluster_status(cluster) == Status.RUNNING, what="running")
    cluster.refresh_from_db()
    assert cluster.first_running_at and len(cluster.facts["nodes"]) == 3
    listing = client.get(reverse("clusters:list")).content.decode()
    assert f'href="/clusters/{cluster.pk}/"' in listing  # only running clusters link to their console


def test_pending_access_times_out_and_a_late_agent_still_brings_it_up(transactional_db, tenant, live_hub,
                                                                       start_agent, tmp_path, settings):
    cluster = order_local(tenant)
    RegisteredCluster.objects.filter(pk=cluster.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    assert services.expire_pending_access() == 1
    assert cluster_status(cluster) == Status.ACCESS_TIMEOUT
    hub_url, token, ca = agent_from_yaml(client_for(tenant.main), cluster, tmp_path, "private")
    start_agent(token, hub_url=hub_url, ca_file=ca)
    wait_until(lambda: cluster_status(cluster) == Status.RUNNING, what="running after the timeout")


def test_unsubscribe_checks_then_revokes_everything(transactional_db, tenant, live_hub, start_agent, tmp_path):
    from clusters import kubeconfigs

    cluster = order_local(tenant)
    client = client_for(tenant.main)
    hub_url, token, ca = agent_from_yaml(client, cluster, tmp_path)
    start_agent(token, hub_url=hub_url, ca_file=ca)
    wait_until(lambda: cluster_status(cluster) == Status.RUNNING, what="running")
    cluster.refresh_from_db()
    kubeconfigs.issue(tenant.user, cluster)
    services.bind_eip(tenant.main, cluster)
    fleet = fleets.create_fleet(tenant.main, name="edge-fleet", clusters=[cluster])
    cluster.refresh_from_db()
    eip, group = cluster.eip_address, cluster.security_group

    page = client.get(reverse("clusters:unsubscribe", args=[cluster.pk])).content.decode()
    assert "Turn deletion protection off first." in page and "disabled" in page
    # What else happens is said before confirming: it leaves its fleet, the order's resources are released.
    assert "It leaves fleet edge-fleet" in page
    assert f"the EIP {eip}" in page and f"the security group {group.name}" in page
    refused = client.post(reverse("clusters:unsubscribe", args=[cluster.pk]), follow=True)
    assert "Turn deletion protection off first." in refused.content.decode()
    assert cluster_status(cluster) == Status.RUNNING

    client.post(reverse("clusters:access-action", args=[cluster.pk, "protection"]), {})  # switch off
    response = client.post(reverse("clusters:unsubscribe", args=[cluster.pk]))
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert cluster.status == Status.UNSUBSCRIBED and cluster.unsubscribed_at is not None
    assert cluster.agent_token_hash is None
    assert not KubeconfigToken.objects.filter(cluster=cluster, revoked_at__isnull=True).exists()
    wait_until(lambda: not (hub_status(cluster) or {}).get("connected"), what="agent connections closed")
    wait_until(lambda: AuditEvent.objects.filter(action="clusters:agent-refused").exists(),
               what="the reconnecting agent refused")
    steps = list(OperationLog.objects.get(target_id=str(cluster.pk), operation="unsubscribe")
                 .steps.values_list("name", flat=True))
    assert steps == ["Unsubscribe accepted", "Leave fleet", "Revoke agent and kubeconfig credentials",
                     "Release access endpoint", "Release EIP", "Delete security group", "Stop billing"]
    assert not fleet.clusters.exists() and not SecurityGroup.objects.filter(pk=group.pk).exists()
    api = client.get(f"/api/v1/clusters/{cluster.pk}/").json()
    assert api["eip_address"] is None and api["status"] == "unsubscribed"
    assert AuditEvent.objects.filter(action="clusters:delete", target_id=str(cluster.pk), result="success").exists()
    client.get(reverse("clusters:list"))  # shows (and consumes) the "being unsubscribed" message
    listing = client.get(reverse("clusters:list")).content.decode()
    assert cluster.name not in listing
    assert cluster.name in client.get(reverse("clusters:list"), {"show_unsubscribed": "on"}).content.decode()


def test_cloud_cluster_connects_directly(tenant, tls_emulator, django_capture_on_commit_callbacks):
    ready_to_order(tenant.account)
    cloud = cloud_inventory(tenant.account, tls_emulator, region=make_inventory()["vpc"].region)
    assert "admin-token" not in cloud.credentials_encrypted  # encrypted at rest
    client = client_for(tenant.admin)
    data = {"cloud_cluster": cloud.pk,
            "enterprise_project": EnterpriseProject.objects.get(account=tenant.account, name="default").pk}
    confirm = client.post(reverse("clusters:order", args=["cloud"]), {**data, "step": "configure"}).content.decode()
    assert "¥0.0556 / vCPU / hour" in confirm and "cce-prod-01" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("clusters:order", args=["cloud"]), {**data, "step": "submit", "agreed": "on"})
    cluster = RegisteredCluster.objects.get(name="cce-prod-01")
    assert cluster.status == Status.RUNNING and cluster.connection_mode == "direct"
    assert cluster.kubernetes_version == "v1.31.4" and cluster.provider == "CCE managed"
    page = client.get(reverse("clusters:access", args=[cluster.pk]) + "?tab=access").content.decode()
    assert "Access information" not in page  # cloud clusters need no agent


def test_a_cloud_cluster_keeps_its_own_name_and_can_be_associated_again_after_unsubscribe(
        tenant, tls_emulator, django_capture_on_commit_callbacks):
    """The manual's example name `sce-fcelf3-`; unsubscribed, the cloud cluster is free to associate again."""
    ready_to_order(tenant.account)
    cloud = cloud_inventory(tenant.account, tls_emulator, name="sce-fcelf3-", region=make_inventory()["vpc"].region)
    client = client_for(tenant.admin)
    data = {"cloud_cluster": cloud.pk, "step": "submit", "agreed": "on",
            "enterprise_project": EnterpriseProject.objects.get(account=tenant.account, name="default").pk}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("clusters:order", args=["cloud"]), data)
    first = RegisteredCluster.objects.get(name="sce-fcelf3-")
    assert first.status == Status.RUNNING
    first.deletion_protection = False
    first.save(update_fields=["deletion_protection"])
    with django_capture_on_commit_callbacks(execute=True):
        services.unsubscribe(tenant.admin, first)
    assert cluster_status(first) == Status.UNSUBSCRIBED
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("clusters:order", args=["cloud"]), data)
    assert response.status_code == 302, response.content.decode()
    again = RegisteredCluster.objects.exclude(pk=first.pk).get(name="sce-fcelf3-")
    assert again.status == Status.RUNNING and again.cloud_cluster == cloud


def test_cloud_cluster_that_cannot_be_reached_fails_with_the_reason(tenant, tls_emulator,
                                                                    django_capture_on_commit_callbacks):
    ready_to_order(tenant.account)
    cloud = cloud_inventory(tenant.account, tls_emulator, name="cce-bad", token="wrong-token",
                            region=make_inventory()["vpc"].region, edition="cce_dedicated")
    order = services.Order(cluster_type="cloud", region=cloud.region, name=cloud.name, cloud_cluster=cloud,
                           enterprise_project=EnterpriseProject.objects.get(account=tenant.account, name="default"))
    with django_capture_on_commit_callbacks(execute=True):
        cluster = services.place_order(tenant.main, order, agreed=True)
    cluster.refresh_from_db()
    assert cluster.status == Status.CREATE_FAILED
    failed = OperationLog.objects.get(target_id=str(cluster.pk)).steps.get(status="failed")
    assert failed.name == "Connect to the API server" and "Unauthorized" in failed.message
