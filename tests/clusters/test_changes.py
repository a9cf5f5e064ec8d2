"""Configuration changes (#13 item 6): binding or unbinding an EIP, re-issuing the agent
credentials and joining or leaving a fleet run in the background; meanwhile the cluster is
`changing` (its pages say so and refuse the other changes), then it is back in the status it
had. A change whose worker was lost is carried on by the recovery sweep, or given up with
the reason, the cluster back as it was."""
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cceone.audit.models import OperationLog
from cceone.celery import app
from clusters import services, tasks, transitions
from clusters.models import RegisteredCluster
from resources import targets
from tests.conftest import client_for
from tests.factories import ClusterFactory, FleetFactory
from tests.live import wait_until
from tests.worker import Worker

STALE = 2  # seconds without a heartbeat before the sweep steps in (5 minutes in production)


def _history(cluster) -> list[tuple[str, str, str]]:
    return [(c.from_status, c.to_status, c.reason) for c in transitions.history([cluster.pk])]


def _steps(log) -> list[tuple[str, str]]:
    return list(log.steps.values_list("name", "status"))


def test_an_eip_bound_by_a_real_worker_shows_changing_then_running(transactional_db, tenant, broker_queue, tmp_path):
    """The worker stops inside the change (before it commits) and is killed there: the
    cluster stays changing, its pages say so; a new worker and the beat sweep carry it through."""
    cluster = ClusterFactory(account=tenant.account, name="edge-eip")
    marker = tmp_path / "blocked.pid"
    env = {"CCEONE_RECOVERY_STALE_SECONDS": str(STALE)}
    first = Worker("first", broker_queue, tmp_path, include="tests.worker_blocker",
                   env={**env, "WORKER_BLOCK_FILE": str(marker),
                        "WORKER_BLOCK_SQL": 'UPDATE "clusters_registeredcluster" SET "eip_address"'})
    second = None
    client = client_for(tenant.main)
    try:
        first.wait_ready()
        response = client.post(reverse("clusters:access-action", args=[cluster.pk, "bind-eip"]), follow=True)
        assert "The EIP is being bound: the cluster is changing until it is done." in response.content.decode()
        wait_until(marker.exists, timeout=30, what="the worker to be binding the EIP")
        assert RegisteredCluster.objects.get(pk=cluster.pk).status == "changing"
        first.kill()

        cluster.refresh_from_db()
        assert cluster.status == "changing" and cluster.eip_address is None  # the killed transaction left nothing
        page = client.get(reverse("clusters:access", args=[cluster.pk])).content.decode()
        assert 'class="badge status-changing"' in page and 'id="change-in-progress"' in page
        assert 'id="eip-disabled"' in page and "A configuration change of the cluster is in progress" in page
        listing = client.get(reverse("clusters:list")).content.decode()
        assert "Changing" in listing and reverse("clusters:unsubscribe", args=[cluster.pk]) not in listing

        second = Worker("second", broker_queue, tmp_path, env=env)
        second.wait_ready()
        time.sleep(STALE)
        app.send_task("clusters.tasks.recover_stalled_operations")
        wait_until(lambda: RegisteredCluster.objects.get(pk=cluster.pk).status != "changing", timeout=30,
                   what="the sweep to carry the change through")
    finally:
        first.kill()
        if second:
            second.kill()
    cluster.refresh_from_db()
    assert cluster.status == "running" and cluster.eip_address
    log = OperationLog.objects.get(target_id=str(cluster.pk), operation="change")
    assert log.status == "succeeded" and log.resumes == 1
    assert [name for name, _status in _steps(log)] == ["Change accepted", "Resume after a lost worker", "Bind EIP"]
    assert _history(cluster) == [("running", "changing", "EIP binding"),
                                 ("changing", "running", "configuration change done")]
    page = client.get(reverse("clusters:access", args=[cluster.pk])).content.decode()
    assert cluster.eip_address in page and "Unbind EIP" in page and 'id="eip-disabled"' not in page


def test_an_eip_bound_by_a_real_worker_returns_to_running(transactional_db, tenant, broker_queue, tmp_path):
    cluster = ClusterFactory(account=tenant.account, name="edge-quick")
    worker = Worker("only", broker_queue, tmp_path)
    try:
        worker.wait_ready()
        accepted = client_for(tenant.admin).post(f"/api/v1/clusters/{cluster.pk}/bind-eip/")
        assert accepted.status_code == 202
        wait_until(lambda: RegisteredCluster.objects.get(pk=cluster.pk).eip_address, timeout=30,
                   what="the worker to bind the EIP")
        wait_until(lambda: RegisteredCluster.objects.get(pk=cluster.pk).status == "running", timeout=30,
                   what="the cluster back to running")
    finally:
        worker.kill()
    # Changing while the worker ran it, observed in the status history (the order of facts).
    assert _history(cluster) == [("running", "changing", "EIP binding"),
                                 ("changing", "running", "configuration change done")]


@pytest.fixture
def lost_change(tenant, django_capture_on_commit_callbacks):
    """A disconnected cluster whose EIP unbind was accepted but whose message was lost."""
    cluster = ClusterFactory(account=tenant.account, status="disconnected", eip_address="203.0.113.9")
    with django_capture_on_commit_callbacks(execute=False):
        services.unbind_eip(tenant.main, cluster)
    assert RegisteredCluster.objects.get(pk=cluster.pk).status == "changing"
    log = OperationLog.objects.get(target_id=str(cluster.pk), operation="change", status="running")
    OperationLog.objects.filter(pk=log.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    return cluster, log


def test_the_sweep_resumes_a_lost_change_and_the_cluster_returns_to_its_status(
        lost_change, django_capture_on_commit_callbacks):
    cluster, log = lost_change
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.recover_stalled_operations() == {"resumed": 1, "failed": 0}
    cluster.refresh_from_db()
    assert cluster.status == "disconnected" and cluster.eip_address is None  # back where it was, unbound
    log.refresh_from_db()
    assert log.status == "succeeded"
    assert [name for name, _s in _steps(log)] == ["Change accepted", "Resume after a lost worker", "Unbind EIP"]


def test_a_change_lost_too_often_is_given_up_and_the_cluster_returns_to_its_status(
        lost_change, tenant, django_capture_on_commit_callbacks):
    cluster, log = lost_change
    OperationLog.objects.filter(pk=log.pk).update(resumes=3)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert tasks.recover_stalled_operations() == {"resumed": 0, "failed": 1}
    assert not sent
    cluster.refresh_from_db()
    assert cluster.status == "disconnected" and cluster.eip_address == "203.0.113.9"  # nothing was changed
    log.refresh_from_db()
    assert log.status == "failed" and _steps(log)[-1] == ("Recover lost work", "failed")
    assert _history(cluster)[-1][:2] == ("changing", "disconnected")
    page = client_for(tenant.main).get(reverse("clusters:operations", args=[cluster.pk])).content.decode()
    assert "the work was given up" in page


def test_while_a_change_runs_the_other_changes_are_refused(tenant, django_capture_on_commit_callbacks):
    cluster = ClusterFactory(account=tenant.account, name="busy", deletion_protection=False,
                             agent_token_hash="f" * 64)
    fleet = FleetFactory(account=tenant.account, name="ops")
    client = client_for(tenant.main)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("clusters:access-action", args=[cluster.pk, "bind-eip"]))
        # Not yet applied: a second change of any kind is refused with the reason, nothing changes.
        again = client.post(f"/api/v1/clusters/{cluster.pk}/unbind-eip/")
        assert again.status_code == 400
        assert "A configuration change of the cluster is in progress" in again.content.decode()
        rotate = client.post(f"/api/v1/clusters/{cluster.pk}/rotate-agent-token/")
        assert rotate.status_code == 400
        joined = client.post(f"/api/v1/fleets/{fleet.pk}/add-clusters/", {"clusters": [cluster.pk]},
                             content_type="application/json")
        assert joined.status_code == 400 and "Cluster busy is being changed" in joined.content.decode()
        unsubscribe = client.get(reverse("clusters:unsubscribe", args=[cluster.pk])).content.decode()
        assert "No configuration change is in progress" in unsubscribe
        assert client.post(f"/api/v1/clusters/{cluster.pk}/unsubscribe/").status_code == 400
        overview = client.get(reverse("clusters:overview", args=[cluster.pk])).content.decode()
        assert "Changing" in overview
        # The cluster's own console stays up during the change (a cluster still creating has none).
        assert targets.resolve("cluster", tenant.main, cluster.pk).obj.pk == cluster.pk
    cluster.refresh_from_db()
    assert cluster.status == "running" and cluster.eip_address and cluster.fleet is None
    assert OperationLog.objects.filter(target_id=str(cluster.pk), operation="change").count() == 1


def test_a_frozen_cluster_takes_no_change(tenant):
    cluster = ClusterFactory(account=tenant.account, status="frozen")
    refused = client_for(tenant.main).post(f"/api/v1/clusters/{cluster.pk}/bind-eip/")
    assert refused.status_code == 400 and "cannot be changed while it is frozen" in refused.content.decode()
    page = client_for(tenant.main).get(reverse("clusters:access", args=[cluster.pk])).content.decode()
    assert 'id="eip-disabled"' in page
    assert not OperationLog.objects.filter(target_id=str(cluster.pk)).exists()


def test_a_change_overtaken_by_a_freeze_is_not_applied_and_the_cluster_comes_back_as_before(
        tenant, django_capture_on_commit_callbacks):
    from billing.meters import RegisteredClusterMeter

    cluster = ClusterFactory(account=tenant.account, name="in-arrears")
    meter = RegisteredClusterMeter()
    with django_capture_on_commit_callbacks(execute=True):
        services.bind_eip(tenant.main, cluster)
        [frozen] = meter.freeze(tenant.account.pk)  # the hourly settlement overdraws the account first
    cluster.refresh_from_db()
    assert cluster.status == "frozen" and cluster.eip_address is None
    log = OperationLog.objects.get(target_id=str(cluster.pk), operation="change")
    assert log.status == "failed"
    assert log.steps.last().display_message == "The cluster became frozen before the change was applied: " \
                                               "nothing was changed."
    assert meter.unfreeze(cluster.pk, frozen.previous_status)
    cluster.refresh_from_db()
    assert cluster.status == "running"  # not changing with nothing left to run
