"""Draining a node: confirm, start (the work runs in the background, see
services.start_drain), then follow its progress."""
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from .. import services
from ..models import NodeDrain
from .base import ResourceView


class Drain(ResourceView):
    kind_action = "drain"

    def get(self, request, **kwargs):
        return self.render("resources/drain_confirm.html", {**self.object_context()})

    def post(self, request, **kwargs):
        drain = services.start_drain(request.user, self.target, self.name)
        return redirect(reverse("resources:drain-status", kwargs={**self.kwargs, "drain_id": drain.pk}))


class DrainStatus(ResourceView):
    kind_action = "drain-status"

    def get(self, request, drain_id, **kwargs):
        drain = get_object_or_404(NodeDrain, pk=drain_id, account_id=request.user.account_id,
                                  target_type=self.target.type.name, target_id=self.target.id, node=self.name)
        context = {**self.object_context(), "drain": drain, "counts": drain.counts()}
        if request.htmx:
            return render(request, "resources/partials/drain_progress.html", {**self.base_context(), **context})
        return self.render("resources/drain.html", context)
