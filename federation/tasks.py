"""Background work for federations, and the one place it is sent from (on the services'
signals). Every task is idempotent: it looks at the federation's current status and does
only what is still to do, so a retry or a redelivery after a worker crash is harmless."""
from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver

from cceone.audit.models import OperationLog
from cceone.audit.services import Operation

from clusters.signals import cluster_came_up, cluster_unsubscribed
from fleets.signals import members_changed

from cceone.iam.signals import access_changed
from cceone.kube.gateway import KubeError
from permissions.signals import rbac_requested

from . import failover, members, migration, rbac, services, signals
from .models import Federation


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def provision_federation(federation_id: int) -> None:
    wait = services.provision(federation_id)
    if wait:
        # A control plane still starting: look again later, without holding a worker slot.
        log = (OperationLog.objects.filter(target_type=services.TARGET, target_id=str(federation_id),
                                           operation=OperationLog.Operation.CREATE).order_by("-id").first())
        Operation(log).enqueue(provision_federation, federation_id, countdown=wait)


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def destroy_federation(federation_id: int) -> None:
    services.destroy(federation_id)


@shared_task
def recover_stalled_operations() -> dict:
    """Every minute (Celery beat): federations stuck creating or unsubscribing, resumed or failed."""
    return services.recover_stalled_operations()


@shared_task
def sweep_migrations() -> dict:
    """Every minute (Celery beat): incremental migrations nobody watches moved on, re-applied or
    marked stalled (federation.migration.sweep)."""
    return migration.sweep()


@shared_task
def refresh_versions() -> dict:
    """Every five minutes (Celery beat): Karmada versions, an upgrade recorded in the operation log."""
    return services.refresh_versions()


@receiver(signals.federation_ordered, dispatch_uid="federation.provision_on_order")
def _provision(sender, operation, federation, **kwargs):
    operation.enqueue(provision_federation, federation.pk)


@receiver(signals.federation_unsubscribed, dispatch_uid="federation.destroy_on_unsubscribe")
def _destroy(sender, operation, federation, **kwargs):
    operation.enqueue(destroy_federation, federation.pk)


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def sync_members(federation_id: int) -> dict:
    """Join the federation's fleet's clusters and take out those that left (idempotent)."""
    return members.sync(federation_id)


@shared_task
def refresh_members() -> dict:
    """Every minute (Celery beat): members' join status from Karmada, and joins or leaves that
    stopped half-way (a worker killed, a member unreachable) tried again."""
    done = {}
    for federation_id in Federation.objects.filter(
            status__in=(Federation.Status.RUNNING, Federation.Status.CHANGING, Federation.Status.UNSUBSCRIBING),
            members__isnull=False).values_list("pk", flat=True).distinct():
        done[federation_id] = members.sync(federation_id)
    # RBAC too, now and then: associations of a fleet without clusters, namespaces created since.
    for federation_id in Federation.objects.filter(status__in=rbac.SYNCABLE).values_list("pk", flat=True):
        try:
            rbac.apply(federation_id)
        except KubeError:
            pass  # audited; tried again next time
    return done


@shared_task
def observe_failover() -> dict:
    """Every minute (Celery beat): members' Ready transitions and workloads' placements recorded
    for the failover view (idempotent), old history pruned."""
    return failover.sweep()


def _sync_on_commit(federation) -> None:
    transaction.on_commit(lambda: sync_members.delay(federation.pk))


@receiver(signals.members_stale, dispatch_uid="federation.sync_members")
def _members_stale(sender, federation, **kwargs):
    _sync_on_commit(federation)
    _rbac_on_commit(federation)  # a fleet joined or left: its associations apply, or no longer


@receiver(signals.status_changed, dispatch_uid="federation.members_follow_status")
def _members_follow_status(sender, federation, previous, to, **kwargs):
    if to in (Federation.Status.FROZEN, Federation.Status.UNSUBSCRIBING):
        members.revoke_all(federation)  # at once, in the same transaction as the status
    elif to == Federation.Status.RUNNING:
        if previous == Federation.Status.FROZEN:
            # Thawed: every member joins again with new tokens.
            members.FederationMember.objects.filter(federation=federation).exclude(
                status=members.Status.LEAVING).update(status=members.Status.JOINING, reason="", reason_params={},
                                                    registered_at=None)
        _sync_on_commit(federation)
        _rbac_on_commit(federation)


@receiver(members_changed, dispatch_uid="federation.fleet_members_changed")
def _fleet_members_changed(sender, fleet, clusters, **kwargs):
    """Clusters joined or left a fleet: its federation, and any federation they were members of."""
    touched = Q(members__cluster__in=[c.pk for c in clusters])
    if fleet is not None:
        touched |= Q(fleet=fleet)
    for federation in Federation.objects.filter(touched).distinct():
        _sync_on_commit(federation)


@receiver(cluster_came_up, dispatch_uid="federation.member_came_up")
def _member_came_up(sender, cluster, **kwargs):
    if cluster.fleet_id:
        for federation in Federation.objects.filter(fleet_id=cluster.fleet_id):
            _sync_on_commit(federation)


@shared_task(acks_late=True, autoretry_for=(KubeError, ConnectionError), retry_backoff=True, max_retries=5)
def sync_federation_rbac(federation_id: int) -> dict | None:
    """Write the federation's RBAC into its Karmada API server (idempotent)."""
    return rbac.apply(federation_id)


def _rbac_on_commit(federation) -> None:
    transaction.on_commit(lambda: sync_federation_rbac.delay(federation.pk))


@receiver(rbac_requested, dispatch_uid="federation.rbac_requested")
def _rbac_requested(sender, clusters, **kwargs):
    fleets = {c.fleet_id for c in clusters if c.fleet_id}
    for federation in Federation.objects.filter(fleet_id__in=fleets, status__in=rbac.SYNCABLE):
        _rbac_on_commit(federation)


@receiver(access_changed, dispatch_uid="federation.access_changed")
def _access_changed(sender, account, users=None, **kwargs):
    for federation in Federation.objects.filter(account=account, status__in=rbac.SYNCABLE):
        _rbac_on_commit(federation)


@receiver(cluster_unsubscribed, dispatch_uid="federation.member_unsubscribed")
def _member_unsubscribed(sender, cluster, **kwargs):
    """An unsubscribed cluster leaves its federation (Karmada forgets it; its tokens are revoked)."""
    for federation in Federation.objects.filter(members__cluster=cluster).distinct():
        _sync_on_commit(federation)
