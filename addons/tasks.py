"""Background work of add-ons (the one place this app's work is sent from)."""
from celery import shared_task
from django.dispatch import receiver

from . import services, signals


@shared_task(acks_late=True)
def run_addon(installation_id: int, run: int) -> None:
    services.run(installation_id, run)


@shared_task
def recover_stalled() -> dict:
    """Every minute (Celery beat): add-on operations whose worker was lost."""
    return services.recover_stalled()


@receiver(signals.addon_due, dispatch_uid="addons.send_run")
def _send_run(sender, installation, operation, **kwargs):
    operation.enqueue(run_addon, installation.pk, installation.run)
