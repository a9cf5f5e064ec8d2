"""The federation console's Failover tab (R5.8): members' Ready history and where each
workload's replicas were and are, refreshed by htmx — every few seconds while a member is
not Ready, slowly otherwise. Thin: the reading and recording are `federation.failover`'s."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from cceone.iam.access import can
from cceone.iam.routes import iam_page

from . import failover, workloads
from .console_views import _target


@iam_page("federations:get")
@login_required
def failover_page(request, pk):
    target, refused = _target(request, pk)
    if refused:
        return refused
    context = {"federation": target.obj, "target": target, "page": "failover",
               "found": failover.view(request.user, target),
               "can_deploy": can(request.user, workloads.DEPLOY_ACTION, target.obj)}
    template = "federation/partials/failover_body.html" if request.htmx else "federation/failover.html"
    return render(request, template, context)
