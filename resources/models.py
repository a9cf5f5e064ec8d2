"""What the console keeps about Kubernetes operations that outlive a request."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NodeDrain(models.Model):
    """A node drain (cordon, then evict its pods honouring PodDisruptionBudgets) run by a
    Celery task as the user who asked for it; the page polls its progress."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Draining")
        SUCCEEDED = "succeeded", _("Drained")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.PENDING, Status.RUNNING)
    POD_STATES = {"pending": _("Waiting"), "evicted": _("Evicted"), "blocked": _("Blocked"),
                  "skipped": _("Skipped"), "failed": _("Failed"), "gone": _("Left the node")}
    DONE_STATES = ("evicted", "skipped", "gone")

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="+")
    # The target, as the resource URLs name it (target type registry): e.g. ("cluster", "12").
    target_type = models.CharField(max_length=20)
    target_id = models.CharField(max_length=64)
    target_name = models.CharField(_("target"), max_length=200)
    node = models.CharField(_("node"), max_length=253)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                     related_name="+", verbose_name=_("requested by"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # One entry per pod found on the node: namespace, name, state (evicted, blocked,
    # skipped, failed, pending) and a message.
    pods = models.JSONField(default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    timeout_seconds = models.PositiveIntegerField(default=600)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Recovery (resources.services.recover_stalled_drains): every pass beats; an active drain
    # whose heartbeat stopped lost its worker and is resumed under a new `run` number, so
    # that a late message of the old run stops instead of draining alongside.
    heartbeat_at = models.DateTimeField(default=timezone.now, editable=False)
    run = models.PositiveIntegerField(default=0, editable=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "node"]),
                   models.Index(fields=["status", "heartbeat_at"])]
        constraints = [models.UniqueConstraint(
            fields=["target_type", "target_id", "node"], condition=Q(status__in=["pending", "running"]),
            name="one_active_drain_per_node")]
        verbose_name = _("node drain")
        verbose_name_plural = _("node drains")

    def __str__(self):
        return f"{self.target_name}/{self.node}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def counts(self) -> dict[str, int]:
        result = {"total": len(self.pods)}
        for pod in self.pods:
            result[pod.get("state", "pending")] = result.get(pod.get("state", "pending"), 0) + 1
        return result

    def pod_rows(self) -> list[dict]:
        return [{**pod, "state_label": self.POD_STATES.get(pod.get("state"), pod.get("state"))} for pod in self.pods]

    @property
    def percent(self) -> int:
        if not self.pods:
            return 100 if self.status == self.Status.SUCCEEDED else 0
        done = sum(1 for p in self.pods if p.get("state") in self.DONE_STATES)
        return round(100 * done / len(self.pods))
