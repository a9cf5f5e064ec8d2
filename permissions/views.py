"""Permission management pages (platform services, R2.3-R2.6): preset and custom
permissions, associations on clusters and fleets, and each cluster's sync state.
Thin: every write calls permissions.services."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cceone.console import views as generic
from cceone.console.redirects import redirect_next
from cceone.iam.access import can, get_or_deny, require, restrict
from cceone.iam.routes import iam_page
from cceone.kube.gateway import KubeError
from clusters.models import RegisteredCluster
from fleets.models import Fleet
from resources import registry
from resources.formatting import meta
from resources.kube import Api

from . import forms, rbac, services
from .effective import bindings_of
from .filters import AssociationPageFilterSet, PermissionFilterSet, SyncFilterSet
from .models import CustomPermission, PermissionBinding
from .tables import AssociationTable, PermissionTable, SyncTable

LIVE = [s for s in RegisteredCluster.Status.values if s != RegisteredCluster.Status.UNSUBSCRIBED]


def presets() -> list[dict]:
    return [{"key": p.value, "label": p.label, "description": rbac.PRESET_DESCRIPTIONS[p],
             "cluster_role": f"cceone:{p.value}", "rules": rbac.preset_rules(p)} for p in rbac.Preset]


# --- custom permissions -----------------------------------------------------------------------

class PermissionMixin:
    queryset = CustomPermission.objects.all()
    view_action = "permissions:list"
    success_url_name = "permissions:list"


class PermissionList(PermissionMixin, generic.ObjectListView):
    table_class = PermissionTable
    filterset_class = PermissionFilterSet
    title = gettext_lazy("Permission management")
    create_url_name = "permissions:create"
    create_action = "permissions:create"
    template_name = "permissions/permission_list.html"

    def get_context_extra(self):
        user = self.request.user
        return {"presets": presets(), "tab": "permissions", "can_update": can(user, "permissions:update"),
                "can_delete": can(user, "permissions:delete")}


class PermissionEdit(PermissionMixin, generic.ObjectFormView):
    form_class = forms.PermissionForm
    create_action, update_action = "permissions:create", "permissions:update"
    title_create, title_update = gettext_lazy("Create permission"), gettext_lazy("Edit permission")
    template_name = "permissions/permission_form.html"

    def save(self, form, obj):
        data = form.cleaned_data
        return services.save_permission(self.request.user, obj, name=data["name"], description=data["description"],
                                        rules=form.rules())


class PermissionDelete(PermissionMixin, generic.ObjectDeleteView):
    delete_action = "permissions:delete"
    warning = gettext_lazy("A permission that is still associated cannot be deleted; remove its associations first.")

    def delete(self, obj):
        services.delete_permission(self.request.user, obj)


# --- associations ------------------------------------------------------------------------------

class AssociationList(generic.ObjectListView):
    queryset = PermissionBinding.objects.all()
    view_action = "permissions:list"
    table_class = AssociationTable
    filterset_class = AssociationPageFilterSet
    title = gettext_lazy("Permission management")
    create_url_name = "permissions:associate"
    create_action = "permissions:create"
    template_name = "permissions/permission_list.html"

    def visible(self, queryset):
        return services.visible_bindings(self.request.user)

    def get_context_extra(self):
        user = self.request.user
        return {"tab": "associations", "can_update": can(user, "permissions:update"),
                "can_delete": can(user, "permissions:delete")}


def _targets(user) -> list:
    clusters = restrict(RegisteredCluster.objects.exclude(status=RegisteredCluster.Status.UNSUBSCRIBED), user,
                        "clusters:get").order_by("name")
    fleets = restrict(Fleet.objects.all(), user, "fleets:get").order_by("name")
    return [(_("Registered clusters"), [(f"cluster:{c.pk}", c.name) for c in clusters]),
            (_("Fleets"), [(f"fleet:{f.pk}", f.name) for f in fleets])]


def _target_from(user, ref: str):
    kind, _sep, pk = (ref or "").partition(":")
    model = {"cluster": RegisteredCluster, "fleet": Fleet}.get(kind)
    if model is None or not pk.isdigit():
        return None
    return restrict(model.objects.all(), user, f"{kind}s:get").filter(pk=int(pk)).first()


def target_url(target) -> str:
    if isinstance(target, Fleet):
        return reverse("fleets:permissions", args=[target.pk])
    return reverse("permissions:cluster", args=[target.pk])


def _associate(request, target, form):
    data = form.cleaned_data
    binding = services.associate(request.user, target, user=data["user"], all_namespaces=data["all_namespaces"],
                                 namespaces=data["namespaces"], preset=data["preset"],
                                 permission=data["custom_permission"])
    messages.success(request, _("Associated “%(permission)s” with %(user)s on %(target)s.")
                     % {"permission": binding.permission_name, "user": binding.user.username, "target": target.name})


@iam_page("permissions:create")
@login_required
def associate(request):
    """Associate a permission with a user on a cluster or a fleet chosen in the form."""
    require(request.user, "permissions:create")
    targets = _targets(request.user)
    initial_target = request.GET.get("target", "")
    form = forms.AssociationForm(request.POST or None, account=request.user.account, targets=targets)
    if request.method != "POST":
        form.fields["target"].initial = initial_target
    elif form.is_valid():
        target = _target_from(request.user, form.cleaned_data["target"])
        if target is None:
            form.add_error("target", _("Unknown cluster or fleet."))
        else:
            try:
                _associate(request, target, form)
            except ValidationError as error:
                generic.add_validation_error(form, error)
            else:
                return redirect(target_url(target))
    return render(request, "permissions/associate.html", {"form": form, "title": _("Associate permission"),
                                                     "cancel_url": reverse("permissions:associations")})


def namespaces_of(user, target) -> list[str]:
    """A running cluster's namespaces, to pick from when associating (R2.4), read as the
    user; none for a fleet or a cluster that cannot be read now (names are typed then)."""
    if not isinstance(target, RegisteredCluster) or target.status != RegisteredCluster.Status.RUNNING:
        return []
    try:
        found = Api(target, user).list_all(registry.get("namespaces"), cap=2000)
    except KubeError:
        return []
    return sorted(meta(n)["name"] for n in found)


def associations_page(request, target):
    """A cluster's or a fleet's associations, with the manual's warnings, and a form to add one.
    The caller has checked that the user may see the target."""
    require(request.user, "permissions:list")
    user = request.user
    form = forms.AssociationForm(request.POST or None, account=user.account,
                                 existing_namespaces=namespaces_of(user, target))
    if request.method == "POST":
        require(user, "permissions:create")
        if form.is_valid():
            try:
                _associate(request, target, form)
            except ValidationError as error:
                generic.add_validation_error(form, error)
            else:
                return redirect(request.path)
    is_fleet = isinstance(target, Fleet)
    context = {
        "target": target, "is_fleet": is_fleet, "form": form,
        "bindings": bindings_of(target).order_by("user__username", "created_at"),
        "can_create": can(user, "permissions:create"), "can_update": can(user, "permissions:update"),
        "can_delete": can(user, "permissions:delete"),
    }
    if not is_fleet:
        context["sync"] = getattr(target, "permission_sync", None)
    return render(request, "permissions/associations.html", context,
                  status=422 if form.errors and request.htmx else 200)


@iam_page("clusters:get", "permissions:list")
@login_required
def cluster_associations(request, pk):
    cluster = _cluster(request, pk)
    return associations_page(request, cluster)


@iam_page("fleets:get")
@login_required
def fleet_associations(request, pk):
    """The fleet's associations (R4.4) with the manual's warnings; adding one here. Served at
    /fleets/<pk>/permissions/ ("fleets:permissions", registered with `fleets.pages`)."""
    fleet = get_or_deny(Fleet.objects.select_related("enterprise_project", "creator"), request.user, pk,
                        "fleets:get")
    return associations_page(request, fleet)


def _cluster(request, pk) -> RegisteredCluster:
    """The cluster: 404 outside the user's account; 403 (audited) unless the user may see it."""
    return get_or_deny(RegisteredCluster.objects.select_related("fleet"), request.user, pk, "clusters:get")


def _binding(request, pk) -> PermissionBinding:
    """The association: 404 outside the user's account; 403 (audited) unless the user may list
    permissions and see its cluster or fleet."""
    binding = get_or_deny(PermissionBinding.objects.select_related("cluster", "fleet", "user", "permission"),
                          request.user, pk, "permissions:list")
    require(request.user, "fleets:get" if binding.fleet_id else "clusters:get", binding.target)
    return binding


@iam_page("permissions:update")
@login_required
def association_edit(request, pk):
    binding = _binding(request, pk)
    require(request.user, "permissions:update")
    form = forms.AssociationForm(request.POST or None, account=request.user.account, instance=binding,
                                 existing_namespaces=namespaces_of(request.user, binding.target))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_association(request.user, binding, all_namespaces=data["all_namespaces"],
                                        namespaces=data["namespaces"], preset=data["preset"],
                                        permission=data["custom_permission"])
        except ValidationError as error:
            generic.add_validation_error(form, error)
        else:
            messages.success(request, _("Association updated."))
            return redirect(target_url(binding.target))
    return render(request, "permissions/associate.html", {
        "form": form, "binding": binding, "title": _("Edit association"), "cancel_url": target_url(binding.target)})


@iam_page("permissions:delete")
@login_required
def association_delete(request, pk):
    binding = _binding(request, pk)
    require(request.user, "permissions:delete")
    back = target_url(binding.target)
    if request.method == "POST":
        try:
            services.dissociate(request.user, binding)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Association removed."))
        return redirect(back)
    return render(request, "components/object_delete.html", {
        "object": binding, "cancel_url": back,
        "warning": _("The user loses this permission in the member clusters at the next sync; without any "
                     "association they fall back to the restricted permission.")})


# --- sync state --------------------------------------------------------------------------------

class SyncList(generic.ObjectListView):
    """Every cluster's permission sync state, with a retry action."""

    queryset = RegisteredCluster.objects.filter(status__in=LIVE).select_related("fleet", "permission_sync")
    view_action = "clusters:list"
    table_class = SyncTable
    filterset_class = SyncFilterSet
    title = gettext_lazy("Permission management")
    template_name = "permissions/permission_list.html"

    def get(self, request, *args, **kwargs):
        require(request.user, "permissions:list")
        return super().get(request, *args, **kwargs)

    def get_context_extra(self):
        return {"tab": "sync", "can_retry": can(self.request.user, "permissions:update")}


@iam_page("permissions:update")
@login_required
@require_POST
def sync_retry(request, pk):
    cluster = _cluster(request, pk)
    try:
        services.retry_sync(request.user, cluster)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Permission sync of %(cluster)s requested.") % {"cluster": cluster.name})
    return redirect_next(request, reverse("permissions:cluster", args=[cluster.pk]))
