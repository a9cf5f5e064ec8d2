"""Fleets (R4): create with free clusters of any region, add and remove clusters, delete only
when empty (saying what blocks), one fleet per cluster even under concurrent requests, the
fleet console's statistics from the agents' heartbeats, and an audit event for each change."""
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import translation

from cceone.audit.models import AuditEvent
from cceone.iam.models import Region
from clusters import services as cluster_services
from clusters.models import RegisteredCluster
from fleets import services
from fleets.models import Fleet
from permissions import services as permissions
from permissions.models import ClusterPermissionSync
from tests.conftest import client_for
from tests.factories import ClusterFactory, FederationFactory, FleetFactory


@pytest.fixture
def far_region(db):
    return Region.objects.create(code="cn-far", name="Far", name_zh="远方", sort_order=99)


def test_create_a_fleet_with_clusters_from_the_form(tenant, far_region, django_capture_on_commit_callbacks):
    here = ClusterFactory(account=tenant.account, name="here-1")
    there = ClusterFactory(account=tenant.account, name="there-1", region=far_region)
    taken = ClusterFactory(account=tenant.account, name="taken-1", fleet=FleetFactory(account=tenant.account))
    client = client_for(tenant.user)

    page = client.get(reverse("fleets:create")).content.decode()
    assert "here-1" in page and "there-1" not in page and "taken-1" not in page  # current region, free only
    assert "Only clusters that are in no fleet can be added" in page
    assert "takes the fleet's permissions instead of its own" in page
    everywhere = client.get(reverse("fleets:create") + "?all_regions=on").content.decode()
    assert "here-1" in everywhere and "there-1" in everywhere and "taken-1" not in everywhere

    with django_capture_on_commit_callbacks(execute=True) as joining:  # the worker applies each join
        response = client.post(reverse("fleets:create"), {
            "name": "edge-fleet", "description": "edge sites", "all_regions": "on",
            "enterprise_project": here.enterprise_project_id, "clusters": [here.pk, there.pk]})
        assert set(RegisteredCluster.objects.filter(fleet__name="edge-fleet").values_list("status", flat=True)) == {
            "changing"}
    assert len(joining) >= 2
    fleet = Fleet.objects.get(name="edge-fleet")
    assert set(fleet.clusters.values_list("status", flat=True)) == {"running"}  # back once applied
    assert response.status_code == 302 and response.url == reverse("fleets:detail", args=[fleet.pk])
    assert set(fleet.clusters.values_list("name", flat=True)) == {"here-1", "there-1"}
    assert fleet.creator == tenant.user and fleet.description == "edge sites"
    assert AuditEvent.objects.filter(action="fleets:create", target_name="edge-fleet", actor=tenant.user).exists()
    assert AuditEvent.objects.filter(action="fleets:add-cluster", target_name="there-1",
                                     details__fleet="edge-fleet").exists()
    # Joining asks for the members' RBAC to be written (it fails here: no cluster is reachable).
    assert set(ClusterPermissionSync.objects.values_list("cluster__name", flat=True)) == {"here-1", "there-1"}
    assert "edge-fleet" in client.get(reverse("fleets:list")).content.decode()


@pytest.mark.parametrize("name, message", [
    ("x", "2-64 characters"), ("9lives", "starting with a letter"), ("bad name", "2-64 characters"),
    ("dup-fleet", "already exists"),
])
def test_bad_fleet_names_are_explained_and_create_nothing(tenant, name, message):
    FleetFactory(account=tenant.account, name="dup-fleet")
    response = client_for(tenant.main).post(reverse("fleets:create"), {
        "name": name, "enterprise_project": tenant.account.enterprise_projects.get().pk})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Fleet.objects.count() == 1


def test_a_cluster_in_another_fleet_cannot_be_added_and_says_where_it_is(tenant):
    first = FleetFactory(account=tenant.account, name="first")
    second = FleetFactory(account=tenant.account, name="second")
    cluster = ClusterFactory(account=tenant.account, name="busy", fleet=first)
    with pytest.raises(ValidationError) as raised:
        services.add_clusters(tenant.main, second, [cluster])
    assert "Cluster busy is already in fleet first; remove it from that fleet first." in raised.value.messages
    cluster.refresh_from_db()
    assert cluster.fleet == first
    response = client_for(tenant.main).post(reverse("fleets:add-clusters", args=[second.pk]),
                                            {"clusters": [cluster.pk]})
    cluster.refresh_from_db()
    assert response.status_code == 200 and cluster.fleet == first  # not offered: a form error


def test_unsubscribed_clusters_cannot_join(tenant):
    fleet = FleetFactory(account=tenant.account)
    gone = ClusterFactory(account=tenant.account, status=RegisteredCluster.Status.UNSUBSCRIBED, name="gone")
    assert gone not in services.joinable_clusters(tenant.main)
    with pytest.raises(ValidationError, match="Cluster gone is unsubscribed"):
        services.add_clusters(tenant.main, fleet, [gone])


def test_add_and_remove_clusters_from_the_fleet_console(tenant, django_capture_on_commit_callbacks):
    fleet = FleetFactory(account=tenant.account, name="ops")
    cluster = ClusterFactory(account=tenant.account, name="joiner")
    client = client_for(tenant.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("fleets:add-clusters", args=[fleet.pk]), {"clusters": [cluster.pk]})
        assert response.status_code == 302
        # Until the worker has applied the join, the cluster is changing and cannot leave.
        console = client.get(reverse("fleets:detail", args=[fleet.pk])).content.decode()
        assert "status-changing" in console and "Remove from fleet</button></span>" in console
        refused = client.post(reverse("fleets:remove-cluster", args=[fleet.pk, cluster.pk]), follow=True)
        assert "Cluster joiner is being changed: remove it once that change is done." in refused.content.decode()
    cluster.refresh_from_db()
    assert cluster.fleet == fleet and cluster.status == "running"
    console = client.get(reverse("fleets:detail", args=[fleet.pk])).content.decode()
    assert "joiner" in console and "Remove from fleet" in console and "status-changing" not in console
    log = cluster_services.OperationLog.objects.get(target_id=str(cluster.pk), operation="change")
    assert log.status == "succeeded"
    assert list(log.steps.values_list("name", flat=True)) == ["Change accepted", "Join fleet"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("fleets:remove-cluster", args=[fleet.pk, cluster.pk]))
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert cluster.fleet is None
    assert AuditEvent.objects.filter(action="fleets:remove-cluster", target_name="joiner", actor=tenant.admin).exists()
    assert ClusterPermissionSync.objects.get(pk=cluster.pk).generation == 2  # joined, then left: synced twice


def test_deleting_a_fleet_with_clusters_is_refused_with_the_reason(tenant):
    fleet = FleetFactory(account=tenant.account, name="busy-fleet")
    ClusterFactory(account=tenant.account, fleet=fleet)
    ClusterFactory(account=tenant.account, fleet=fleet)
    client = client_for(tenant.main)
    page = client.get(reverse("fleets:delete", args=[fleet.pk])).content.decode()
    assert "Remove its 2 cluster(s) from the fleet first." in page
    assert 'disabled id="confirm-delete"' in page
    response = client.post(reverse("fleets:delete", args=[fleet.pk]), follow=True)
    assert "Remove its 2 cluster(s) from the fleet first." in response.content.decode()
    assert Fleet.objects.filter(pk=fleet.pk).exists()
    with pytest.raises(ValidationError) as raised:
        services.delete_fleet(tenant.main, fleet)
    assert raised.value.messages == ["Remove its 2 cluster(s) from the fleet first."]


def test_deleting_an_empty_fleet_removes_it_and_its_associations(tenant):
    fleet = FleetFactory(account=tenant.account, name="old-fleet")
    permissions.associate(tenant.main, fleet, user=tenant.viewer, preset="developer")
    checks = services.delete_checks(fleet)
    assert [passed for _label, passed, _message in checks] == [True, True, True]  # no clusters, no federation, no protection
    response = client_for(tenant.user).post(reverse("fleets:delete", args=[fleet.pk]))
    assert response.status_code == 302
    assert not Fleet.objects.filter(pk=fleet.pk).exists()
    event = AuditEvent.objects.get(action="fleets:delete", target_name="old-fleet")
    assert event.details == {"associations_removed": 1}


def test_a_fleet_in_a_federation_cannot_be_deleted(tenant):
    fleet = FleetFactory(account=tenant.account)
    FederationFactory(account=tenant.account, name="fed-1", fleet=fleet)
    label, passed, message = services.delete_checks(fleet)[1]
    assert not passed and message == "Remove the fleet from federation fed-1 first."


def test_deletion_protection_keeps_a_fleet_until_switched_off(tenant):
    fleet = FleetFactory(account=tenant.account, name="guarded")
    detail = reverse("fleets:detail", args=[fleet.pk])
    viewer = client_for(tenant.viewer).get(detail).content.decode()
    assert 'id="deletion-protection"' in viewer and "disabled" in viewer[viewer.index('id="deletion-protection"') - 200:]
    assert 'id="fleet-eip"' in viewer and "Not bound" in viewer
    assert client_for(tenant.viewer).post(reverse("fleets:protection", args=[fleet.pk]), {"enabled": "on"}
                                          ).status_code == 403
    client = client_for(tenant.admin, "zh-hans")
    client.post(reverse("fleets:protection", args=[fleet.pk]), {"enabled": "on"})
    fleet.refresh_from_db()
    assert fleet.deletion_protection
    assert AuditEvent.objects.filter(action="fleets:update", target_id=str(fleet.pk),
                                     details__deletion_protection=True).exists()
    refused = client.post(reverse("fleets:delete", args=[fleet.pk]), follow=True).content.decode()
    assert "请先关闭删除保护。" in refused
    assert Fleet.objects.filter(pk=fleet.pk).exists()
    with translation.override("en"), pytest.raises(ValidationError, match="Turn deletion protection off first."):
        services.delete_fleet(tenant.main, fleet)
    assert client_for(tenant.admin).get(f"/api/v1/fleets/{fleet.pk}/").json()["deletion_protection"] is True
    client.post(reverse("fleets:protection", args=[fleet.pk]), {})
    services.delete_fleet(tenant.main, Fleet.objects.get(pk=fleet.pk))
    assert not Fleet.objects.filter(pk=fleet.pk).exists()


def test_a_cluster_in_a_fleet_leaves_it_when_unsubscribed(tenant):
    fleet = FleetFactory(account=tenant.account, name="keeper")
    cluster = ClusterFactory(account=tenant.account, fleet=fleet, deletion_protection=False)
    assert all(passed for _label, passed, _m in cluster_services.unsubscribe_checks(cluster))
    assert any("It leaves fleet keeper" in effect for effect in cluster_services.unsubscribe_effects(cluster))
    cluster_services.unsubscribe(tenant.main, cluster)
    cluster.refresh_from_db()
    assert cluster.fleet is None and not fleet.clusters.exists()
    event = AuditEvent.objects.get(action="fleets:remove-cluster", target_id=str(cluster.pk))
    assert event.details["reason"] == "unsubscribed" and event.details["fleet"] == "keeper"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_adding_one_cluster_to_two_fleets_exactly_one_succeeds(tenant):
    cluster = ClusterFactory(account=tenant.account, name="contested")
    fleets = [FleetFactory(account=tenant.account, name=f"racer-{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes = []

    def add(fleet):
        try:
            barrier.wait()
            services.add_clusters(tenant.main, fleet, [RegisteredCluster.objects.get(pk=cluster.pk)])
            outcomes.append(("ok", fleet.name))
        except ValidationError as error:
            outcomes.append(("refused", " ".join(error.messages)))
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(fleet,)) for fleet in fleets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    winner = next(name for kind, name in outcomes if kind == "ok")
    refusal = next(text for kind, text in outcomes if kind == "refused")
    assert refusal == f"Cluster contested is already in fleet {winner}; remove it from that fleet first."
    cluster.refresh_from_db()
    assert cluster.fleet.name == winner
    assert AuditEvent.objects.filter(action="fleets:add-cluster", target_name="contested").count() == 1


def heartbeat_facts(ready_cpu, requested_cpu, ready_mem, requested_mem, extra_nodes=()):
    nodes = [{"name": "n1", "ready": True, "capacity": {"cpu_millicores": ready_cpu},
              "allocatable": {"cpu_millicores": ready_cpu, "memory_bytes": ready_mem}}]
    nodes += list(extra_nodes)
    return {"nodes": nodes, "pod_requests": {"total": {"cpu_millicores": requested_cpu,
                                                       "memory_bytes": requested_mem}}}


def test_the_fleet_console_shows_statistics_from_the_heartbeats(tenant):
    fleet = FleetFactory(account=tenant.account, name="stats")
    not_ready = {"name": "n2", "ready": False, "allocatable": {"cpu_millicores": 8000, "memory_bytes": 8 << 30}}
    ClusterFactory(account=tenant.account, fleet=fleet, name="a-1",
                   facts=heartbeat_facts(4000, 1000, 8 << 30, 2 << 30, [not_ready]))
    ClusterFactory(account=tenant.account, fleet=fleet, name="b-1", status=RegisteredCluster.Status.DISCONNECTED,
                   facts=heartbeat_facts(4000, 3000, 8 << 30, 6 << 30))
    stats = services.fleet_statistics(fleet)
    assert (stats["clusters"], stats["clusters_running"], stats["nodes_ready"], stats["nodes_total"]) == (2, 1, 2, 3)
    assert stats["cpu_rate"] == 0.5  # (1000 + 3000) ÷ (4000 + 4000): the not-Ready node does not count
    assert stats["memory_rate"] == 0.5
    assert stats["vcpu"] == 8  # capacity of the Ready nodes
    page = client_for(tenant.viewer).get(reverse("fleets:detail", args=[fleet.pk])).content.decode()
    assert 'id="stat-cpu">50.0%' in page and 'id="stat-memory">50.0%' in page
    assert 'id="stat-nodes">2 / 3' in page and 'id="stat-clusters">2' in page and 'id="stat-vcpu">8 vCPU' in page
    assert "Add clusters" not in page and "Remove from fleet" not in page  # a viewer only looks
    empty = FleetFactory(account=tenant.account)
    empty_page = client_for(tenant.viewer).get(reverse("fleets:detail", args=[empty.pk])).content.decode()
    assert 'id="stat-cpu">--' in empty_page


def test_edit_a_fleet(tenant):
    fleet = FleetFactory(account=tenant.account, name="before")
    response = client_for(tenant.main).post(reverse("fleets:edit", args=[fleet.pk]),
                                            {"name": "after", "description": "renamed"})
    assert response.status_code == 302
    fleet.refresh_from_db()
    assert (fleet.name, fleet.description) == ("after", "renamed")
    assert AuditEvent.objects.filter(action="fleets:update", target_name="after").exists()


def test_the_fleet_list_counts_clusters_and_searches(tenant):
    fleet = FleetFactory(account=tenant.account, name="alpha")
    FleetFactory(account=tenant.account, name="beta")
    ClusterFactory(account=tenant.account, fleet=fleet)
    client = client_for(tenant.viewer)
    content = client.get(reverse("fleets:list") + "?q=alp").content.decode()
    assert "alpha" in content and "beta" not in content
    api = client.get("/api/v1/fleets/?q=alp").json()
    assert [f["name"] for f in api["results"]] == ["alpha"]
    assert api["results"][0]["statistics"]["clusters"] == 1
