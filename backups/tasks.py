"""Background work of backups (the one place this app's work is sent from). Tasks are
idempotent and carry their run number: a message of a run that was resumed elsewhere
does nothing."""
from celery import shared_task
from django.dispatch import receiver

from cceone.queue import enqueue

from . import services, signals


@shared_task(acks_late=True)
def run_backup(backup_id: int, run: int) -> None:
    services.run_backup(backup_id, run)


@shared_task(acks_late=True)
def run_restore(restore_id: int, run: int) -> None:
    services.run_restore(restore_id, run)


@shared_task
def scheduled_backup(schedule_id: int) -> None:
    """A schedule's crontab fired (django-celery-beat)."""
    services.scheduled_backup(schedule_id)


@shared_task
def recover_stalled() -> dict:
    """Every minute (Celery beat): backups and restores whose worker was lost."""
    return services.recover_stalled()


@shared_task
def expire_backups() -> int:
    """Every hour (Celery beat): schedules' backups past their retention are deleted."""
    return services.expire_backups()


@receiver(signals.backup_due, dispatch_uid="backups.send_backup")
def _send_backup(sender, backup, **kwargs):
    enqueue(run_backup, backup.pk, backup.run)


@receiver(signals.restore_due, dispatch_uid="backups.send_restore")
def _send_restore(sender, restore, **kwargs):
    enqueue(run_restore, restore.pk, restore.run)
