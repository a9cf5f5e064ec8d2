"""The incremental migration (issue #15 item 7, R6.2) end to end as in production: two kubesim
clusters registered in the console, each behind its agent, joined to the sandbox Karmada by
`federation.members` so that Karmada reaches them only through the hub. A sub-account allowed
to deploy (IAM `federations:deploy`, the fleet's `ops` permission in the members and in
Karmada) moves an application from edge-01 to edge-02 and back one step."""
import pytest
from django.urls import reverse
from kubernetes import client

from cceone.audit.models import AuditEvent
from federation import members as federation_members
from federation.models import FederationMigration
from permissions import services as permissions
from permissions.models import ClusterPermissionSync
from tests.conftest import client_for
from tests.live import wait_until

from .conftest import joined, karmada_api
from .test_migration import config_map, pods, ready, reached

pytestmark = pytest.mark.django_db(transaction=True)

STEPS = "100:0 50:50 0:100"


def the_application(source, ns):
    """In the source member: the shop's settings (a ConfigMap) and a Deployment of two replicas."""
    api = source.api_client()
    labels = {"app": "shop"}
    client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"name": "shop-settings", "labels": labels},
                                                            "data": {"colour": "blue"}})
    client.AppsV1Api(api).create_namespaced_deployment(ns, {
        "metadata": {"name": "shop", "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})


def test_a_sub_account_migrates_an_application_through_the_hub_and_rolls_back_one_step(
        federation_setup, member_servers, hub_karmada, live_hub, tenant):
    federation, clusters, _agents = federation_setup
    joined(federation)
    # Karmada's only way to the members is the hub (the Clusters' endpoints are its proxy).
    with karmada_api(hub_karmada) as api:
        registered = client.CustomObjectsApi(api).list_cluster_custom_object(*federation_members.CLUSTERS)["items"]
    assert {c["metadata"]["name"]: c["spec"]["apiEndpoint"] for c in registered} == {
        cluster.name: f"https://127.0.0.1:{live_hub.public_port}/k8s/clusters/{cluster.pk}" for cluster in clusters}
    servers = {cluster.name: server for cluster, server in zip(clusters, member_servers)}
    # The user's Kubernetes rights come from the fleet, as the console grants them: ops in
    # both members (synced through the hub) and in the federation's Karmada.
    permissions.associate(tenant.main, federation.fleet, user=tenant.user, preset="ops")
    wait_until(lambda: ClusterPermissionSync.objects.filter(cluster__in=clusters, state="synced").count() == 2,
               timeout=30, what="the ops permission synced into both members")
    ns = "shop"
    for server in member_servers:
        client.CoreV1Api(server.api_client()).create_namespace({"metadata": {"name": ns}})
    with karmada_api(hub_karmada) as api:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": ns}})
    the_application(servers["edge-01"], ns)
    before = wait_until(lambda: len(pods(servers, "edge-01", ns, app="shop")) == 2
                        and pods(servers, "edge-01", ns, app="shop"), timeout=30, what="the shop's pods")

    # Step 1 by the API: the shop promoted from edge-01, its pods untouched.
    api = client_for(tenant.user)
    base = f"/api/v1/federations/{federation.pk}/migrations/"
    created = api.post(base, {"source": "edge-01", "target": "edge-02", "namespace": ns, "label_selector": "app=shop",
                              "steps": STEPS}, content_type="application/json")
    assert created.status_code == 201, created.content
    migration = FederationMigration.objects.get(pk=created.json()["id"])
    assert {(o["kind"], o["name"]) for o in migration.promoted} == {("ConfigMap", "shop-settings"),
                                                                    ("Deployment", "shop")}
    assert {p["name"]: (p["uid_before"], p["uid_after"]) for p in migration.promotion["pods"]} == {
        name: (uid, uid) for name, uid in before.items()}
    assert pods(servers, "edge-01", ns, app="shop") == before
    browser = client_for(tenant.user)
    detail = reverse("federation:migration", args=[federation.pk, migration.pk])
    page = browser.get(detail).content.decode()
    for name, uid in before.items():
        assert f'data-pod="{name}" data-state="unchanged"' in page and uid in page
    body = reached(browser, detail)
    assert "Next step: 50:50" in body and 'id="migration-rollback"' not in body
    assert ready(servers, "edge-02", ns) is None and config_map(servers, "edge-02", ns) is None

    # 50:50: a replica in each member, the settings in both; the one left in edge-01 is an
    # original pod, not a restarted one.
    moved = api.post(f"{base}{migration.pk}/advance/", {"step": 0}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    body = reached(browser, detail)
    assert 'id="migration-body" data-state="ready" data-step="2"' in body
    assert 'data-member="edge-01" data-scheduled="1" data-ready="1"' in body
    assert 'data-member="edge-02" data-scheduled="1" data-ready="1"' in body
    wait_until(lambda: ready(servers, "edge-01", ns) == (1, 1), timeout=30, what="edge-01 down to one replica")
    assert ready(servers, "edge-02", ns) == (1, 1)
    left = wait_until(lambda: len(pods(servers, "edge-01", ns, app="shop")) == 1
                      and pods(servers, "edge-01", ns, app="shop"), timeout=30, what="one pod left in edge-01")
    assert left.items() <= before.items()
    assert config_map(servers, "edge-01", ns).data == config_map(servers, "edge-02", ns).data == {"colour": "blue"}
    answer = api.get(f"{base}{migration.pk}/").json()
    assert answer["current_step"] == 1 and answer["placed"] == {"edge-01": 1, "edge-02": 1}

    # 0:100: all in edge-02; edge-01's copies are gone.
    moved = api.post(f"{base}{migration.pk}/advance/", {"step": 1}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    body = reached(browser, detail, "completed")
    assert 'id="migration-completed"' in body and 'id="migration-next"' not in body
    wait_until(lambda: ready(servers, "edge-01", ns) is None and config_map(servers, "edge-01", ns) is None,
               timeout=30, what="the shop gone from edge-01")
    assert pods(servers, "edge-01", ns, app="shop") == {}
    wait_until(lambda: ready(servers, "edge-02", ns) == (2, 2), timeout=30, what="both replicas in edge-02")
    assert config_map(servers, "edge-02", ns) is not None

    # Back one step, by the page's button: 50:50 again.
    back = browser.post(reverse("federation:migration-rollback", args=[federation.pk, migration.pk]), {"step": 2})
    assert back.status_code == 302
    body = reached(browser, detail)
    assert 'id="migration-body" data-state="ready" data-step="2"' in body
    wait_until(lambda: ready(servers, "edge-01", ns) == (1, 1) and config_map(servers, "edge-01", ns) is not None,
               timeout=30, what="a replica and the settings back in edge-01")
    assert ready(servers, "edge-02", ns) == (1, 1)

    migration.refresh_from_db()
    assert [e["event"] for e in migration.history] == ["promoted", "ready", "applied", "ready", "applied", "ready",
                                                       "rolled-back", "ready"]
    assert [e["by"] for e in migration.history if "by" in e] == [tenant.user.username] * 3
    events = AuditEvent.objects.filter(action="federations:deploy", target_id=str(federation.pk),
                                       details__migration=migration.pk).order_by("id")
    assert [(e.actor, e.result, e.details["operation"]) for e in events] == [
        (tenant.user, "success", operation) for operation in
        ("migration-start", "migration-step", "migration-step", "migration-step", "migration-rollback")]
