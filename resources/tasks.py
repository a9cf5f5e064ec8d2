"""Background work on Kubernetes targets. Tasks are idempotent: a rerun (retry, or
redelivery after a worker crash — acks_late) continues from the saved progress."""
from celery import shared_task

from . import services


@shared_task(acks_late=True)
def drain_node(drain_id: int, user_id: int, run: int | None = None) -> None:
    """One pass of a drain as `user_id` (impersonated); it sends the next one while budgets block pods."""
    services.run_drain(drain_id, user_id, run)


@shared_task
def recover_stalled_drains() -> dict:
    """Every minute (Celery beat): drains whose worker was lost, resumed or failed."""
    return services.recover_stalled_drains()
