"""The federation part of a fleet's page (R4.5): which federation the fleet is in, and joining
one or leaving it from there (the same service as the federation's page)."""
from django.template.loader import render_to_string

from cceone.iam.access import can, restrict

from .models import Federation


def fleet_panel(request, fleet) -> str:
    user = request.user
    federation = Federation.objects.filter(fleet=fleet).first()
    may_change_fleet = can(user, "fleets:update", fleet)
    context = {"fleet": fleet, "federation": federation, "may_change_fleet": may_change_fleet}
    if federation is None:
        context["free"] = restrict(Federation.objects.filter(fleet__isnull=True, status=Federation.Status.RUNNING),
                                   user, "federations:update") if may_change_fleet else Federation.objects.none()
    else:
        context["visible"] = can(user, "federations:get", federation)
        context["may_leave"] = may_change_fleet and can(user, "federations:update", federation) \
            and federation.status == Federation.Status.RUNNING
    return render_to_string("federation/fleet_panel.html", context, request=request)
