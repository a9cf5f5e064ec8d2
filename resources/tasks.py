"""Background work on Kubernetes targets. Tasks are idempotent: a rerun (retry, or
redelivery after a worker crash — acks_late) continues from the saved progress."""
from celery import shared_task

from . import services


@shared_task(acks_late=True)
def drain_node(drain_id: int, user_id: int) -> None:
    """Cordon a node and evict its pods as `user_id` (impersonated), honouring budgets."""
    services.run_drain(drain_id, user_id)
