"""The one audit writer and the operation-log writer."""
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from cceone.logs import current_request_id

from . import context
from .models import AuditEvent, OperationLog, OperationStep


def _target_fields(target) -> dict:
    if target is None:
        return {}
    if isinstance(target, models.Model):
        return {
            "target_type": getattr(target, "audit_type", target._meta.model_name),
            "target_id": str(target.pk),
            "target_name": str(getattr(target, "name", "") or target)[:200],
        }
    kind, ident, name = target
    return {"target_type": kind, "target_id": str(ident), "target_name": str(name)[:200]}


def record(actor, action: str, target=None, *, result=AuditEvent.Result.SUCCESS, account=None,
           details=None) -> AuditEvent:
    """Record one audit event.

    `target` is a model instance or a `(type, id, name)` tuple. The account is the
    target's, else the actor's. Source IP, user agent and region come from the request
    being served, if any.
    """
    origin = context.current()
    if account is None:
        account = getattr(target, "account", None) if isinstance(target, models.Model) else None
    if account is None and actor is not None and getattr(actor, "account_id", None):
        account = actor.account
    actor_name = actor.get_username() if actor is not None and actor.is_authenticated else ""
    return AuditEvent.objects.create(
        account=account,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor_name,
        action=action,
        result=result,
        region=origin.region,
        source_ip=origin.source_ip,
        user_agent=origin.user_agent,
        details=details or {},
        request_id=current_request_id(),  # the request it happened in, as the logs name it
        **_target_fields(target),
    )


# Requests through the hub's kubeconfig proxy (clusters/kube_requests.py): `kubernetes:<verb>`.
KUBERNETES_PREFIX = "kubernetes:"


def record_many(events: list[AuditEvent]) -> None:
    """Store events built by a caller that writes many at once (the hub's request batches)."""
    AuditEvent.objects.bulk_create(events, batch_size=500)


def expire_kubernetes_requests(chunk: int = 5000) -> int:
    """Delete kubeconfig-proxy requests older than `CCEONE_AUDIT_KUBE_REQUEST_RETENTION_DAYS`
    (the console's own events stay); in chunks, so a large backlog holds no long lock."""
    before = timezone.now() - timedelta(days=settings.CCEONE_AUDIT_KUBE_REQUEST_RETENTION_DAYS)
    old = AuditEvent.objects.filter(action__startswith=KUBERNETES_PREFIX, time__lt=before)
    deleted = 0
    while True:
        pks = list(old.values_list("pk", flat=True)[:chunk])
        if not pks:
            return deleted
        deleted += AuditEvent.objects.filter(pk__in=pks).delete()[0]


class Operation:
    """Writes the ordered steps of one backend operation as they happen.

    >>> op = Operation.start(cluster, OperationLog.Operation.CREATE)
    >>> op.enqueue(provision_cluster, cluster.pk)     # the background work, resent if lost
    >>> op.step("Create access credentials")          # done
    >>> op.fail("Connect to API server", "timeout")   # the operation fails
    >>> op.step(N_("Order accepted"), N_("Submitted by %(user)s."), {"user": "alice"})
    """

    def __init__(self, log: OperationLog):
        self.log = log

    @classmethod
    def start(cls, instance, operation) -> "Operation":
        fields = _target_fields(instance)
        log = OperationLog.objects.create(account=instance.account, operation=operation, **fields)
        return cls(log)

    def _next_seq(self) -> int:
        last = self.log.steps.order_by("-seq").values_list("seq", flat=True).first()
        return (last or 0) + 1

    def step(self, name: str, message: str = "", params: dict | None = None,
             status=OperationStep.Status.SUCCEEDED) -> OperationStep:
        """`name` and `message` are English msgids (`N_`), `params` the message's %-parameters:
        both are translated when the log is shown, in the reader's language."""
        self.beat()
        return OperationStep.objects.create(log=self.log, seq=self._next_seq(), name=name,
                                            status=status, message=message, message_params=params or {})

    def fail(self, name: str, message: str, params: dict | None = None) -> None:
        self.step(name, message, params, status=OperationStep.Status.FAILED)
        self.finish(OperationLog.Status.FAILED)

    def finish(self, status=OperationLog.Status.SUCCEEDED) -> None:
        self.log.status = status
        self.log.finished_at = timezone.now()
        self.log.save(update_fields=["status", "finished_at"])

    # --- recovery ---------------------------------------------------------------------

    def beat(self) -> None:
        """Progress: the operation's worker is alive."""
        self.log.heartbeat_at = timezone.now()
        OperationLog.objects.filter(pk=self.log.pk).update(heartbeat_at=self.log.heartbeat_at)

    def enqueue(self, task, *args, **kwargs) -> None:
        """Send the task that carries the operation on (on commit), and keep the message so
        that `resend()` can send it again if its worker is lost. The task must be idempotent."""
        from cceone.queue import enqueue

        self.log.task = {"name": task.name, "args": list(args), "kwargs": kwargs}
        self.log.save(update_fields=["task"])
        self.beat()
        enqueue(task, *args, **kwargs)

    def resend(self) -> None:
        from cceone.celery import app
        from cceone.queue import enqueue

        enqueue(app.tasks[self.log.task["name"]], *self.log.task["args"], **self.log.task["kwargs"])

    @classmethod
    def stalled(cls, target_type: str) -> list["Operation"]:
        """Running operations on `target_type` whose background work stopped beating."""
        from cceone.queue import stale_before

        logs = (OperationLog.objects.filter(target_type=target_type, status=OperationLog.Status.RUNNING,
                                            heartbeat_at__lt=stale_before()).exclude(task={}))
        return [cls(log) for log in logs]

    def claim(self) -> bool:
        """Take a stalled operation for recovery, counting the resume. Claimed with the
        heartbeat it was found with: a step written since (the work was only slow) or
        another sweep wins."""
        claimed = OperationLog.objects.filter(
            pk=self.log.pk, status=OperationLog.Status.RUNNING, heartbeat_at=self.log.heartbeat_at,
        ).update(resumes=F("resumes") + 1, heartbeat_at=timezone.now())
        if claimed:
            self.log.refresh_from_db()
        return bool(claimed)
