"""Background work for registered clusters, and the one place it is sent from (on the
services' signals). Every task is idempotent: it looks at the cluster's current status and
does only what is still to do, so a retry or a redelivery after a worker crash is harmless."""
from celery import shared_task
from django.conf import settings
from django.dispatch import receiver

from . import connectivity, services, signals


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def provision_cluster(cluster_id: int, bind_public_ip: bool = False) -> None:
    services.provision(cluster_id, bind_public_ip=bind_public_ip)


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def destroy_cluster(cluster_id: int) -> None:
    services.destroy(cluster_id)


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def apply_change(cluster_id: int, kind: str, params: dict | None = None) -> None:
    services.apply_change(cluster_id, kind, params)


@shared_task
def sweep_connectivity() -> dict:
    """Every minute: silent agents → disconnected; pending access too long → access timeout;
    agents on a rotated token past its grace → cut off."""
    return {"disconnected": connectivity.sweep_disconnected(),
            "access_timeout": services.expire_pending_access(),
            "agent_tokens_expired": connectivity.expire_previous_agent_tokens()}


@shared_task
def poll_direct_clusters() -> int:
    """Every CCEONE_DIRECT_POLL_SECONDS (Celery beat): one poll per cluster reached directly,
    each its own task so a slow API server delays no other. A poll still queued when the next
    round starts is dropped (expires): a backlog must not replay stale rounds."""
    pks = connectivity.clusters_to_poll()
    for pk in pks:
        poll_direct_cluster.apply_async((pk,), expires=settings.CCEONE_DIRECT_POLL_SECONDS)
    return len(pks)


@shared_task
def poll_direct_cluster(cluster_id: int) -> bool:
    return connectivity.poll_direct(cluster_id)


@shared_task
def recover_stalled_operations() -> dict:
    """Every minute (Celery beat): clusters stuck creating, changing or destroying, resumed or failed."""
    return services.recover_stalled_operations()


@receiver(signals.cluster_ordered, dispatch_uid="clusters.provision_on_order")
def _provision(sender, operation, cluster, bind_public_ip, **kwargs):
    operation.enqueue(provision_cluster, cluster.pk, bind_public_ip=bind_public_ip)


@receiver(signals.cluster_unsubscribed, dispatch_uid="clusters.destroy_on_unsubscribe")
def _destroy(sender, operation, cluster, **kwargs):
    operation.enqueue(destroy_cluster, cluster.pk)


@receiver(signals.change_started, dispatch_uid="clusters.apply_on_change")
def _apply_change(sender, operation, cluster, kind, params, **kwargs):
    operation.enqueue(apply_change, cluster.pk, kind, params)
