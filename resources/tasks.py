"""Background work on Kubernetes targets. Tasks are idempotent: a rerun (retry, or
redelivery after a worker crash — acks_late) continues from the saved progress. This
module is the one place the app's work is sent from."""
from celery import shared_task
from django.dispatch import receiver

from cceone.queue import enqueue

from . import services, signals


@shared_task(acks_late=True)
def drain_node(drain_id: int, user_id: int, run: int | None = None) -> None:
    """One pass of a drain as `user_id` (impersonated); it sends the next one while budgets block pods."""
    services.run_drain(drain_id, user_id, run)


@shared_task
def recover_stalled_drains() -> dict:
    """Every minute (Celery beat): drains whose worker was lost, resumed or failed."""
    return services.recover_stalled_drains()


@receiver(signals.drain_pass_due, dispatch_uid="resources.send_drain_pass")
def _send_drain_pass(sender, drain, countdown=None, **kwargs):
    enqueue(drain_node, drain.pk, drain.requested_by_id, drain.run, countdown=countdown)
