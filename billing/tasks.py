"""Billing's background work. Both tasks are idempotent: settlement skips the hours
already settled (a rerun, a duplicate or a redelivery after a worker died charges
nothing twice); delivery claims each notice before sending it. This module is the one
place billing's work is sent from."""
from celery import shared_task
from django.dispatch import receiver

from cceone.queue import enqueue

from . import notices, services, signals


@shared_task(acks_late=True, reject_on_worker_lost=True)
def settle_hours() -> dict:
    """Every hour on the hour (UTC+8): settle every unsettled instance-hour, catching up
    after downtime."""
    return services.settle().as_dict()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_notices() -> dict:
    return notices.deliver_due()


def send_notices() -> None:
    """Deliver the pending notices once the current transaction commits."""
    enqueue(deliver_notices)


@receiver(signals.notices_written, dispatch_uid="billing.deliver_written_notices")
def _deliver(sender, **kwargs):
    send_notices()
