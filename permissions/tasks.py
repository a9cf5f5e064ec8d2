"""Background work for Kubernetes permissions, and the one place it is sent from. The sync
is idempotent: it compares what the cluster holds with what it should hold and writes only
the difference, so a retry, a redelivery after a worker crash or a duplicate request is
harmless."""
from celery import shared_task
from django.db import OperationalError, transaction

from cceone import queue

from . import signals, sync


# The names they had in fleets: messages already queued (or kept unsent by cceone.queue,
# which stores the name) and the beat schedule keep reaching them.
@shared_task(name="fleets.tasks.sync_cluster_permissions", acks_late=True, autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=5)
def sync_cluster_permissions(cluster_id: int) -> str:
    """Write one cluster's RBAC. Cluster failures are recorded on its sync state and retried
    with back-off by `resync_permissions`; database hiccups are retried here."""
    state, rerun = sync.run_once(cluster_id)
    if rerun:
        enqueue(cluster_id)
    return state


@shared_task(name="fleets.tasks.resync_permissions")
def resync_permissions() -> dict:
    """Every minute (Celery beat): failed syncs whose back-off is over, lost requests, and a
    periodic re-sync of every running cluster."""
    with transaction.atomic():
        request_sync(sync.never_synced())
    due = sync.due()
    for cluster_id in due:
        enqueue(cluster_id)
    return {"enqueued": len(due)}


def enqueue(cluster_id: int) -> None:
    # Callers send after their commit. A message the broker refuses is kept and resent
    # (cceone.queue); the state stays pending meanwhile, and the resync picks it up too.
    queue.send(sync_cluster_permissions, (cluster_id,))


def request_sync(clusters) -> None:
    """Mark the clusters' RBAC as pending and sync each once the transaction commits."""
    clusters = list(clusters)
    for pk in sync.mark_pending(clusters):
        transaction.on_commit(lambda pk=pk: enqueue(pk))
    signals.rbac_requested.send(sync.RegisteredCluster, clusters=clusters)
