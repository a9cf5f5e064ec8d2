"""Clusters whose provisioning or destroying lost its worker (killed, or the message never
delivered) do not stay creating/destroying: the beat sweep sends the work again, or, once
it was lost too often, fails the operation with the reason in its log. (The same with a
real worker killed by SIGKILL: tests/queue/test_lost_workers.py.)"""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cceone.audit.models import AuditEvent, OperationLog
from clusters import services, tasks
from clusters.models import RegisteredCluster
from tests.conftest import client_for
from tests.factories import ClusterFactory
from tests.clusters.test_lifecycle import order_local


def _lose_the_message(capture):
    """Run the request's work with its on-commit message dropped, as a killed worker would drop it."""
    return capture(execute=False)


def _silent_for(cluster, minutes=10) -> OperationLog:
    log = OperationLog.objects.get(target_id=str(cluster.pk), status="running")
    OperationLog.objects.filter(pk=log.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=minutes))
    return log


def _steps(log) -> list[tuple[str, str]]:
    return list(log.steps.values_list("name", "status"))


@pytest.fixture
def lost_order(tenant, django_capture_on_commit_callbacks):
    with _lose_the_message(django_capture_on_commit_callbacks):
        cluster = order_local(tenant)
    assert RegisteredCluster.objects.get(pk=cluster.pk).status == "creating"
    return cluster


def test_a_cluster_whose_provisioning_was_lost_is_provisioned_by_the_sweep(lost_order, tenant,
                                                                           django_capture_on_commit_callbacks):
    log = _silent_for(lost_order)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.recover_stalled_operations() == {"resumed": 1, "failed": 0}
    assert RegisteredCluster.objects.get(pk=lost_order.pk).status == "pending_access"
    log.refresh_from_db()
    assert log.status == "succeeded" and log.resumes == 1
    assert [name for name, _status in _steps(log)] == [
        "Order accepted", "Resume after a lost worker", "Create access endpoint", "Issue agent credentials"]
    resumed = log.steps.get(name="Resume after a lost worker").display_message
    assert resumed == "No progress for 300 s: the work was sent again (attempt 1 of 3)."
    page = client_for(tenant.main).get(reverse("clusters:operations", args=[lost_order.pk])).content.decode()
    assert "Resume after a lost worker" in page


def test_provisioning_lost_too_often_fails_with_the_reason(lost_order, tenant, django_capture_on_commit_callbacks):
    log = _silent_for(lost_order)
    OperationLog.objects.filter(pk=log.pk).update(resumes=3)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert tasks.recover_stalled_operations() == {"resumed": 0, "failed": 1}
    assert not sent  # nothing resent
    assert RegisteredCluster.objects.get(pk=lost_order.pk).status == "create_failed"
    log.refresh_from_db()
    assert log.status == "failed" and log.finished_at
    assert _steps(log)[-1] == ("Recover lost work", "failed")
    reason = log.steps.get(name="Recover lost work").display_message
    assert reason == ("No progress for 300 s after 4 attempts: the work was given up. "
                      "Contact support if this keeps happening.")
    assert AuditEvent.objects.filter(action="clusters:status", target_id=str(lost_order.pk),
                                     details__to="create_failed", details__reason=reason).exists()
    page = client_for(tenant.main).get(reverse("clusters:operations", args=[lost_order.pk])).content.decode()
    assert "the work was given up" in page


def test_a_cluster_whose_destroying_was_lost_is_unsubscribed_by_the_sweep(tenant, django_capture_on_commit_callbacks):
    cluster = ClusterFactory(account=tenant.account, status="running", deletion_protection=False)
    with _lose_the_message(django_capture_on_commit_callbacks):
        services.unsubscribe(tenant.main, cluster)
    assert RegisteredCluster.objects.get(pk=cluster.pk).status == "destroying"
    log = _silent_for(cluster)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.recover_stalled_operations() == {"resumed": 1, "failed": 0}
    cluster.refresh_from_db()
    assert cluster.status == "unsubscribed" and cluster.unsubscribed_at
    log.refresh_from_db()
    assert log.status == "succeeded"
    assert [name for name, _status in _steps(log)][:2] == ["Unsubscribe accepted", "Resume after a lost worker"]


def test_work_that_still_beats_is_left_alone(lost_order, django_capture_on_commit_callbacks):
    _silent_for(lost_order, minutes=1)  # within the 5 minutes a step may take
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert tasks.recover_stalled_operations() == {"resumed": 0, "failed": 0}
    assert not sent
    assert RegisteredCluster.objects.get(pk=lost_order.pk).status == "creating"
