"""Registered-cluster pages (R3.2-R3.8): list, order wizard, overview, access
configuration, operation log, unsubscribe. Thin: every write calls clusters.services."""
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cceone.audit.models import OperationLog
from cceone.console import show_once
from cceone.console.views import ObjectListView
from cceone.iam.access import annotate_can, can, get_or_deny
from cceone.iam.routes import iam_page

from . import kubeconfigs, sandbox_agents, services, transitions
from .agent_manifest import render_agent_yaml
from .filters import ClusterFilterSet
from .forms import KubeconfigForm, OrderForm
from .models import KubeconfigToken, RegisteredCluster
from .status import hub_status, overview_facts
from .tables import ClusterTable
from .wizard import OrderWizard

Type = RegisteredCluster.Type


class ClusterList(ObjectListView):
    # Without the columns the table does not show: the database sorts every visible cluster
    # to find a page, and the agents' reported facts would make each row wide.
    queryset = RegisteredCluster.objects.select_related("region").defer(
        "facts", "agent_token_encrypted", "agent_token_hash", "previous_agent_token_hash")
    view_action = "clusters:list"
    table_class = ClusterTable
    filterset_class = ClusterFilterSet
    title = gettext_lazy("Registered clusters")
    template_name = "clusters/list.html"
    partial_template_name = "clusters/partials/table.html"

    def get_queryset(self):
        # Unsubscribe is offered only where `clusters:delete` allows it, from the list's own query.
        return annotate_can(super().get_queryset(), self.request.user, unsubscribable="clusters:delete")

    def get_context_extra(self):
        return {"can_order": can(self.request.user, "clusters:create"), "types": Type.choices}

    def empty_state(self, filterset, can_create):
        data = filterset.form.cleaned_data if filterset.form.is_valid() else {}
        if any(data.get(name) for name in ("q", "status", "cluster_type")):
            return {"message": _("No clusters match these filters."), "links": [(_("Clear filters"),
                                                                                 self.request.path)]}
        can_order = can(self.request.user, "clusters:create")
        region = getattr(self.request, "region", None)
        if region is not None and not data.get("all_regions"):
            message = _("There are no clusters in %(region)s.") % {"region": region.display_name}
            if can_order:
                message += " " + _("Your clusters may be in another region, or register one with Register cluster.")
            else:
                message += " " + _("Your clusters may be in another region.")
            return {"message": message, "links": [(_("Show all regions"), f"{self.request.path}?all_regions=on")]}
        if can_order:
            return {"message": _("There are no clusters yet: register one with Register cluster."), "links": []}
        return {"message": _("There are no clusters you can see yet. Ask your administrator for access."),
                "links": []}


def _cluster(request, pk, action="clusters:get") -> RegisteredCluster:
    """The cluster: 404 outside the user's account; 403 (audited) without read or `action`."""
    return get_or_deny(RegisteredCluster.objects.select_related("region"), request.user, pk, "clusters:get", action)


# --- order wizard ----------------------------------------------------------------------

class ClusterOrderWizard(OrderWizard):
    """The registration of one cluster type (R3.2)."""

    kind = "cluster"
    create_action = "clusters:create"
    page_template = "clusters/order.html"
    summary_template = "clusters/partials/order_summary.html"
    list_url_name = "clusters:list"

    def context(self):
        return {"cluster_type": self.kwargs["cluster_type"], "types": Type.choices}

    def form(self, data):
        return OrderForm(data, user=self.request.user, region=self.request.region,
                         cluster_type=self.kwargs["cluster_type"])

    def order_url(self):
        return reverse("clusters:order", args=[self.kwargs["cluster_type"]])

    def product_label(self, order):
        return Type(order.cluster_type).label

    def validate(self, order):
        services.validate_order(self.request.user, order)

    def place(self, order, agreed):
        return services.place_order(self.request.user, order, agreed=agreed)

    def placed_message(self, cluster):
        return _("Order submitted: cluster “%(name)s” is being created.") % {"name": cluster.name}


@iam_page("clusters:create")
@login_required
def order(request, cluster_type):
    if cluster_type not in Type.values:
        raise Http404
    return ClusterOrderWizard.view(request, cluster_type=cluster_type)


# --- one cluster -------------------------------------------------------------------------

@iam_page("clusters:get")
@login_required
def overview(request, pk):
    cluster = _cluster(request, pk)
    # Reasons are stored as English msgids (gettext_noop) and read in the reader's language.
    history = [{"time": c.at, "from": c.get_from_status_display(), "to": c.get_to_status_display(),
                "reason": _(c.reason) if c.reason else ""}
               for c in transitions.history([cluster.pk], newest_first=True)[:20]]
    return render(request, "clusters/overview.html", {
        "cluster": cluster, "facts": overview_facts(cluster), "history": history,
        "connection": hub_status(cluster) if cluster.connection_mode == "agent" else None,
    })


@iam_page("clusters:get")
@login_required
def access(request, pk):
    """Access configuration (R3.5): basic info, access info (agent YAML), connection info."""
    cluster = _cluster(request, pk)
    tab = request.GET.get("tab", "basic")
    if tab == "access" and cluster.cluster_type == Type.CLOUD:
        tab = "basic"
    context = {"cluster": cluster, "tab": tab, "can_update": can(request.user, "clusters:update", cluster),
               "change_refusal": services.change_refusal(cluster)}
    if tab == "access" and context["can_update"]:
        # The YAML carries the agent token: only those who may change the cluster see it.
        token = services.agent_token(request.user, cluster)
        # One network type at a time (as the manual's switch): the other is a click away.
        variants = (("public", _("Public IPv4")), ("private", _("Private IPv4")))
        chosen = request.GET.get("network") if request.GET.get("network") in dict(variants) else "public"
        context["networks"] = variants
        context["network"] = chosen
        context["manifests"] = [(variant, label, render_agent_yaml(cluster, token, variant) if token else "")
                                for variant, label in variants if variant == chosen]
        context["offer_sandbox_agent"] = sandbox_agents.can_offer(cluster)
    if tab == "connection":
        context.update(_connection_context(request, cluster))
        issued = show_once.take(request, f"kubeconfig-{cluster.pk}")
        if issued:
            context.update(new_kubeconfig=issued["kubeconfig"],
                           new_kubeconfig_expires_at=issued["expires_at"] and parse_datetime(issued["expires_at"]))
    return render(request, "clusters/access.html", context)


def _connection_context(request, cluster, **extra):
    return {
        "issued": KubeconfigToken.objects.filter(cluster=cluster, user=request.user).order_by("-created_at"),
        "temp_form": KubeconfigForm(max_hours=settings.CCEONE_KUBECONFIG_MAX_HOURS),
        "max_hours": settings.CCEONE_KUBECONFIG_MAX_HOURS,
        **extra,
    }


@iam_page("clusters:get")
@login_required
@require_POST
def access_action(request, pk, action):
    """The writes of the access configuration page."""
    cluster = _cluster(request, pk)
    tab = "basic"
    try:
        if action == "protection":
            services.set_deletion_protection(request.user, cluster, request.POST.get("enabled") == "on")
            messages.success(request, _("Deletion protection updated."))
        elif action == "bind-eip":
            services.bind_eip(request.user, cluster)
            messages.success(request, _("The EIP is being bound: the cluster is changing until it is done."))
        elif action == "unbind-eip":
            services.unbind_eip(request.user, cluster)
            messages.success(request, _("The EIP is being unbound: the cluster is changing until it is done."))
        elif action in ("kubeconfig", "temporary-kubeconfig"):
            tab = "connection"
            valid_for = None
            if action == "temporary-kubeconfig":
                form = KubeconfigForm(request.POST, max_hours=settings.CCEONE_KUBECONFIG_MAX_HOURS)
                if not form.is_valid():
                    context = {"cluster": cluster, "tab": tab,
                               **_connection_context(request, cluster, temp_form=form)}
                    return render(request, "clusters/access.html", context, status=200)
                valid_for = timedelta(hours=form.cleaned_data["hours"])
            issued, kubeconfig = kubeconfigs.issue(request.user, cluster, valid_for)
            # Shown once, after the redirect: a refresh neither issues another nor shows it again.
            show_once.keep(request, f"kubeconfig-{cluster.pk}", {
                "kubeconfig": kubeconfig,
                "expires_at": issued.expires_at.isoformat() if issued.expires_at else None})
        elif action == "revoke":
            tab = "connection"
            issued = get_object_or_404(KubeconfigToken, pk=request.POST.get("token"), cluster=cluster,
                                       user=request.user)
            kubeconfigs.revoke(request.user, issued)
            messages.success(request, _("Kubeconfig revoked."))
        elif action == "rotate-agent-token":
            tab = "access"
            services.rotate_agent_token(request.user, cluster)
            messages.success(request, _("A new agent token is being issued (the cluster is changing until it is "
                                        "done). Apply the new agent YAML within %(minutes)d minutes: then the old "
                                        "token stops working.")
                             % {"minutes": settings.CCEONE_AGENT_TOKEN_GRACE_MINUTES})
        elif action == "sandbox-agent":
            tab = "access"
            sandbox_agents.request_agent(request.user, cluster)
            messages.success(request, _("The sandbox is starting an emulated cluster and an agent with this "
                                        "cluster's agent YAML: it connects within seconds."))
        elif action == "revoke-all":
            tab = "connection"
            count = kubeconfigs.revoke_all(request.user, cluster)
            messages.success(request, _("%(count)d kubeconfig(s) revoked.") % {"count": count})
        else:
            raise Http404
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect(f"{reverse('clusters:access', args=[cluster.pk])}?tab={tab}")


@iam_page("clusters:update")
@login_required
def agent_yaml(request, pk, variant):
    """Download the agent YAML (public or private endpoint)."""
    cluster = _cluster(request, pk, "clusters:update")
    token = services.agent_token(request.user, cluster)
    if variant not in ("public", "private") or not token:
        raise Http404
    response = HttpResponse(render_agent_yaml(cluster, token, variant), content_type="application/yaml")
    response["Content-Disposition"] = f'attachment; filename="{cluster.name}-agent-{variant}.yaml"'
    return response


@iam_page("clusters:get")
@login_required
def operations(request, pk):
    cluster = _cluster(request, pk)
    logs = (OperationLog.objects.filter(target_type="cluster", target_id=str(cluster.pk))
            .prefetch_related("steps").order_by("-started_at"))
    return render(request, "clusters/operations.html", {"cluster": cluster, "logs": logs})


@iam_page("clusters:delete")
@login_required
def unsubscribe(request, pk):
    cluster = _cluster(request, pk, "clusters:delete")
    if request.method == "POST":
        try:
            services.unsubscribe(request.user, cluster)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("clusters:unsubscribe", pk=cluster.pk)
        messages.success(request, _("Cluster “%(name)s” is being unsubscribed.") % {"name": cluster.name})
        return redirect("clusters:list")
    checks_ = services.unsubscribe_checks(cluster)
    return render(request, "clusters/unsubscribe.html", {
        "cluster": cluster, "checks": checks_, "ready": all(passed for _l, passed, _m in checks_),
        "effects": services.unsubscribe_effects(cluster)})
