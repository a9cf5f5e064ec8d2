import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from cceone.console.tables import ConsoleTable

from .models import Backup, BackupSchedule, Migration, Restore, StorageLocation


class BackupTable(ConsoleTable):
    name = tables.Column(verbose_name=_("Name"), linkify=("backups:detail", [tables.A("pk")]))
    cluster = tables.Column(verbose_name=_("Cluster"))
    phase = tables.TemplateColumn(template_name="backups/partials/phase.html", verbose_name=_("Status"))
    item_count = tables.Column(verbose_name=_("Objects"))
    location = tables.Column(verbose_name=_("Storage location"))
    created_at = tables.DateTimeColumn(verbose_name=_("Created at"), format="Y-m-d H:i:s")

    class Meta:
        model = Backup
        fields = ("name", "cluster", "phase", "item_count", "location", "created_at")
        attrs = {"class": "table table-hover align-middle", "id": "backups"}
        order_by = ("-created_at",)


class RestoreTable(ConsoleTable):
    name = tables.Column(verbose_name=_("Name"), linkify=("backups:restore-detail", [tables.A("pk")]))
    dry_run = tables.BooleanColumn(verbose_name=_("Dry run"))
    backup = tables.Column(verbose_name=_("Backup"))
    target = tables.Column(verbose_name=_("Target cluster"))
    phase = tables.TemplateColumn(template_name="backups/partials/phase.html", verbose_name=_("Status"))
    created_at = tables.DateTimeColumn(verbose_name=_("Created at"), format="Y-m-d H:i:s")

    class Meta:
        model = Restore
        fields = ("name", "dry_run", "backup", "target", "phase", "created_at")
        attrs = {"class": "table table-hover align-middle", "id": "restores"}
        order_by = ("-created_at",)


class ScheduleTable(ConsoleTable):
    name = tables.Column(verbose_name=_("Name"))
    cluster = tables.Column(verbose_name=_("Cluster"))
    crontab = tables.Column(verbose_name=_("Schedule (crontab)"))
    keep_last = tables.Column(verbose_name=_("Keep the newest"), default="--")
    keep_days = tables.Column(verbose_name=_("Keep for days"), default="--")
    location = tables.Column(verbose_name=_("Storage location"))
    actions = tables.TemplateColumn(template_name="backups/partials/schedule_actions.html",
                                    verbose_name=_("Actions"), orderable=False)

    class Meta:
        model = BackupSchedule
        fields = ("name", "cluster", "crontab", "keep_last", "keep_days", "location")
        attrs = {"class": "table table-hover align-middle", "id": "schedules"}


class LocationTable(ConsoleTable):
    name = tables.TemplateColumn(template_name="backups/partials/location_name.html", verbose_name=_("Name"))
    endpoint = tables.Column(verbose_name=_("Endpoint"))
    bucket = tables.Column(verbose_name=_("Bucket"))
    prefix = tables.Column(verbose_name=_("Prefix"), default="--")
    last_check_ok = tables.TemplateColumn(template_name="backups/partials/location_check.html",
                                          verbose_name=_("Connection"))
    actions = tables.TemplateColumn(template_name="backups/partials/location_actions.html",
                                    verbose_name=_("Actions"), orderable=False)

    class Meta:
        model = StorageLocation
        fields = ("name", "endpoint", "bucket", "prefix", "last_check_ok")
        attrs = {"class": "table table-hover align-middle", "id": "locations"}


class MigrationTable(ConsoleTable):
    name = tables.Column(verbose_name=_("Name"), linkify=("backups:migration-detail", [tables.A("pk")]))
    source = tables.Column(verbose_name=_("Source cluster"))
    target = tables.Column(verbose_name=_("Target cluster"))
    state = tables.TemplateColumn(template_name="backups/partials/migration_state.html", verbose_name=_("Status"))
    created_at = tables.DateTimeColumn(verbose_name=_("Created at"), format="Y-m-d H:i:s")

    class Meta:
        model = Migration
        fields = ("name", "source", "target", "state", "created_at")
        attrs = {"class": "table table-hover align-middle", "id": "migrations"}
        order_by = ("-created_at",)
