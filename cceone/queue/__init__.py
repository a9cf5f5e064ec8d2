"""The one way to send background work: `enqueue(task, *args, **kwargs)`.

The database is the truth, the broker only a doorbell. A message is sent once the
transaction that wrote its work commits (a worker never looks for a row that is not
there yet, and a rolled-back request sends nothing); a broker that refuses it does not
fail the request: the message is kept in `UnsentTask` and the beat sweep
`cceone.queue.tasks.resend_unsent` sends it again. Every task sent this way must be
idempotent, since a message may also arrive twice (a resend, a redelivery).
"""
import logging
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import KombuError

log = logging.getLogger(__name__)

# What a broker outage looks like from the producer: kombu's OperationalError (Redis,
# AMQP) or the OS refusing the filesystem transport's write.
BROKER_ERRORS = (KombuError, OSError)


def enqueue(task, *args, countdown: float | None = None, **kwargs) -> None:
    """Send `task(*args, **kwargs)` when the current transaction commits (now outside one),
    after `countdown` seconds if given."""
    transaction.on_commit(lambda: send(task, args, kwargs, countdown=countdown))


def send(task, args=(), kwargs=None, *, countdown: float | None = None) -> bool:
    """Send now; on a broker error keep the message for the sweep. True when sent."""
    kwargs = dict(kwargs or {})
    if task.app.conf.task_always_eager:
        _run_eager(task, tuple(args), kwargs, countdown)
        return True
    try:
        task.apply_async(args, kwargs, countdown=countdown)
    except BROKER_ERRORS as error:
        from .models import UnsentTask

        log.warning("broker refused %s%r, kept for resending: %s", task.name, tuple(args), error)
        UnsentTask.objects.create(task=task.name, args=list(args), kwargs=kwargs, error=str(error)[:2000])
        return False
    return True


_eager = threading.local()


def _run_eager(task, args, kwargs, countdown) -> None:
    """Without a worker (tests, CELERY_TASK_ALWAYS_EAGER) a task runs where it is sent. A
    task that sends a follow-up (a drain's next pass) must not recurse into it: the
    follow-up runs after the sending task returns, once its countdown has passed."""
    pending = getattr(_eager, "pending", None)
    if pending is not None:
        pending.append((task, args, kwargs, countdown))
        return
    _eager.pending = [(task, args, kwargs, countdown)]
    try:
        while _eager.pending:
            task, args, kwargs, countdown = _eager.pending.pop(0)
            if countdown:
                time.sleep(countdown)
            task.apply(args, kwargs, throw=task.app.conf.task_eager_propagates)
    finally:
        _eager.pending = None


def stale_before() -> datetime:
    """Work whose last heartbeat is older than this stopped making progress: its worker was
    lost (killed, out of memory) or its message never arrived."""
    return timezone.now() - timedelta(seconds=settings.CCEONE_RECOVERY_STALE_SECONDS)


def resend_unsent(limit: int = 500) -> dict:
    """Send the kept messages again, oldest first; stop at the first refusal (the broker is
    still down: the next sweep tries again)."""
    from cceone.celery import app

    from .models import UnsentTask

    sent = 0
    for message in UnsentTask.objects.all()[:limit]:
        task = app.tasks.get(message.task)
        if task is None:  # renamed or removed since: nothing can run it
            log.error("dropping unsent message for unknown task %s", message.task)
            message.delete()
            continue
        try:
            task.apply_async(message.args, message.kwargs)
        except BROKER_ERRORS as error:
            UnsentTask.objects.filter(pk=message.pk).update(
                attempts=message.attempts + 1, error=str(error)[:2000], last_attempt_at=timezone.now())
            break
        message.delete()
        sent += 1
    return {"sent": sent, "unsent": UnsentTask.objects.count()}
