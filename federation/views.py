"""Federation pages (R5.1, R5.3): list, order wizard, overview, unsubscribe. Thin: every
write calls federation.services; lookups go through iam.access.get_or_deny."""
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cceone.audit.models import OperationLog
from cceone.console import show_once
from cceone.console.views import ObjectListView
from cceone.iam.access import annotate_can, can, get_or_deny, restrict
from cceone.iam.routes import iam_page
from clusters.forms import KubeconfigForm
from clusters.wizard import OrderWizard
from fleets.models import Fleet

from . import karmada, kubeconfigs, members, services, transitions
from .filters import FederationFilterSet
from .forms import FederationOrderForm
from .models import Federation, FederationKubeconfig, FederationMember
from .tables import FederationTable

Status = Federation.Status


class FederationList(ObjectListView):
    queryset = Federation.objects.select_related("region", "fleet")
    view_action = "federations:list"
    table_class = FederationTable
    filterset_class = FederationFilterSet
    title = gettext_lazy("Federations")
    create_url_name = "federation:order"
    create_action = "federations:create"
    create_label = gettext_lazy("Create federation")

    def get_queryset(self):
        return annotate_can(super().get_queryset(), self.request.user, unsubscribable="federations:delete")

    def empty_state(self, filterset, can_create):
        data = filterset.form.cleaned_data if filterset.form.is_valid() else {}
        if any(data.get(name) for name in ("q", "status")):
            return {"message": _("No federations match these filters."),
                    "links": [(_("Clear filters"), self.request.path)]}
        if can_create:
            return {"message": _("There are no federations yet: create one with Create federation, then add a "
                                 "fleet so its clusters become members."), "links": []}
        return {"message": _("There are no federations you can see yet. Ask your administrator for access."),
                "links": []}


def _federation(request, pk, action="federations:get") -> Federation:
    """The federation: 404 outside the user's account; 403 (audited) without read or `action`."""
    return get_or_deny(Federation.objects.select_related("region", "fleet", "control_plane", "enterprise_project"),
                       request.user, pk, "federations:get", action)


class FederationOrderWizard(OrderWizard):
    """The federation order (R5.1): the same steps, gates and checks as a cluster's."""

    kind = "federation"
    create_action = "federations:create"
    page_template = "federation/order.html"
    summary_template = "federation/partials/order_summary.html"
    list_url_name = "federation:list"

    def form(self, data):
        return FederationOrderForm(data, account=self.request.user.account, region=self.request.region)

    def order_url(self):
        return reverse("federation:order")

    def product_label(self, order):
        return _("Federation")

    def validate(self, order):
        services.validate_order(self.request.user, order)

    def place(self, order, agreed):
        return services.place_order(self.request.user, order, agreed=agreed)

    def placed_message(self, federation):
        return _("Order submitted: federation “%(name)s” is being created.") % {"name": federation.name}


@iam_page("federations:create")
@login_required
def order(request):
    return FederationOrderWizard.view(request)


@iam_page("federations:get")
@login_required
def detail(request, pk):
    """Overview: basic info, status (a failure's reason), Karmada version, fleet, network,
    the operation log and the status history."""
    federation = _federation(request, pk)
    logs = (OperationLog.objects.filter(target_type=services.TARGET, target_id=str(federation.pk))
            .prefetch_related("steps").order_by("-started_at", "-id"))
    history = transitions.history(federation, newest_first=True)[:20]
    user = request.user
    members = karmada.overview(federation, user) if federation.status in (Status.RUNNING, Status.CHANGING) else {}
    return render(request, "federation/detail.html", {
        "federation": federation, "logs": logs, "history": history, "page": "overview", **members,
        "reason": transitions.last_reason(federation) if federation.status in (Status.FAILED, Status.FROZEN) else "",
        "can_update": can(user, "federations:update", federation),
        "can_delete": can(user, "federations:delete", federation),
        "working": federation.status in (Status.CREATING, Status.UNSUBSCRIBING),
        # Fleets that may join: the user's to change, in no federation yet.
        "free_fleets": restrict(Fleet.objects.filter(federation__isnull=True), user, "fleets:update")
        if federation.fleet_id is None else Fleet.objects.none(),
        "can_leave": federation.fleet_id is not None and can(user, "fleets:update", federation.fleet),
        "join_members": federation.members.select_related("cluster"),
        "networks": FederationMember.Network.choices,
    })


@iam_page("federations:update")
@login_required
@require_POST
def member_network(request, pk, member_pk):
    """R5.2: how Karmada reaches a member (public or private hub address); saving joins it again."""
    federation = _federation(request, pk, "federations:update")
    member = get_object_or_404(FederationMember, pk=member_pk, federation=federation)
    network = request.POST.get("network", "")
    try:
        members.set_network(request.user, member, network)
        messages.success(request, _("Member %(name)s is joining again over the %(network)s network.")
                         % {"name": member.name, "network": FederationMember.Network(network).label})
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("federation:detail", pk=federation.pk)


@iam_page("federations:update")
@login_required
@require_POST
def deletion_protection(request, pk):
    federation = _federation(request, pk, "federations:update")
    try:
        services.set_deletion_protection(request.user, federation, request.POST.get("enabled") == "on")
        messages.success(request, _("Deletion protection updated."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("federation:detail", pk=federation.pk)


@iam_page("federations:update")
@login_required
@require_POST
def fleet(request, pk):
    """A fleet joins the federation (`fleet` names it) or its fleet leaves (`fleet` empty)."""
    federation = _federation(request, pk, "federations:update")
    raw = request.POST.get("fleet", "")
    chosen = None
    if raw:
        chosen = Fleet.objects.filter(pk=int(raw) if raw.isdigit() else 0, account=request.user.account).first()
        if chosen is None:
            messages.error(request, _("Choose one of your fleets."))
            return redirect("federation:detail", pk=federation.pk)
    return _set_fleet(request, federation, chosen, redirect("federation:detail", pk=federation.pk))


def _set_fleet(request, federation, fleet, back):
    """The fleet joins the federation (`fleet` None: its fleet leaves), from the federation's
    page or the fleet's; the outcome is a message on the page `back` returns to."""
    try:
        services.set_fleet(request.user, federation, fleet)
        if fleet:
            messages.success(request, _("Fleet %(name)s joined the federation.") % {"name": fleet.name})
        else:
            messages.success(request, _("The fleet left the federation."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return back


@iam_page("federations:delete")
@login_required
def unsubscribe(request, pk):
    """R5.3: each check on the page; confirmed with the acknowledgement."""
    federation = _federation(request, pk, "federations:delete")
    if request.method == "POST":
        try:
            if request.POST.get("acknowledged") != "on":
                raise ValidationError(_("Confirm that you have read the information above."))
            services.unsubscribe(request.user, federation)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("federation:unsubscribe", pk=federation.pk)
        messages.success(request, _("Federation “%(name)s” is being unsubscribed.") % {"name": federation.name})
        return redirect("federation:list")
    checks = services.unsubscribe_checks(federation)
    return render(request, "federation/unsubscribe.html", {
        "federation": federation, "checks": checks, "ready": all(passed for _l, passed, _m in checks)
        and federation.status not in (Status.UNSUBSCRIBING, Status.UNSUBSCRIBED)})


@iam_page("federations:get")
@login_required
def access(request, pk):
    """Access configuration (R5.4): basic info (deletion protection, EIP) and connection info
    (the user's federation kubeconfigs through the hub)."""
    federation = _federation(request, pk)
    context = {"federation": federation, "page": "access",
               "can_update": can(request.user, "federations:update", federation),
               "can_delete": can(request.user, "federations:delete", federation),
               "can_kubeconfig": can(request.user, "federations:kubeconfig", federation),
               **_connection_context(request, federation)}
    issued = show_once.take(request, f"federation-kubeconfig-{federation.pk}")
    if issued:
        context.update(new_kubeconfig=issued["kubeconfig"],
                       new_kubeconfig_expires_at=issued["expires_at"] and parse_datetime(issued["expires_at"]))
    return render(request, "federation/access.html", context)


def _connection_context(request, federation, **extra):
    return {"issued": FederationKubeconfig.objects.filter(federation=federation, user=request.user),
            "temp_form": KubeconfigForm(max_hours=settings.CCEONE_KUBECONFIG_MAX_HOURS), **extra}


@iam_page("federations:get")
@login_required
@require_POST
def access_action(request, pk, action):
    """The writes of the access configuration page."""
    federation = _federation(request, pk)
    try:
        if action == "bind-eip":
            services.bind_eip(request.user, federation)
            messages.success(request, _("The EIP is bound."))
        elif action == "unbind-eip":
            services.unbind_eip(request.user, federation)
            messages.success(request, _("The EIP is unbound."))
        elif action in ("kubeconfig", "temporary-kubeconfig"):
            valid_for = None
            if action == "temporary-kubeconfig":
                form = KubeconfigForm(request.POST, max_hours=settings.CCEONE_KUBECONFIG_MAX_HOURS)
                if not form.is_valid():
                    return render(request, "federation/access.html", {
                        "federation": federation, "can_kubeconfig": True,
                        "can_update": can(request.user, "federations:update", federation),
                        **_connection_context(request, federation, temp_form=form)})
                valid_for = timedelta(hours=form.cleaned_data["hours"])
            issued, config = kubeconfigs.issue(request.user, federation, valid_for)
            # Shown once, after the redirect: a refresh neither issues another nor shows it again.
            show_once.keep(request, f"federation-kubeconfig-{federation.pk}", {
                "kubeconfig": config, "expires_at": issued.expires_at.isoformat() if issued.expires_at else None})
        elif action == "revoke":
            issued = get_object_or_404(FederationKubeconfig, pk=request.POST.get("token"), federation=federation,
                                       user=request.user)
            kubeconfigs.revoke(request.user, issued)
            messages.success(request, _("Kubeconfig revoked."))
        elif action == "revoke-all":
            count = kubeconfigs.revoke_all(request.user, federation)
            messages.success(request, _("%(count)d kubeconfig(s) revoked.") % {"count": count})
        else:
            raise Http404
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("federation:access", pk=federation.pk)


@iam_page("fleets:update")
@login_required
@require_POST
def join_fleet(request, fleet_pk):
    """From the fleet's page (R4.5): the fleet joins the chosen federation."""
    fleet = get_or_deny(Fleet.objects.all(), request.user, fleet_pk, "fleets:update")
    raw = request.POST.get("federation", "")
    federation = get_or_deny(Federation.objects.all(), request.user, int(raw) if raw.isdigit() else 0,
                             "federations:update")
    return _set_fleet(request, federation, fleet, redirect("fleets:detail", pk=fleet.pk))


@iam_page("fleets:update")
@login_required
@require_POST
def leave_fleet(request, fleet_pk):
    """From the fleet's page: the fleet leaves its federation."""
    fleet = get_or_deny(Fleet.objects.all(), request.user, fleet_pk, "fleets:update")
    federation = Federation.objects.filter(fleet=fleet).first()
    if federation is None:
        messages.error(request, _("The fleet is in no federation."))
        return redirect("fleets:detail", pk=fleet.pk)
    return _set_fleet(request, federation, None, redirect("fleets:detail", pk=fleet.pk))
