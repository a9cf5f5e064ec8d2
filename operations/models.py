"""What operations keep: diagnosis runs (R3.10), inspection runs, their schedules and
waivers (R3.11). Findings are stored as the checks wrote them (English msgids with their
parameters, and the evidence as read), so a report reads in the language of whoever opens it."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    WARNING = "warning", _("Warning")
    INFO = "info", _("Info")


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Completed")
    FAILED = "failed", _("Failed")


ACTIVE = (RunStatus.PENDING, RunStatus.RUNNING)


class Run(models.Model):
    """What diagnosis and inspection runs share: a cluster, a worker's progress and heartbeat.

    Recovery (services.recover_stalled_runs): every check beats; an active run whose
    heartbeat stopped lost its worker and is sent again under a new `attempt`, then failed
    with the reason after CCEONE_RECOVERY_MAX_RESUMES attempts."""

    iam_anchor_path = "cluster"

    cluster = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("cluster"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("started by"))
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    checks_total = models.PositiveIntegerField(default=0)
    checks_done = models.PositiveIntegerField(default=0)
    # Why it failed (an English msgid and its parameters, shown translated).
    message = models.TextField(_("message"), blank=True)
    message_params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(default=timezone.now, editable=False)
    attempt = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def account(self):
        return self.cluster.account

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def percent(self) -> int:
        if not self.checks_total:
            return 100 if self.status == RunStatus.SUCCEEDED else 0
        return min(100, round(100 * self.checks_done / self.checks_total))

    def display_message(self) -> str:
        from django.utils.translation import gettext

        if not self.message:
            return ""
        text = gettext(self.message)
        try:
            return text % self.message_params if self.message_params else text
        except (KeyError, TypeError, ValueError):
            return text


class Diagnosis(Run):
    class Kind(models.TextChoices):
        POD = "pods", _("Pod")
        NODE = "nodes", _("Node")
        SERVICE = "services", _("Service")
        INGRESS = "ingresses", _("Ingress")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    namespace = models.CharField(_("namespace"), max_length=253, blank=True)
    name = models.CharField(_("name"), max_length=253)
    # One entry per check run: check, status (normal, abnormal, unknown), severity, message
    # and params, remedy, evidence [{field, value}] (see operations/findings.py).
    results = models.JSONField(default=list, blank=True)
    abnormal_count = models.PositiveIntegerField(_("abnormal items"), default=0)

    class Meta(Run.Meta):
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self):
        return f"{self.cluster_id}:{self.kind}/{self.namespace}/{self.name}"

    @property
    def object_label(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


class Confirmation(models.Model):
    """A user confirmed an abnormal item of a diagnosis: who, when, with a note."""

    diagnosis = models.ForeignKey(Diagnosis, on_delete=models.CASCADE, related_name="confirmations")
    check_id = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    user_name = models.CharField(max_length=150)
    note = models.TextField(_("note"), blank=True)
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["diagnosis", "check_id"], name="one_confirmation_per_item")]


class InspectionSchedule(models.Model):
    """A cluster's inspection rule: a django-celery-beat crontab entry edited in the console."""

    iam_anchor_path = "cluster"

    cluster = models.OneToOneField("clusters.RegisteredCluster", on_delete=models.CASCADE, related_name="+",
                                   verbose_name=_("cluster"))
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", on_delete=models.PROTECT,
                                         related_name="+")
    minute = models.CharField(_("minute"), max_length=64, default="0")
    hour = models.CharField(_("hour"), max_length=64, default="2")
    day_of_month = models.CharField(_("day of month"), max_length=64, default="*")
    month_of_year = models.CharField(_("month"), max_length=64, default="*")
    day_of_week = models.CharField(_("day of week"), max_length=64, default="*")
    timezone = models.CharField(_("time zone"), max_length=63, default="Asia/Shanghai")
    enabled = models.BooleanField(_("enabled"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cluster__name"]
        verbose_name = _("inspection schedule")
        verbose_name_plural = _("inspection schedules")

    @property
    def account(self):
        return self.cluster.account

    def __str__(self):
        return f"{self.cluster_id}: {self.minute} {self.hour} {self.day_of_month} {self.month_of_year} {self.day_of_week}"


class Inspection(Run):
    class Trigger(models.TextChoices):
        MANUAL = "manual", _("Run now")
        SCHEDULE = "schedule", _("Schedule")

    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    # {"critical": n, "warning": n, "info": n, "waived": n}
    counts = models.JSONField(default=dict, blank=True)
    # One entry per failing (check, object): check, severity, kind, namespace, name,
    # message, params, waived (waiver id or None).
    findings = models.JSONField(default=list, blank=True)
    # {"new": [...keys], "fixed": [...], "still": n} against the previous completed run.
    diff = models.JSONField(default=dict, blank=True)
    # Checks that could not be evaluated, and why: [{check, message, params}].
    notes = models.JSONField(default=list, blank=True)
    objects_inspected = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)

    class Meta(Run.Meta):
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        indexes = [models.Index(fields=["status", "heartbeat_at"]), models.Index(fields=["cluster", "finished_at"])]

    def __str__(self):
        return f"{self.cluster_id}:{self.pk}"


class Waiver(models.Model):
    """Silences one check on one object, or on a whole namespace, until it expires."""

    iam_anchor_path = "cluster"

    cluster = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("cluster"))
    check_id = models.CharField(_("check"), max_length=64)
    namespace = models.CharField(_("namespace"), max_length=253, blank=True)
    kind = models.CharField(_("kind"), max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=253, blank=True, help_text=_("Empty: the whole namespace."))
    reason = models.TextField(_("reason"))
    expires_at = models.DateTimeField(_("expires at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("waiver")
        verbose_name_plural = _("waivers")

    @property
    def account(self):
        return self.cluster.account

    def __str__(self):
        return f"{self.check_id} {self.namespace}/{self.name}"

    def is_active(self, now=None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())

    def covers(self, finding: dict) -> bool:
        if finding["check"] != self.check_id or (finding.get("namespace") or "") != self.namespace:
            return False
        if not self.name:
            return True
        return finding.get("name") == self.name and (not self.kind or finding.get("kind") == self.kind)
