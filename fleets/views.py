"""Fleet pages (R4.1-R4.7): list, create, console (basic info, statistics, members),
add and remove clusters, edit, delete (the fleet's permission associations are the
permissions app's page, registered under the fleet's URL).
Thin: every write calls fleets.services."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cceone.console import views as generic
from cceone.iam.access import annotate_can, can, get_or_deny, require
from cceone.iam.routes import iam_page
from clusters.models import RegisteredCluster

from . import forms, panels, services
from .filters import FleetFilterSet
from .models import Fleet
from .tables import FleetTable


class FleetMixin:
    queryset = Fleet.objects.select_related("enterprise_project")
    view_action = "fleets:get"
    success_url_name = "fleets:list"


class FleetList(FleetMixin, generic.ObjectListView):
    view_action = "fleets:list"
    table_class = FleetTable
    filterset_class = FleetFilterSet
    title = gettext_lazy("Fleet management")
    create_url_name = "fleets:create"
    create_action = "fleets:create"

    def get_queryset(self):
        # Per fleet: a policy limited to some fleets reaches only those rows.
        return annotate_can(super().get_queryset().annotate(cluster_count=Count("clusters")), self.request.user,
                            updatable="fleets:update", deletable="fleets:delete")

    def empty_state(self, filterset, can_create):
        if filterset is not None and filterset.form.is_valid() and any(filterset.form.cleaned_data.values()):
            return {"message": _("No fleets match these filters."), "links": [(_("Clear filters"),
                                                                               self.request.path)]}
        if can_create:
            return {"message": _("There are no fleets yet. A fleet groups clusters so that permissions and, "
                                 "later, a federation apply to all of them."),
                    "links": [(_("Create fleet"), reverse("fleets:create"))]}
        return {"message": _("There are no fleets you can see yet. Ask your administrator to create one or to "
                             "give you access."), "links": []}

    def get_context_extra(self):
        return {"can_list_permissions": can(self.request.user, "permissions:list")}


def _truthy(value) -> bool:
    return str(value).lower() in ("on", "true", "1")


class PickerMixin:
    """Forms with the cluster picker: the current region's free clusters, or all regions'."""

    def get_form(self, obj, data=None):
        source = data if data is not None else self.request.GET
        all_regions = _truthy(source.get("all_regions", ""))
        joinable = services.joinable_clusters(self.request.user, None if all_regions else self.request.region)
        form = self.form_class(data, instance=obj, account=self.request.user.account, joinable=joinable,
                               search=self.request.GET.get("q", ""))
        form.fields["all_regions"].initial = all_regions
        return form


class FleetCreate(PickerMixin, FleetMixin, generic.ObjectFormView):
    form_class = forms.FleetCreateForm
    create_action = "fleets:create"
    title_create = gettext_lazy("Create fleet")
    template_name = "fleets/fleet_form.html"

    def save(self, form, obj):
        data = form.cleaned_data
        return services.create_fleet(self.request.user, name=data["name"], description=data["description"],
                                     enterprise_project=data["enterprise_project"], clusters=data["clusters"])

    def success(self, fleet):
        return redirect("fleets:detail", pk=fleet.pk)


class FleetEdit(FleetMixin, generic.ObjectFormView):
    form_class = forms.FleetEditForm
    update_action = "fleets:update"
    title_update = gettext_lazy("Edit fleet")

    def save(self, form, obj):
        return services.update_fleet(self.request.user, obj, **form.cleaned_data)

    def success(self, fleet):
        return redirect("fleets:detail", pk=fleet.pk)


class AddClusters(PickerMixin, FleetMixin, generic.ObjectFormView):
    form_class = forms.AddClustersForm
    update_action = "fleets:update"
    title_update = gettext_lazy("Add clusters")
    template_name = "fleets/fleet_form.html"

    def save(self, form, fleet):
        services.add_clusters(self.request.user, fleet, list(form.cleaned_data["clusters"]))
        return fleet

    def success(self, fleet):
        return redirect("fleets:detail", pk=fleet.pk)


class FleetDelete(FleetMixin, generic.ObjectDeleteView):
    delete_action = "fleets:delete"
    template_name = "fleets/fleet_delete.html"

    def get(self, request, *args, **kwargs):
        fleet = self.get_object()
        require(request.user, self.delete_action, fleet)
        checks = services.delete_checks(fleet)
        return render(request, self.template_name, {
            "object": fleet, "checks": checks, "ready": all(passed for _l, passed, _m in checks)})

    def delete(self, fleet):
        services.delete_fleet(self.request.user, fleet)


def _fleet(request, pk, action="fleets:get") -> Fleet:
    """The fleet: 404 outside the user's account; 403 (audited) without read or `action`."""
    return get_or_deny(Fleet.objects.select_related("enterprise_project", "creator"), request.user, pk,
                       "fleets:get", action)


def _percent(rate):
    return None if rate is None else round(rate * 100, 1)


@iam_page("fleets:get")
@login_required
def detail(request, pk):
    """The fleet console (R4.6): basic information, statistics and member clusters."""
    fleet = _fleet(request, pk)
    members = list(fleet.clusters.select_related("region", "permission_sync").order_by("name"))
    stats = services.fleet_statistics(fleet, members)
    user = request.user
    return render(request, "fleets/detail.html", {
        "fleet": fleet, "members": members, "stats": stats,
        "cpu_percent": _percent(stats["cpu_rate"]), "memory_percent": _percent(stats["memory_rate"]),
        "can_update": can(user, "fleets:update", fleet), "can_delete": can(user, "fleets:delete", fleet),
        "can_list_permissions": can(user, "permissions:list"), "can_retry": can(user, "permissions:update"),
        "associations": fleet.permission_bindings.count(),
        "eip": getattr(services.federation_of(fleet), "eip_address", None),
        "panels": panels.render_all(request, fleet),
    })


@iam_page("fleets:update")
@login_required
@require_POST
def remove_cluster(request, pk, cluster_pk):
    fleet = _fleet(request, pk, "fleets:update")
    cluster = get_or_deny(RegisteredCluster.objects.all(), request.user, cluster_pk, fleet=fleet)
    try:
        services.remove_cluster(request.user, fleet, cluster)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Cluster “%(cluster)s” left the fleet; its own permissions apply again.")
                         % {"cluster": cluster.name})
    return redirect("fleets:detail", pk=fleet.pk)


@iam_page("fleets:update")
@login_required
@require_POST
def deletion_protection(request, pk):
    fleet = _fleet(request, pk, "fleets:update")
    services.set_deletion_protection(request.user, fleet, request.POST.get("enabled") == "on")
    messages.success(request, _("Deletion protection updated."))
    return redirect("fleets:detail", pk=fleet.pk)
