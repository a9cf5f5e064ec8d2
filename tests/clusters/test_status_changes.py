"""A cluster's status changes are facts of their own (issue 12): one row per change, written
by `clusters.transitions.change_status()`, read by billing and the overview; the audit log
still tells people about them."""
import importlib
from datetime import timedelta

from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from billing.meters import RegisteredClusterMeter
from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from clusters import services
from clusters.models import ClusterStatusChange, RegisteredCluster
from clusters.transitions import change_status
from tests.clusters.test_lifecycle import order_local
from tests.conftest import client_for
from tests.factories import ClusterFactory

Status = RegisteredCluster.Status


def changes(cluster):
    return list(ClusterStatusChange.objects.filter(cluster=cluster).order_by("at", "id")
                .values_list("from_status", "to_status", "reason"))


def test_a_change_is_one_row_and_one_audit_event(tenant):
    cluster = ClusterFactory(account=tenant.account, status=Status.PENDING_ACCESS)
    change_status(cluster, Status.RUNNING, "agent heartbeat")
    cluster.refresh_from_db()
    assert cluster.status == Status.RUNNING
    assert changes(cluster) == [("pending_access", "running", "agent heartbeat")]
    event = AuditEvent.objects.get(action="clusters:status", target_id=str(cluster.pk))
    assert event.details == {"from": "pending_access", "to": "running", "reason": "agent heartbeat"}


def test_the_same_status_again_is_no_change(tenant):
    cluster = ClusterFactory(account=tenant.account, status=Status.RUNNING)
    assert change_status(cluster, Status.RUNNING, "agent heartbeat") is None
    assert changes(cluster) == []
    assert not AuditEvent.objects.filter(action="clusters:status").exists()


def test_an_order_through_its_access_timeout_and_unsubscribe_leaves_its_history(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = order_local(tenant)
    assert changes(cluster) == [("creating", "pending_access", "agent credentials issued")]
    RegisteredCluster.objects.filter(pk=cluster.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert services.expire_pending_access() == 1
    services.set_deletion_protection(tenant.main, cluster, False)
    with django_capture_on_commit_callbacks(execute=True):
        services.unsubscribe(tenant.main, cluster)  # eager: destroyed on commit
    cluster.refresh_from_db()
    assert cluster.status == Status.UNSUBSCRIBED
    assert [(f, t) for f, t, _r in changes(cluster)] == [
        ("creating", "pending_access"), ("pending_access", "access_timeout"),
        ("access_timeout", "destroying"), ("destroying", "unsubscribed")]
    # Auditing is as it was: the timeout is a status event, the unsubscribe a delete.
    assert list(AuditEvent.objects.filter(action="clusters:status", target_id=str(cluster.pk))
                .values_list("details__to", flat=True)) == ["access_timeout"]
    assert AuditEvent.objects.filter(action="clusters:delete", target_id=str(cluster.pk)).exists()


def test_arrears_freeze_and_unfreeze_are_recorded(tenant):
    cluster = ClusterFactory(account=tenant.account, status=Status.RUNNING)
    meter = RegisteredClusterMeter()
    [frozen] = meter.freeze(tenant.account.pk)
    assert meter.unfreeze(frozen.instance_id, frozen.previous_status)
    assert changes(cluster) == [("running", "frozen", "arrears"), ("frozen", "running", "balance restored")]


def test_the_overview_shows_the_history_from_the_table(tenant):
    cluster = ClusterFactory(account=tenant.account, status=Status.PENDING_ACCESS)
    change_status(cluster, Status.RUNNING, "agent heartbeat")
    change_status(cluster, Status.DISCONNECTED, "no heartbeat for two windows")
    # An audit event is what people read; it is not where the overview finds facts.
    record(None, "clusters:status", cluster, details={"from": "running", "to": "changing", "reason": "forged"})
    page = client_for(tenant.main).get(reverse("clusters:overview", args=[cluster.pk])).content.decode()
    assert "no heartbeat for two windows" in page and "agent heartbeat" in page
    assert page.index("no heartbeat for two windows") < page.index("agent heartbeat")  # newest first
    assert "forged" not in page


def test_the_backfill_copies_the_status_events_of_the_audit_log(tenant):
    """Clusters billed before the table existed keep their history."""
    cluster = ClusterFactory(account=tenant.account, status=Status.FROZEN)
    for old, new, reason in [("pending_access", "running", "agent heartbeat"), ("running", "frozen", "arrears")]:
        record(None, "clusters:status", cluster, details={"from": old, "to": new, "reason": reason})
    record(None, "clusters:status", ("cluster", 999999, "gone"), details={"from": "running", "to": "frozen"})
    migration = importlib.import_module("clusters.migrations.0009_backfill_status_changes")
    migration.backfill(apps, None)
    assert changes(cluster) == [("pending_access", "running", "agent heartbeat"), ("running", "frozen", "arrears")]
    assert ClusterStatusChange.objects.count() == 2
