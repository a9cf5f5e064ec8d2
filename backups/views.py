"""Backup pages (R3.12, R6.1; the manual's 运维管理 → 备份): backups, restores, schedules and
storage locations. Thin: every write calls backups.services."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cceone.console import views as generic
from cceone.iam.access import can, get_or_deny, require, restrict
from cceone.iam.routes import iam_page
from clusters.models import RegisteredCluster

from . import forms, services
from .models import Backup, BackupSchedule, Migration, Restore, StorageLocation
from .tables import BackupTable, LocationTable, MigrationTable, RestoreTable, ScheduleTable


class TabbedList(generic.ObjectListView):
    """The tabs of the backup pages: one list view each, told apart by attributes only."""

    template_name = "backups/list.html"
    view_action = "backups:list"
    tab = ""
    needs_location = False  # an empty list first asks for a storage location
    empty_message = ""  # an empty list, to whoever may create (or when there is nothing to create)
    empty_links: tuple = ()  # (label, URL name)
    empty_message_readonly = ""

    def get_context_extra(self):
        user = self.request.user
        return {"tab": self.tab, "can_locations": can(user, "backups:locations"),
                "can_migrate": can(user, services.MIGRATE)}

    def no_location(self) -> dict | None:
        user = self.request.user
        if StorageLocation.objects.filter(account=user.account).exists():
            return None
        if can(user, "backups:locations"):
            return {"message": _("Backups are stored in an S3-compatible bucket. Add a storage location first."),
                    "links": [(_("Add storage location"), reverse("backups:location-create"))]}
        return {"message": _("Backups are stored in an S3-compatible bucket, and none is set up yet. Ask your "
                             "administrator to add a storage location."), "links": []}

    def empty_state(self, filterset, can_create):
        missing = self.no_location() if self.needs_location else None
        if missing:
            return missing
        if can_create or not self.create_action:
            return {"message": self.empty_message,
                    "links": [(label, reverse(url_name)) for label, url_name in self.empty_links]}
        return {"message": self.empty_message_readonly, "links": []}


class BackupList(TabbedList):
    queryset = Backup.objects.select_related("cluster", "location")
    table_class = BackupTable
    title = gettext_lazy("Backup and restore")
    create_url_name = "backups:create"
    create_action = "backups:create"
    tab = "backups"
    needs_location = True
    empty_message = gettext_lazy("There are no backups yet. Back up the namespaces of a running cluster; you can "
                                 "then restore them into the same or another cluster.")
    empty_links = ((gettext_lazy("Create backup"), "backups:create"),
                   (gettext_lazy("Create schedule"), "backups:schedule-create"))
    empty_message_readonly = gettext_lazy("There are no backups you can see yet. Ask your administrator for the "
                                          "permission to back up clusters.")


class RestoreList(TabbedList):
    queryset = Restore.objects.select_related("backup", "target")
    table_class = RestoreTable
    title = gettext_lazy("Restores")
    tab = "restores"
    empty_message = gettext_lazy("There are no restores yet. Open a completed backup and choose Restore; a dry run "
                                 "first shows what would change.")
    empty_links = ((gettext_lazy("Backups"), "backups:list"),)


class ScheduleList(TabbedList):
    queryset = BackupSchedule.objects.select_related("cluster", "location")
    table_class = ScheduleTable
    title = gettext_lazy("Backup schedules")
    create_url_name = "backups:schedule-create"
    create_action = "backups:create"
    tab = "schedules"
    needs_location = True
    empty_message = gettext_lazy("There are no schedules yet. A schedule backs up a cluster on a crontab and keeps "
                                 "the newest backups.")
    empty_links = ((gettext_lazy("Create schedule"), "backups:schedule-create"),)
    empty_message_readonly = gettext_lazy("There are no schedules you can see yet.")

    def get_context_extra(self):
        return {**super().get_context_extra(), "can_delete": can(self.request.user, "backups:delete")}


class MigrationList(TabbedList):
    queryset = Migration.objects.select_related("source", "target")
    table_class = MigrationTable
    title = gettext_lazy("Migrations")
    create_url_name = "backups:migration-create"
    create_action = services.MIGRATE
    create_label = gettext_lazy("Migrate an application")
    tab = "migrations"
    needs_location = True
    empty_message = gettext_lazy("There are no migrations yet. A migration backs up namespaces of one cluster, "
                                 "shows the dry run on another and, once you confirm, restores them there.")
    empty_links = ((gettext_lazy("Migrate an application"), "backups:migration-create"),)
    empty_message_readonly = gettext_lazy("There are no migrations you can see yet.")


class LocationList(TabbedList):
    queryset = StorageLocation.objects.all()
    table_class = LocationTable
    title = gettext_lazy("Storage locations")
    create_url_name = "backups:location-create"
    create_action = "backups:locations"
    tab = "locations"
    needs_location = True


class ClusterBackups(BackupList):
    """The backups of one cluster, in its console (the manual's 运维管理 → 备份): its backups,
    the restores into it, its schedules and the migrations from or to it."""

    template_name = "backups/cluster.html"
    cluster_action = "clusters:get"
    iam_action_attributes = ("view_action", "cluster_action")

    def get(self, request, *args, **kwargs):
        self.cluster = get_or_deny(RegisteredCluster.objects.select_related("region"), request.user,
                                   self.kwargs["pk"], self.cluster_action)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return super().get_queryset().filter(cluster=self.cluster)

    def get_context_extra(self):
        user, cluster = self.request.user, self.cluster
        restores = restrict(Restore.objects.filter(target=cluster).select_related("backup"), user, "backups:list")
        schedules = restrict(BackupSchedule.objects.filter(cluster=cluster), user, "backups:list")
        migrations = restrict(Migration.objects.filter(Q(source=cluster) | Q(target=cluster)).select_related(
            "source", "target"), user, "backups:list")
        return {**super().get_context_extra(), "cluster": cluster, "page": "backups",
                "create_url": f"{reverse('backups:create')}?cluster={cluster.pk}",
                "restores": restores.order_by("-created_at")[:10], "schedules": schedules[:10],
                "migrations": migrations.order_by("-created_at")[:10],
                "migrate_url": f"{reverse('backups:migration-create')}?source={cluster.pk}"}


class LocationMixin:
    queryset = StorageLocation.objects.all()
    view_action = "backups:list"
    success_url_name = "backups:locations"


class LocationCreate(LocationMixin, generic.ObjectFormView):
    form_class = forms.LocationForm
    create_action = "backups:locations"
    title_create = gettext_lazy("Add storage location")

    def save(self, form, obj):
        return services.save_location(self.request.user, None, **form.cleaned_data)


class LocationEdit(LocationMixin, generic.ObjectFormView):
    form_class = forms.LocationForm
    update_action = "backups:locations"
    title_update = gettext_lazy("Edit storage location")

    def save(self, form, obj):
        return services.save_location(self.request.user, obj, **form.cleaned_data)


class LocationDelete(LocationMixin, generic.ObjectDeleteView):
    delete_action = "backups:locations"

    def delete(self, location):
        services.delete_location(self.request.user, location)


@iam_page("backups:list", "backups:locations")
@login_required
@require_POST
def check_location(request, pk):
    location = get_or_deny(StorageLocation.objects.all(), request.user, pk, "backups:list", "backups:locations")
    steps = services.check_location(request.user, location)
    for label, passed, message in steps:
        if not passed:
            messages.error(request, message)
            break
    else:
        messages.success(request, _("Storage location “%(name)s” works: a probe object was written, read back and "
                                    "deleted.") % {"name": location.name})
    return redirect("backups:locations")


class FormWithUser:
    """Forms whose choices depend on the user; `?cluster=<id>` (from a cluster's console)
    preselects the cluster."""

    def get_form(self, obj, data=None):
        form = self.form_class(data, instance=obj, account=self.request.user.account, user=self.request.user)
        form.fields["cluster"].initial = self.request.GET.get("cluster")
        return form


class BackupCreate(FormWithUser, generic.ObjectFormView):
    queryset = Backup.objects.all()
    view_action = "backups:list"
    form_class = forms.BackupForm
    create_action = "backups:create"
    title_create = gettext_lazy("Create backup")
    success_url_name = "backups:list"

    def save(self, form, obj):
        data = dict(form.cleaned_data)
        return services.start_backup(self.request.user, **data)

    def success(self, backup):
        return redirect("backups:detail", pk=backup.pk)


class ScheduleCreate(FormWithUser, generic.ObjectFormView):
    queryset = BackupSchedule.objects.all()
    view_action = "backups:list"
    form_class = forms.ScheduleForm
    create_action = "backups:create"
    title_create = gettext_lazy("Create schedule")
    success_url_name = "backups:schedules"

    def save(self, form, obj):
        return services.save_schedule(self.request.user, **form.cleaned_data)


class ScheduleDelete(generic.ObjectDeleteView):
    queryset = BackupSchedule.objects.all()
    view_action = "backups:get"
    delete_action = "backups:delete"
    success_url_name = "backups:schedules"
    warning = gettext_lazy("The schedule stops; the backups it made stay until you delete them.")

    def delete(self, schedule):
        services.delete_schedule(self.request.user, schedule)


class BackupDelete(generic.ObjectDeleteView):
    queryset = Backup.objects.select_related("location")
    view_action = "backups:get"
    delete_action = "backups:delete"
    success_url_name = "backups:list"
    warning = gettext_lazy("The backup's file in the storage location is deleted too.")

    def delete(self, backup):
        services.delete_backup(self.request.user, backup)


@iam_page("backups:create")
@login_required
def import_backup(request):
    require(request.user, "backups:create")
    form = forms.ImportForm(request.POST or None, files=request.FILES or None, account=request.user.account,
                            user=request.user)
    form.fields["cluster"].initial = request.GET.get("cluster")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            backup = services.import_backup(request.user, cluster=data["cluster"], location=data["location"],
                                            name=data["name"], fileobj=data["file"])
        except ValidationError as error:
            generic.add_validation_error(form, error)
        else:
            messages.success(request, _("Imported “%(name)s”.") % {"name": backup.name})
            return redirect("backups:detail", pk=backup.pk)
    return render(request, "backups/import.html", {"form": form})


def _backup(request, pk, *actions) -> Backup:
    return get_or_deny(Backup.objects.select_related("cluster", "location", "creator"), request.user, pk,
                       "backups:get", *actions)


@iam_page("backups:get")
@login_required
def backup_detail(request, pk):
    backup = _backup(request, pk)
    user = request.user
    resources = sorted((backup.manifest.get("resources") or {}).values(), key=lambda r: (r["group"], r["resource"]))
    restores = backup.restores.select_related("target").order_by("-created_at")[:20]
    return render(request, "backups/detail.html", {
        "backup": backup, "resources": resources, "restores": restores,
        "can_download": can(user, "backups:download", backup), "can_delete": can(user, "backups:delete", backup),
        "can_restore": can(user, "backups:restore", backup), "refresh": not backup.finished,
    })


@iam_page("backups:get", "backups:download")
@login_required
def download(request, pk):
    backup = _backup(request, pk, "backups:download")
    try:
        stream, length, filename = services.open_download(request.user, backup)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("backups:detail", pk=backup.pk)
    response = StreamingHttpResponse(stream.iter_chunks(1 << 16), content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    if length is not None:
        response["Content-Length"] = str(length)
    return response


@iam_page("backups:get", "backups:restore")
@login_required
def restore_form(request, pk):
    """The restore dialog: Dry run shows the diff and the pre-flight; Restore writes."""
    backup = _backup(request, pk, "backups:restore")
    form = forms.RestoreForm(request.POST or None, account=request.user.account, user=request.user)
    form.fields["target"].initial = backup.cluster_id
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        dry_run = request.POST.get("submit") != "restore"
        try:
            target = get_or_deny(RegisteredCluster.objects.all(), request.user, data["target"].pk)
            restore = services.start_restore(
                request.user, backup, target=target, name=data["name"], namespace_mapping=data["namespace_mapping"],
                included_kinds=data["included_kinds"], excluded_kinds=data["excluded_kinds"],
                cleansing_rules=form.rules(), conflict_policy=data["conflict_policy"], dry_run=dry_run)
        except ValidationError as error:
            generic.add_validation_error(form, error)
        else:
            return redirect("backups:restore-detail", pk=restore.pk)
    return render(request, "backups/restore_form.html", {"backup": backup, "form": form})


def result_labels() -> dict[str, str]:
    """A restore's per-object results (a dry run's: new, changed, unchanged)."""
    return {"created": _("Created"), "updated": _("Updated"), "skipped": _("Skipped"), "failed": _("Failed"),
            "new": _("New"), "changed": _("Changed"), "unchanged": _("Unchanged")}


def preflight_sections() -> list[tuple[str, str]]:
    """The dry run's pre-flight findings, in the order the pages show them."""
    return [("missing_crds", _("Missing custom resource definitions")),
            ("unserved_versions", _("API versions the target does not serve")),
            ("namespaces_to_create", _("Namespaces to create")),
            ("missing_storage_classes", _("Storage classes referenced but absent")),
            ("new_registries", _("Image registries the target does not use yet")),
            ("quotas_exceeded", _("Resource quotas that would be exceeded"))]


@iam_page("backups:get")
@login_required
def restore_detail(request, pk):
    restore = get_or_deny(Restore.objects.select_related("backup", "target", "creator"), request.user, pk,
                          "backups:get")
    labels = result_labels()
    shown = request.GET.get("result", "")
    rows = [{**row, "result_label": labels.get(row["result"], row["result"])} for row in restore.results
            if not shown or row["result"] == shown]
    counts = [(key, labels.get(key, key), value) for key, value in (restore.counts or {}).items()]
    preflight = restore.preflight or {}
    sections = [(key, label, preflight.get(key) or []) for key, label in preflight_sections()]
    can_apply = (restore.dry_run and restore.phase == "completed" and can(request.user, "backups:restore",
                                                                             restore.backup)
                 and can(request.user, "clusters:update", restore.target))
    return render(request, "backups/restore_detail.html", {
        "restore": restore, "rows": rows[:1000], "shown": shown, "counts": counts, "sections": sections, "can_apply": can_apply,
        "refresh": not restore.finished, "results": ["created", "updated", "skipped", "failed", "new", "changed",
                                                     "unchanged"],
    })


@iam_page("backups:get", "backups:restore")
@login_required
@require_POST
def apply_dry_run(request, pk):
    """Restore for real with the dry run's settings."""
    dry = get_or_deny(Restore.objects.select_related("backup", "target"), request.user, pk, "backups:get",
                      "backups:restore")
    require(request.user, "backups:restore", dry.backup)
    try:
        restore = services.start_restore(
            request.user, dry.backup, target=dry.target, namespace_mapping=dry.namespace_mapping,
            included_kinds=dry.included_kinds, excluded_kinds=dry.excluded_kinds,
            cleansing_rules=dry.cleansing_rules, conflict_policy=dry.conflict_policy)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("backups:restore-detail", pk=dry.pk)
    return redirect("backups:restore-detail", pk=restore.pk)


# --- the migration wizard (R6.1) ----------------------------------------------------------------

@iam_page(services.MIGRATE)
@login_required
def migration_create(request):
    """Step 1 of the wizard: source, target, namespaces and cleansing rules; the backup and
    the dry run then run on their own, and the detail page shows their progress."""
    require(request.user, services.MIGRATE)
    form = forms.MigrationForm(request.POST or None, account=request.user.account, user=request.user)
    form.fields["source"].initial = request.GET.get("source")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            migration = services.start_migration(
                request.user, name=data["name"], source=data["source"], target=data["target"],
                location=data["location"], namespaces=data["namespaces"], excluded_kinds=data["excluded_kinds"],
                namespace_mapping=data["namespace_mapping"], cleansing_rules=form.rules(),
                conflict_policy=data["conflict_policy"])
        except ValidationError as error:
            generic.add_validation_error(form, error)
        else:
            return redirect("backups:migration-detail", pk=migration.pk)
    return render(request, "backups/migration_form.html", {"form": form})


def _migration(request, pk, *actions) -> Migration:
    return get_or_deny(Migration.objects.select_related("source", "target", "location", "backup", "dry_run",
                                                        "restore", "creator"), request.user, pk, "backups:get",
                       *actions)


def migration_steps(migration: Migration) -> list[dict]:
    """The wizard's steps as the detail page shows them: waiting, running, done, warning
    (partially failed), failed or skipped, with the backup or restore each step made."""
    def state_of(work):
        if work is None:
            return "skipped" if migration.finished else "waiting"
        if not work.finished:
            return "running"
        return {"completed": "done", "partially_failed": "warning"}.get(work.phase, "failed")

    review = ("running" if migration.state == Migration.State.AWAITING_CONFIRMATION else
              "done" if migration.restore_id else "skipped" if migration.finished else "waiting")
    steps = [(_("Back up the source"), state_of(migration.backup), migration.backup, "backups:detail"),
             (_("Dry run on the target"), state_of(migration.dry_run), migration.dry_run, "backups:restore-detail"),
             (_("Review and confirm"), review, None, ""),
             (_("Restore into the target"), state_of(migration.restore), migration.restore, "backups:restore-detail")]
    labels = result_labels()
    return [{"number": number, "label": label, "state": state, "work": work,
             "url": reverse(url_name, args=[work.pk]) if work else "",
             "counts": [(labels.get(key, key), value) for key, value in (getattr(work, "counts", None) or {}).items()]}
            for number, (label, state, work, url_name) in enumerate(steps, start=1)]


@iam_page("backups:get")
@login_required
def migration_detail(request, pk):
    migration = _migration(request, pk)
    dry = migration.dry_run
    preflight = (dry.preflight or {}) if dry else {}
    findings = [(key, label, preflight.get(key) or []) for key, label in preflight_sections()]
    return render(request, "backups/migration_detail.html", {
        "migration": migration, "steps": migration_steps(migration), "findings": findings,
        "can_confirm": (migration.state == Migration.State.AWAITING_CONFIRMATION
                        and can(request.user, services.MIGRATE, migration)),
        "refresh": migration.state in (Migration.State.BACKING_UP, Migration.State.DRY_RUNNING,
                                       Migration.State.RESTORING)})


def _migration_action(request, pk, action):
    migration = _migration(request, pk, services.MIGRATE)
    try:
        action(request.user, migration)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("backups:migration-detail", pk=migration.pk)


@iam_page("backups:get", services.MIGRATE)
@login_required
@require_POST
def migration_confirm(request, pk):
    """Step 3: the user has seen the dry run; restore with the same settings."""
    return _migration_action(request, pk, services.confirm_migration)


@iam_page("backups:get", services.MIGRATE)
@login_required
@require_POST
def migration_cancel(request, pk):
    return _migration_action(request, pk, services.cancel_migration)
