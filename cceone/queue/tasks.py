from celery import shared_task

from . import resend_unsent as _resend


@shared_task
def resend_unsent() -> dict:
    """Every minute (Celery beat): send again what the broker refused."""
    return _resend()
