"""Background work for Kubernetes permissions. The sync is idempotent: it compares what
the cluster holds with what it should hold and writes only the difference, so a retry,
a redelivery after a worker crash or a duplicate request is harmless."""
from celery import shared_task
from django.db import OperationalError

from . import sync


# The names they had in fleets: messages already queued (or kept unsent by cceone.queue,
# which stores the name) and the beat schedule keep reaching them.
@shared_task(name="fleets.tasks.sync_cluster_permissions", acks_late=True, autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=5)
def sync_cluster_permissions(cluster_id: int) -> str:
    """Write one cluster's RBAC. Cluster failures are recorded on its sync state and retried
    with back-off by `resync_permissions`; database hiccups are retried here."""
    return sync.run(cluster_id)


@shared_task(name="fleets.tasks.resync_permissions")
def resync_permissions() -> dict:
    """Every minute (Celery beat): failed syncs whose back-off is over, lost requests, and a
    periodic re-sync of every running cluster."""
    return sync.resync_due()
