"""The failover view (issue #15 item 5, R5.8): members' Ready history recorded on our side and
where each workload's replicas were and are. End to end: two clusters behind their agents
joined to the sandbox Karmada through the hub (test_members' fixture); one member's emulator
stops, Karmada taints it and moves its replicas, and the page and the API show both."""
import datetime as dt
import time

import pytest
from django.urls import reverse
from django.utils import timezone
from kubernetes import client

from federation import failover, members, tasks
from federation.models import FederationMember, MemberConditionChange, PlacementSnapshot
from sandbox.kubesim.testing import deployment_manifest
from tests.conftest import client_for
from tests.factories import FederationFactory
from tests.live import grant, wait_until

from .conftest import karmada_api

pytestmark = pytest.mark.django_db


def cluster(name, status, at="2026-12-07T10:00:00Z", reason="ClusterReady"):
    ready = {"type": "Ready", "status": status, "reason": reason, "message": f"{name} is {status}"}
    if at:
        ready["lastTransitionTime"] = at
    return {"metadata": {"name": name}, "status": {"conditions": [ready]}}


def binding(name, clusters, replicas=3, tasks_=None, namespace="default"):
    return {"metadata": {"name": f"{name}-deployment", "namespace": namespace},
            "spec": {"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": namespace,
                                  "name": name},
                     "replicas": replicas, "clusters": [{"name": c, "replicas": r} for c, r in clusters.items()],
                     "gracefulEvictionTasks": tasks_ or []}}


# --- recording ----------------------------------------------------------------------------

def test_each_ready_transition_is_recorded_once_whoever_reads(tenant):
    federation = FederationFactory(account=tenant.account)
    seen = [cluster("edge-01", "True"), cluster("edge-02", "True")]
    assert failover.record_conditions(federation, seen) == 2
    assert failover.record_conditions(federation, seen) == 0  # the sweep, then the page: one row each
    later = [cluster("edge-01", "False", "2026-12-07T10:05:00Z", "ClusterNotReachable"), cluster("edge-02", "True")]
    assert failover.record_conditions(federation, later) == 1
    assert failover.record_conditions(federation, later) == 0
    # Karmada's condition without a transition time: a change of status is still one row.
    assert failover.record_conditions(federation, [cluster("edge-01", "True", at=None)]) == 1
    assert failover.record_conditions(federation, [cluster("edge-01", "True", at=None)]) == 0
    # A Cluster not probed yet has nothing to record.
    assert failover.record_conditions(federation, [{"metadata": {"name": "edge-03"}}]) == 0
    history = list(MemberConditionChange.objects.filter(federation=federation, member="edge-01")
                   .values_list("status", "reason"))
    assert history == [("True", "ClusterReady"), ("False", "ClusterNotReachable"), ("True", "ClusterReady")]


def test_a_placement_is_recorded_when_it_changes_and_the_move_is_shown(tenant):
    federation = FederationFactory(account=tenant.account)
    assert failover.record_placements(federation, [binding("web", {})]) == 0  # not scheduled yet
    assert failover.record_placements(federation, [binding("web", {"edge-01": 1, "edge-02": 2})]) == 1
    assert failover.record_placements(federation, [binding("web", {"edge-01": 1, "edge-02": 2})]) == 0
    # A ConfigMap's binding names members only: not a workload.
    config = binding("settings", {"edge-01": 0})
    del config["spec"]["replicas"]
    assert failover.record_placements(federation, [config]) == 0
    evicted = [{"fromCluster": "edge-01", "replicas": 1, "reason": "TaintUntolerated", "producer": "TaintManager",
                "clustersBeforeFailover": ["edge-01", "edge-02"], "creationTimestamp": "2026-12-07T10:05:00Z"}]
    # The taint manager drops the member, then the scheduler places its replica elsewhere.
    assert failover.record_placements(federation, [binding("web", {"edge-02": 2}, tasks_=evicted)]) == 1
    now = binding("web", {"edge-02": 3}, tasks_=evicted)
    assert failover.record_placements(federation, [now]) == 1
    assert list(PlacementSnapshot.objects.values_list("sequence", flat=True)) == [3, 2, 1]
    clusters = [cluster("edge-01", "False"), cluster("edge-02", "True")]
    [row] = failover.workload_rows(federation, [now], {c["metadata"]["name"]: c for c in clusters})
    assert row["before"] == {"edge-01": 1, "edge-02": 2} and row["now"] == {"edge-02": 3}
    assert row["moved"] and row["before_source"] == "recorded"
    # Moved when first seen elsewhere: the taint manager's step, not the re-placement after it.
    assert row["moved_at"] == PlacementSnapshot.objects.get(sequence=2).observed_at
    assert [(c["cluster"], c["before"], c["now"], c["member_ready"]) for c in row["members"]] == [
        ("edge-01", 1, None, "False"), ("edge-02", 2, 3, "True")]


def test_a_move_not_seen_before_is_told_from_the_eviction_tasks(tenant):
    federation = FederationFactory(account=tenant.account)
    evicted = [{"fromCluster": "edge-01", "replicas": 2, "reason": "TaintUntolerated",
                "clustersBeforeFailover": ["edge-01", "edge-02"], "creationTimestamp": "2026-12-07T10:05:00Z"}]
    [row] = failover.workload_rows(federation, [binding("web", {"edge-02": 3}, tasks_=evicted)], {})
    assert row["before_source"] == "eviction" and row["before"] == {"edge-01": 2, "edge-02": None}
    assert row["moved_at"] == dt.datetime(2026, 12, 7, 10, 5, tzinfo=dt.timezone.utc)
    assert row["evictions"][0]["from_cluster"] == "edge-01"


def test_the_view_shows_the_newest_transitions_and_placements_per_member_and_workload(tenant):
    federation = FederationFactory(account=tenant.account)
    shown = failover.HISTORY_SHOWN
    for minute in range(shown + 5):  # flapping: more transitions than the page shows
        failover.record_conditions(federation, [
            cluster("edge-01", "True" if minute % 2 else "False", f"2026-12-07T10:{minute:02d}:00Z"),
            cluster("edge-02", "True")])
    for step in range(shown + 3):
        failover.record_placements(federation, [binding("web", {"edge-01": step + 1}),
                                                binding("api", {"edge-02": 1})])
    rows = {r["name"]: r for r in failover.member_rows(federation, [cluster("edge-01", "True"),
                                                                    cluster("edge-02", "True")])}
    flapping = rows["edge-01"]["history"]
    assert len(flapping) == shown and flapping[0].transitioned_at.minute == shown + 4  # newest first
    assert [c.status for c in rows["edge-02"]["history"]] == ["True"]
    web, api = sorted(failover.workload_rows(federation, [binding("web", {"edge-01": shown + 3}),
                                                          binding("api", {"edge-02": 1})], {}),
                      key=lambda r: r["name"], reverse=True)
    assert [s.sequence for s in web["history"]] == list(range(shown + 3, 3, -1))
    assert [s.sequence for s in api["history"]] == [1]


def test_old_history_is_pruned_but_each_latest_row_stays(tenant):
    federation = FederationFactory(account=tenant.account)
    long_ago = timezone.now() - failover.RETENTION - dt.timedelta(days=1)
    failover.record_conditions(federation, [cluster("edge-01", "True", "2026-01-01T00:00:00Z")], now=long_ago)
    failover.record_conditions(federation, [cluster("edge-01", "False", "2026-01-02T00:00:00Z")], now=long_ago)
    failover.record_placements(federation, [binding("web", {"edge-01": 3})], now=long_ago)
    failover.record_placements(federation, [binding("web", {"edge-02": 3})], now=long_ago)
    failover.record_placements(federation, [binding("web", {"edge-01": 3})])
    assert failover.prune() == 3
    assert list(MemberConditionChange.objects.values_list("status", flat=True)) == ["False"]
    assert list(PlacementSnapshot.objects.values_list("sequence", flat=True)) == [3]
    # The latest row kept: the same state read again is not recorded anew.
    assert failover.record_conditions(federation, [cluster("edge-01", "False", "2026-01-02T00:00:00Z")]) == 0


# --- end to end ---------------------------------------------------------------------------

def _replicas(server, name):
    with server.api_client() as api:
        try:
            return client.AppsV1Api(api).read_namespaced_deployment(name, "default").spec.replicas
        except client.ApiException as error:
            assert error.status == 404
            return None


def test_a_stopped_member_shows_not_ready_and_its_replicas_moved(federation_setup, member_servers, hub_karmada, tenant):
    federation, clusters, _agents = federation_setup
    members.sync(federation.pk)
    wait_until(lambda: (members.refresh(federation) or True) and set(
        FederationMember.objects.values_list("status", flat=True)) == {"connected"}, timeout=30,
        what="members connected")
    grant(hub_karmada, tenant.main, "cluster-admin")
    browser = client_for(tenant.main)
    page_url = reverse("federation:failover", args=[federation.pk])
    api_url = f"/api/v1/federations/{federation.pk}/failover/"
    empty = browser.get(page_url).content.decode()
    assert 'id="failover-no-workloads"' in empty and 'data-member="edge-01" data-ready="True"' in empty
    assert f'id="failover-tab" href="{page_url}"' in empty
    assert 'hx-trigger="every 30s"' in empty  # all Ready: a slow refresh

    placement = {"clusterAffinity": {"clusterNames": ["edge-01", "edge-02"]},
                 "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
                                       "weightPreference": {"staticWeightList": [
                                           {"targetCluster": {"clusterNames": ["edge-01"]}, "weight": 1},
                                           {"targetCluster": {"clusterNames": ["edge-02"]}, "weight": 1}]}}}
    with karmada_api(hub_karmada) as api:
        client.AppsV1Api(api).create_namespaced_deployment("default", deployment_manifest("web", replicas=4))
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            "policy.karmada.io", "v1alpha1", "default", "propagationpolicies", {
                "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "web"},
                "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                         "placement": placement}})
    wait_until(lambda: (_replicas(member_servers[0], "web"), _replicas(member_servers[1], "web")) == (2, 2),
               timeout=30, what="the 1:1 split in the members")
    tasks.observe_failover()  # the minute sweep records where the replicas are, as the platform
    assert PlacementSnapshot.objects.get(federation=federation, binding="web-deployment").clusters == {
        "edge-01": 2, "edge-02": 2}

    member_servers[0].stop()  # edge-01's API server is gone (its agent still answers the hub)

    def moved():
        time.sleep(0.5)
        data = browser.get(api_url).json()
        web = next((w for w in data["workloads"] if w["name"] == "web"), None)
        return data if web and web["now"] == {"edge-02": 4} else None
    data = wait_until(moved, timeout=60, what="edge-01's replicas moved to edge-02")
    edge01 = next(m for m in data["members"] if m["name"] == "edge-01")
    assert edge01["ready"]["status"] == "False" and "edge-01" in data["not_ready"]
    assert [change["status"] for change in edge01["history"]][:2] == ["False", "True"]
    assert data["refresh_seconds"] == failover.REFRESH_WHILE_DOWN
    web = next(w for w in data["workloads"] if w["name"] == "web")
    assert web["before"] == {"edge-01": 2, "edge-02": 2} and web["moved"] is True
    assert web["before_at"] < web["moved_at"]
    assert {c["cluster"]: (c["before"], c["now"], c["member_ready"]) for c in web["members"]} == {
        "edge-01": (2, None, "False"), "edge-02": (2, 4, "True")}
    wait_until(lambda: _replicas(member_servers[1], "web") == 4, timeout=30, what="edge-02 runs all four")

    page = browser.get(page_url).content.decode()
    assert 'data-member="edge-01" data-ready="False"' in page and 'id="failover-alert"' in page
    edge01_row = page.split('data-member="edge-01" data-ready="False"')[1].split("</tr>")[0]
    assert edge01_row.index('data-status="False"') < edge01_row.index('data-status="True"')  # newest first
    assert 'hx-trigger="every 3s"' in page  # a member is down: the page looks again every few seconds
    assert 'data-binding="default/web-deployment" data-moved="true"' in page
    assert 'data-member="edge-01" data-before="2" data-now=""' in page
    assert 'data-member="edge-02" data-before="2" data-now="4"' in page
    # The htmx refresh answers the body only.
    partial = browser.get(page_url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="failover-body"') and "<html" not in partial

    # Someone allowed to open the federation but without RBAC in its Karmada sees Karmada's
    # refusal, not the history recorded from others' reads.
    viewer = client_for(tenant.viewer).get(api_url).json()
    assert viewer["members"] == [] and viewer["workloads"] == [] and viewer["members_error"]
    assert 'id="failover-members-error"' in client_for(tenant.viewer).get(page_url).content.decode()


def test_the_page_says_what_to_do_when_karmada_cannot_be_reached_and_reads_in_chinese(tenant):
    federation = FederationFactory(account=tenant.account, name="fed-down")
    page = client_for(tenant.main, "zh-hans").get(reverse("federation:failover", args=[federation.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="failover-members-error"' in body and 'id="failover-workloads-error"' in body
    answer = client_for(tenant.main).get(f"/api/v1/federations/{federation.pk}/failover/")
    assert answer.status_code == 200 and answer.json()["members_error"]
