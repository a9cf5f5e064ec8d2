"""Messages the broker refused: kept here until the sweep (`cceone.queue.tasks.resend_unsent`)
gets them through."""
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UnsentTask(models.Model):
    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("unsent task")
        verbose_name_plural = _("unsent tasks")

    def __str__(self):
        return self.task
