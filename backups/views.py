"""Backup pages (R3.12, R6.1; the manual's 运维管理 → 备份): backups, restores, schedules and
storage locations. Thin: every write calls backups.services."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cceone.console import views as generic
from cceone.iam.access import can, get_or_deny, require
from cceone.iam.routes import iam_page
from clusters.models import RegisteredCluster

from . import forms, services
from .models import Backup, BackupSchedule, Restore, StorageLocation
from .tables import BackupTable, LocationTable, RestoreTable, ScheduleTable


class TabbedList(generic.ObjectListView):
    template_name = "backups/list.html"
    view_action = "backups:list"
    tab = ""

    def get_context_extra(self):
        user = self.request.user
        return {"tab": self.tab, "can_locations": can(user, "backups:locations")}

    def no_location(self) -> dict | None:
        user = self.request.user
        if StorageLocation.objects.filter(account=user.account).exists():
            return None
        if can(user, "backups:locations"):
            return {"message": _("Backups are stored in an S3-compatible bucket. Add a storage location first."),
                    "links": [(_("Add storage location"), reverse("backups:location-create"))]}
        return {"message": _("Backups are stored in an S3-compatible bucket, and none is set up yet. Ask your "
                             "administrator to add a storage location."), "links": []}


class BackupList(TabbedList):
    queryset = Backup.objects.select_related("cluster", "location")
    table_class = BackupTable
    title = gettext_lazy("Backup and restore")
    create_url_name = "backups:create"
    create_action = "backups:create"
    tab = "backups"

    def empty_state(self, filterset, can_create):
        missing = self.no_location()
        if missing:
            return missing
        if can_create:
            return {"message": _("There are no backups yet. Back up the namespaces of a running cluster; you can "
                                 "then restore them into the same or another cluster."),
                    "links": [(_("Create backup"), reverse("backups:create")),
                              (_("Create schedule"), reverse("backups:schedule-create"))]}
        return {"message": _("There are no backups you can see yet. Ask your administrator for the permission to "
                             "back up clusters."), "links": []}


class RestoreList(TabbedList):
    queryset = Restore.objects.select_related("backup", "target")
    table_class = RestoreTable
    title = gettext_lazy("Restores")
    tab = "restores"

    def empty_state(self, filterset, can_create):
        return {"message": _("There are no restores yet. Open a completed backup and choose Restore; a dry run "
                             "first shows what would change."), "links": [(_("Backups"), reverse("backups:list"))]}


class ScheduleList(TabbedList):
    queryset = BackupSchedule.objects.select_related("cluster", "location")
    table_class = ScheduleTable
    title = gettext_lazy("Backup schedules")
    create_url_name = "backups:schedule-create"
    create_action = "backups:create"
    tab = "schedules"

    def empty_state(self, filterset, can_create):
        missing = self.no_location()
        if missing:
            return missing
        if can_create:
            return {"message": _("There are no schedules yet. A schedule backs up a cluster on a crontab and keeps "
                                 "the newest backups."), "links": [(_("Create schedule"),
                                                                    reverse("backups:schedule-create"))]}
        return {"message": _("There are no schedules you can see yet."), "links": []}

    def get_context_extra(self):
        return {**super().get_context_extra(), "can_delete": can(self.request.user, "backups:delete")}


class LocationList(TabbedList):
    queryset = StorageLocation.objects.all()
    table_class = LocationTable
    title = gettext_lazy("Storage locations")
    create_url_name = "backups:location-create"
    create_action = "backups:locations"
    tab = "locations"

    def empty_state(self, filterset, can_create):
        return self.no_location()


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
    def get_form(self, obj, data=None):
        return self.form_class(data, instance=obj, account=self.request.user.account, user=self.request.user)


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


@iam_page("backups:get")
@login_required
def restore_detail(request, pk):
    restore = get_or_deny(Restore.objects.select_related("backup", "target", "creator"), request.user, pk,
                          "backups:get")
    labels = {"created": _("Created"), "updated": _("Updated"), "skipped": _("Skipped"), "failed": _("Failed"),
              "new": _("New"), "changed": _("Changed"), "unchanged": _("Unchanged")}
    shown = request.GET.get("result", "")
    rows = [{**row, "result_label": labels.get(row["result"], row["result"])} for row in restore.results
            if not shown or row["result"] == shown]
    counts = [(key, labels.get(key, key), value) for key, value in (restore.counts or {}).items()]
    preflight = restore.preflight or {}
    sections = [(key, label, preflight.get(key) or []) for key, label in (
        ("missing_crds", _("Missing custom resource definitions")), ("unserved_versions", _("API versions the target does not serve")),
        ("namespaces_to_create", _("Namespaces to create")),
        ("missing_storage_classes", _("Storage classes referenced but absent")),
        ("new_registries", _("Image registries the target does not use yet")),
        ("quotas_exceeded", _("Resource quotas that would be exceeded")))]
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
