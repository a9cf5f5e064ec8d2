"""Audit events (who did what to which instance) and operation logs (backend steps)."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    class Result(models.TextChoices):
        SUCCESS = "success", _("Success")
        DENIED = "denied", _("Denied")
        FAILED = "failed", _("Failed")

    time = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    # Kept as text so the record survives the user's deletion.
    actor_name = models.CharField(_("user"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("target type"), max_length=40, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_name = models.CharField(_("target"), max_length=200, blank=True)
    region = models.CharField(_("region"), max_length=40, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, default=Result.SUCCESS)
    source_ip = models.GenericIPAddressField(_("source IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # The console request (X-Request-ID) it happened in: the same id is in the JSON logs of
    # web, hub and agent for that request (cceone/logs.py).
    request_id = models.CharField(_("request id"), max_length=128, blank=True, db_index=True)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["account", "-time"])]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.result}"


class OperationLog(models.Model):
    """The backend steps of one operation on an instance (create, unsubscribe, upgrade, change)."""

    class Operation(models.TextChoices):
        CREATE = "create", _("Create")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe")
        UPGRADE = "upgrade", _("Upgrade")
        CHANGE = "change", _("Configuration change")

    class Status(models.TextChoices):
        RUNNING = "running", _("In progress")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="+")
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64)
    target_name = models.CharField(_("instance"), max_length=200)
    operation = models.CharField(_("operation"), max_length=16, choices=Operation.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Recovery (Operation.stalled): the message that carries the operation on, {"name",
    # "args", "kwargs"}; each step beats; a running operation whose heartbeat stopped lost
    # its worker and is sent again (`resumes` counts how often).
    task = models.JSONField(default=dict, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(default=timezone.now, editable=False)
    resumes = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"]), models.Index(fields=["status", "heartbeat_at"])]
        verbose_name = _("operation log")
        verbose_name_plural = _("operation logs")


class OperationStep(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("In progress")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    log = models.ForeignKey(OperationLog, on_delete=models.CASCADE, related_name="steps")
    seq = models.PositiveIntegerField()
    name = models.CharField(_("step"), max_length=120)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    message = models.TextField(_("message"), blank=True)
    # The message is an English msgid (gettext_noop) and these its %-parameters, so a step
    # written by a worker reads in the language of whoever opens the log.
    message_params = models.JSONField(_("message parameters"), default=dict, blank=True)
    time = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["log_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["log", "seq"], name="uniq_step_seq")]

    @property
    def display_message(self) -> str:
        if not self.message:
            return ""
        text = gettext(self.message)
        return text % self.message_params if self.message_params else text
