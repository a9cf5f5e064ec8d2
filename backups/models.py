"""Backups (R3.12, R6.1): where backups go (S3-compatible storage locations, per tenant),
the backups of a cluster's manifests, their schedules, and restores (or dry runs) of a
backup into a cluster. Volume data is out of scope: "include PV data" is recorded only."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cceone import crypto


class StorageLocation(models.Model):
    """An S3-compatible bucket (and prefix) of one tenant; the secret key is encrypted at rest."""

    audit_type = "storage_location"

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="storage_locations")
    name = models.CharField(_("name"), max_length=64)
    endpoint = models.URLField(_("endpoint"), max_length=255,
                               help_text=_("The S3 API's URL, e.g. https://oss.example.com"))
    region = models.CharField(_("region"), max_length=64, blank=True, default="us-east-1")
    bucket = models.CharField(_("bucket"), max_length=63)
    prefix = models.CharField(_("prefix"), max_length=200, blank=True)
    access_key = models.CharField(_("access key"), max_length=128)
    secret_key_encrypted = models.TextField(blank=True)
    # `make run`'s location on the S3 server it starts itself (moto): not for real data.
    sandbox = models.BooleanField(_("sandbox"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True)
    last_check_message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_storage_location_name")]
        verbose_name = _("storage location")
        verbose_name_plural = _("storage locations")

    def __str__(self):
        return self.name

    @property
    def secret_key(self) -> str:
        return crypto.decrypt(self.secret_key_encrypted)

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        self.secret_key_encrypted = crypto.encrypt(value)

    def key_for(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p and p.strip("/"))


class Filters(models.Model):
    """What a backup (or a schedule's backups) collects."""

    namespaces = models.JSONField(_("namespaces"), default=list, blank=True)  # [] = all
    included_kinds = models.JSONField(_("included kinds"), default=list, blank=True)  # [] = all
    excluded_kinds = models.JSONField(_("excluded kinds"), default=list, blank=True)
    label_selector = models.CharField(_("label selector"), max_length=500, blank=True)
    include_pv_data = models.BooleanField(_("include PV data"), default=False)

    class Meta:
        abstract = True

    def filters(self) -> dict:
        return {"namespaces": self.namespaces, "included_kinds": self.included_kinds,
                "excluded_kinds": self.excluded_kinds, "label_selector": self.label_selector,
                "include_pv_data": self.include_pv_data}


class Phase(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    PARTIALLY_FAILED = "partially_failed", _("Partially failed")
    FAILED = "failed", _("Failed")


FINISHED = (Phase.COMPLETED, Phase.PARTIALLY_FAILED, Phase.FAILED)


class Work(models.Model):
    """A long task's state: it beats while it runs; a silent one is resumed by the beat sweep
    (`backups.services.recover_stalled`) under a new `run`, so a late message of the old run
    does nothing; after CCEONE_RECOVERY_MAX_RESUMES it fails with the reason."""

    phase = models.CharField(_("status"), max_length=20, choices=Phase.choices, default=Phase.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)  # percent
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    run = models.PositiveIntegerField(default=1)
    resumes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED


class BackupSchedule(Filters):
    """Backups of a cluster on a crontab (django-celery-beat), keeping the newest N and/or
    those younger than D days."""

    audit_type = "backup_schedule"
    iam_anchor_path = "cluster"

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="backup_schedules")
    name = models.CharField(_("name"), max_length=40)
    cluster = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.CASCADE, related_name="backup_schedules",
                                verbose_name=_("cluster"))
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="schedules",
                                 verbose_name=_("storage location"))
    crontab = models.CharField(_("schedule (crontab)"), max_length=100, help_text=_("minute hour day month weekday"))
    keep_last = models.PositiveIntegerField(_("keep the newest"), null=True, blank=True)
    keep_days = models.PositiveIntegerField(_("keep for days"), null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True,
                                         blank=True, related_name="+")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_backup_schedule_name")]
        verbose_name = _("backup schedule")
        verbose_name_plural = _("backup schedules")

    def __str__(self):
        return self.name


class Backup(Filters, Work):
    audit_type = "backup"
    iam_anchor_path = "cluster"

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="backups")
    name = models.CharField(_("name"), max_length=63)
    cluster = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.PROTECT, related_name="backups",
                                verbose_name=_("cluster"))
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="backups",
                                 verbose_name=_("storage location"))
    schedule = models.ForeignKey(BackupSchedule, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="backups")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    object_key = models.CharField(max_length=500, blank=True)  # set only once the whole tarball is stored
    size = models.BigIntegerField(_("size"), null=True, blank=True)
    checksum = models.CharField(_("checksum (SHA-256)"), max_length=64, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    item_count = models.PositiveIntegerField(_("objects"), default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_backup_name")]
        verbose_name = _("backup")
        verbose_name_plural = _("backups")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("backups:detail", args=[self.pk])


class Restore(Work):
    """A restore of a backup into a cluster, or its dry run (the diff and the pre-flight,
    nothing written). `results`: one row per object (kind, namespace, name, result, reason,
    changes; a dry run adds the diff)."""

    audit_type = "restore"
    iam_anchor_path = "target"

    class Policy(models.TextChoices):
        SKIP = "skip", _("Skip objects that exist")
        UPDATE = "update", _("Update objects that exist (merge patch)")

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="restores")
    name = models.CharField(_("name"), max_length=63)
    backup = models.ForeignKey(Backup, on_delete=models.CASCADE, related_name="restores", verbose_name=_("backup"))
    target = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.PROTECT, related_name="restores",
                               verbose_name=_("target cluster"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    namespace_mapping = models.JSONField(_("namespace mapping"), default=dict, blank=True)
    included_kinds = models.JSONField(_("included kinds"), default=list, blank=True)
    excluded_kinds = models.JSONField(_("excluded kinds"), default=list, blank=True)
    cleansing_rules = models.JSONField(_("data cleansing"), default=list, blank=True)
    conflict_policy = models.CharField(_("existing objects"), max_length=10, choices=Policy.choices,
                                       default=Policy.SKIP)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    results = models.JSONField(default=list, blank=True)
    preflight = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("restore")
        verbose_name_plural = _("restores")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("backups:restore-detail", args=[self.pk])


class Migration(models.Model):
    """The full-migration wizard (R6.1): namespaces of a source cluster backed up, the backup
    dry-run on the target (the diff and the pre-flight), and — once the user has seen them
    and confirmed — restored there. The work is the backup's and the restores'; a migration
    records which step the flow is at (`services.advance_migration` moves it on when one of
    them finishes)."""

    audit_type = "migration"
    iam_anchor_path = "source"

    class State(models.TextChoices):
        BACKING_UP = "backing_up", _("Backing up the source")
        DRY_RUNNING = "dry_running", _("Dry run on the target")
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation")
        RESTORING = "restoring", _("Restoring into the target")
        COMPLETED = "completed", _("Completed")
        PARTIALLY_FAILED = "partially_failed", _("Partially failed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="migrations")
    name = models.CharField(_("name"), max_length=40)
    source = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.PROTECT, related_name="migrations_out",
                               verbose_name=_("source cluster"))
    target = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.PROTECT, related_name="migrations_in",
                               verbose_name=_("target cluster"))
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="migrations",
                                 verbose_name=_("storage location"))
    namespaces = models.JSONField(_("namespaces"), default=list, blank=True)  # [] = all
    excluded_kinds = models.JSONField(_("excluded kinds"), default=list, blank=True)
    namespace_mapping = models.JSONField(_("namespace mapping"), default=dict, blank=True)
    cleansing_rules = models.JSONField(_("data cleansing"), default=list, blank=True)
    conflict_policy = models.CharField(_("existing objects"), max_length=10, choices=Restore.Policy.choices,
                                       default=Restore.Policy.SKIP)
    state = models.CharField(_("status"), max_length=24, choices=State.choices, default=State.BACKING_UP)
    message = models.TextField(_("message"), blank=True)
    backup = models.ForeignKey(Backup, on_delete=models.SET_NULL, null=True, blank=True, related_name="migrations")
    dry_run = models.ForeignKey(Restore, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    restore = models.ForeignKey(Restore, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    FINISHED = (State.COMPLETED, State.PARTIALLY_FAILED, State.FAILED, State.CANCELLED)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_migration_name")]
        verbose_name = _("migration")
        verbose_name_plural = _("migrations")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("backups:migration-detail", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.state in self.FINISHED
