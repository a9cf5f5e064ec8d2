"""Background work of operations; the one place its work is sent from."""
from celery import shared_task
from django.dispatch import receiver

from cceone.queue import enqueue

from . import services, signals
from .models import Diagnosis


@shared_task(acks_late=True)
def run_diagnosis(diagnosis_id: int, attempt: int | None = None) -> None:
    services.run_diagnosis(diagnosis_id, attempt)


@shared_task(acks_late=True)
def run_inspection(inspection_id: int, attempt: int | None = None) -> None:
    services.run_inspection(inspection_id, attempt)


@shared_task
def run_scheduled_inspection(schedule_id: int) -> None:
    """Fired by django-celery-beat from an InspectionSchedule's crontab entry."""
    services.start_scheduled_inspection(schedule_id)


@shared_task
def recover_stalled_runs() -> dict:
    """Every minute (beat): runs whose worker was lost, resent or failed."""
    return services.recover_stalled_runs()


@receiver(signals.run_due, dispatch_uid="operations.send_run")
def _send_run(sender, run, **kwargs):
    task = run_diagnosis if sender is Diagnosis else run_inspection
    enqueue(task, run.pk, run.attempt)
