"""The target's live summary, loaded into its overview page."""
from django.http import Http404
from django.shortcuts import render

from cceone.kube.gateway import KubeError

from .. import registry, related
from ..formatting import status
from ..links import list_url
from .base import ResourceView


class Summary(ResourceView):
    """Pods by phase and recent warning events, as the user sees them; loaded into the
    target's overview page by HTMX so the page itself renders from stored facts."""

    def get(self, request, **kwargs):
        pods_kind, events_kind = registry.get("pods"), registry.get("events")
        if not (self.target.serves(pods_kind) and self.target.serves(events_kind)):
            raise Http404  # a federation's API server holds templates; pods and events are the members'
        context = {}
        try:
            phases: dict[str, int] = {}
            for pod in self.api.list_all(pods_kind):
                phase = status(pod).get("phase") or "Pending"
                phases[phase] = phases.get(phase, 0) + 1
            order = ["Running", "Pending", "Succeeded", "Failed", "Unknown"]
            context["phases"] = sorted(phases.items(), key=lambda p: order.index(p[0]) if p[0] in order else 9)
            context["pods_total"] = sum(phases.values())
        except KubeError as error:
            context["pods_error"] = error.message
        try:
            warnings = self.api.list(events_kind, field_selector="type=Warning", limit=200).get("items") or []
            context["warnings"] = related.sort_events(warnings)[:10]
            context["events_url"] = list_url(self.target, events_kind, namespace="", type="Warning")
        except KubeError as error:
            context["events_error"] = error.message
        return render(request, "resources/partials/summary.html", {**self.base_context(), **context})

    def kube_error(self, error):
        return render(self.request, "resources/partials/summary.html", {"pods_error": error.message})
