"""A federated workload's drift page (read tier) and its re-sync action (write tier), beside the
placement page. Thin: the reads and the write are `federation.drift_service`'s."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cceone.iam.access import can, require
from cceone.iam.routes import iam_page
from cceone.kube.gateway import KubeError
from resources import registry
from resources.links import object_url

from . import drift_service
from .console_views import _target
from .workloads import DEPLOY_ACTION, REPLICATED


def _page(request, target, kind, namespace, name, *, comparison=None, error="", status=200):
    return render(request, "federation/drift.html", {
        "federation": target.obj, "target": target, "page": "workloads", "comparison": comparison, "error": error,
        "names": {"kind": kind, "namespace": namespace, "name": name},
        # Back to where the user came from: the placement of a divided workload, else the
        # workload's own page (a DaemonSet has no division to show).
        "placement_url": reverse("federation:placement", args=[target.obj.pk, kind, namespace, name])
        if kind in REPLICATED.values() else "",
        "workload_url": object_url(target, registry.get(kind), namespace, name),
        "resync_url": reverse("federation:drift-resync", args=[target.obj.pk, kind, namespace, name]),
        "can_resync": bool(comparison and comparison.drifted) and drift_service.may_resync(request.user, target)},
        status=status)


def _refusal(error) -> tuple[str, int]:
    if isinstance(error, ValidationError):
        return " ".join(error.messages), 422
    return error.message, error.status if error.status in (403, 404, 409) else 502


@iam_page("federations:get")
@login_required
def drift(request, pk, kind, namespace, name):
    """The template, the object Karmada rendered for each member and the member's live object,
    with the fields that differ."""
    target, refused = _target(request, pk)
    if refused:
        return refused
    try:
        comparison = drift_service.compare(request.user, target, kind, namespace, name)
    except (KubeError, ValidationError) as error:
        message, code = _refusal(error)
        return _page(request, target, kind, namespace, name, error=message, status=code)
    return _page(request, target, kind, namespace, name, comparison=comparison)


@iam_page("federations:get", "federations:deploy")
@login_required
@require_POST
def resync(request, pk, kind, namespace, name):
    """Write what Karmada rendered for one member into that member again."""
    target, refused = _target(request, pk)
    if refused:
        return refused
    require(request.user, DEPLOY_ACTION, target.obj)
    member = request.POST.get("member", "")
    try:
        found = drift_service.resync(request.user, target, kind, namespace, name, member)
    except (KubeError, ValidationError) as error:
        message, code = _refusal(error)
        try:
            comparison = drift_service.compare(request.user, target, kind, namespace, name)
        except (KubeError, ValidationError):
            comparison = None
        return _page(request, target, kind, namespace, name, comparison=comparison, error=message,
                     status=code if code != 502 else 422)
    if not found.written:
        messages.info(request, _("%(member)s already holds %(name)s as Karmada rendered it: nothing was written.") % {
            "member": member, "name": name})
    elif found.state == drift_service.IN_SYNC:
        messages.success(request, _("%(member)s holds %(name)s as Karmada rendered it again.") % {
            "member": member, "name": name})
    else:
        messages.warning(request, _("%(member)s was written, but its object still differs: %(fields)s.") % {
            "member": member, "fields": ", ".join(row.field for row in found.drifted) or found.state_label})
    return redirect("federation:drift", pk=target.obj.pk, kind=kind, namespace=namespace, name=name)


# -- the buttons on a federated workload's own page (resources.buttons) ----------------------------

def on_federation(user, target) -> bool:
    return target.type.name == "federation" and can(user, "federations:get", target.obj)


def placement_button_url(target, kind, obj) -> str:
    return reverse("federation:placement", args=[target.obj.pk, kind.plural, obj["metadata"]["namespace"],
                                                 obj["metadata"]["name"]])


def drift_button_url(target, kind, obj) -> str:
    return reverse("federation:drift", args=[target.obj.pk, kind.plural, obj["metadata"]["namespace"],
                                             obj["metadata"]["name"]])
