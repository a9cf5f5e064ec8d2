"""Background work for federations, and the one place it is sent from (on the services'
signals). Every task is idempotent: it looks at the federation's current status and does
only what is still to do, so a retry or a redelivery after a worker crash is harmless."""
from celery import shared_task
from django.dispatch import receiver

from cceone.audit.models import OperationLog
from cceone.audit.services import Operation

from . import services, signals


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
def refresh_versions() -> dict:
    """Every five minutes (Celery beat): Karmada versions, an upgrade recorded in the operation log."""
    return services.refresh_versions()


@receiver(signals.federation_ordered, dispatch_uid="federation.provision_on_order")
def _provision(sender, operation, federation, **kwargs):
    operation.enqueue(provision_federation, federation.pk)


@receiver(signals.federation_unsubscribed, dispatch_uid="federation.destroy_on_unsubscribe")
def _destroy(sender, operation, federation, **kwargs):
    operation.enqueue(destroy_federation, federation.pk)
