"""Monitoring pages: a cluster's preset panels, its Prometheus endpoint, and the guidance on
ServiceMonitor / PodMonitor. Thin: services judge and write; lookups go through iam.access."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cceone.console.views import add_validation_error
from cceone.iam.access import can, get_or_deny
from cceone.iam.routes import AUTHENTICATED_ONLY, iam_page
from clusters.models import RegisteredCluster

from . import charts, panels, services
from .forms import EndpointForm

VIEW, CONFIGURE = services.VIEW, services.CONFIGURE
SANDBOX_PROMETHEUS = {"mode": "in_cluster", "namespace": "monitoring", "service": "prometheus", "port": "9090"}


def _cluster(request, pk, *actions):
    return get_or_deny(RegisteredCluster.objects.select_related("account"), request.user, pk, VIEW, *actions)


def rendered(data: dict) -> list[dict]:
    """Each panel with its SVG and the latest value of each series (the chart's table)."""
    out = []
    for item in data["panels"]:
        panel = item["panel"]
        rows = [{"name": s["name"], "colour": charts.colour(i),
                 "last": charts.format_value(s["points"][-1][1], panel.unit) if s["points"] else "--",
                 "peak": charts.format_value(max(v for _, v in s["points"]), panel.unit) if s["points"] else "--"}
                for i, s in enumerate(item["series"])]
        out.append({"panel": panel, "error": item["error"], "rows": rows, "empty": not item["series"],
                    "svg": charts.chart(panel.key, str(panel.title), panel.unit, item["series"], data["start"],
                                        data["end"]) if item["series"] else ""})
    return out


@iam_page(VIEW)
@login_required
def cluster_monitoring(request, pk):
    cluster = _cluster(request, pk)
    range_key = request.GET.get("range") if request.GET.get("range") in panels.RANGES else panels.DEFAULT_RANGE
    endpoint = services.endpoint_of(cluster)
    data = services.panel_data(request.user, cluster, range_key) if endpoint else None
    return render(request, "monitoring/cluster.html", {
        "cluster": cluster, "endpoint": endpoint, "range": range_key,
        "ranges": [(key, label) for key, (_seconds, label) in panels.RANGES.items()],
        "panels": rendered(data) if data else [], "can_configure": can(request.user, CONFIGURE, cluster)})


@iam_page(VIEW, CONFIGURE)
@login_required
def configure(request, pk):
    cluster = _cluster(request, pk, CONFIGURE)
    endpoint = services.endpoint_of(cluster)
    result = None
    if request.method == "POST":
        form = EndpointForm(request.POST, instance=endpoint)
        if request.POST.get("action") == "remove":
            services.remove(request.user, cluster)
            messages.success(request, services.removed_message())
            return redirect("monitoring:cluster", pk=cluster.pk)
        if form.is_valid():
            try:
                if request.POST.get("action") == "test":
                    result = services.test_connection(request.user, cluster, form.values())
                else:
                    services.configure(request.user, cluster, form.values())
                    messages.success(request, services.saved_message())
                    return redirect("monitoring:cluster", pk=cluster.pk)
            except ValidationError as error:
                add_validation_error(form, error)
    else:
        # A sandbox cluster's emulated Prometheus is offered as it is (the README's demo).
        initial = SANDBOX_PROMETHEUS if endpoint is None and cluster.is_sandbox else None
        form = EndpointForm(instance=endpoint, initial=initial)
    return render(request, "monitoring/configure.html", {"cluster": cluster, "form": form, "endpoint": endpoint,
                                                         "result": result})


@iam_page(VIEW, CONFIGURE)
@login_required
@require_POST
def test(request, pk):
    cluster = _cluster(request, pk, CONFIGURE)
    ok, message = services.test_connection(request.user, cluster)
    (messages.success if ok else messages.error)(request, message)
    return redirect("monitoring:cluster", pk=cluster.pk)


@iam_page(AUTHENTICATED_ONLY)
@login_required
def guide(request):
    return render(request, "monitoring/guide.html", {})
