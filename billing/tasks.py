"""Billing's background work. Both tasks are idempotent: settlement skips the hours
already settled (a rerun, a duplicate or a redelivery after a worker died charges
nothing twice); delivery claims each notice before sending it."""
from celery import shared_task

from . import notices, services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def settle_hours() -> dict:
    """Every hour on the hour (UTC+8): settle every unsettled instance-hour, catching up
    after downtime."""
    return services.settle().as_dict()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_notices() -> dict:
    return notices.deliver_due()
