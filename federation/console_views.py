"""The federation console's own pages beside the generic resource pages: the guided federated
workload (R5.6) with its live division preview, and a workload's placement (the preview
next to the ResourceBinding's result and the members' status). Thin: the rules are in
`federation.workloads` and `federation.preview`; the target (IAM `federations:get`, status)
comes from the resource target registry like every resource page's."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cceone.console.views import add_validation_error
from cceone.iam.access import can, require
from cceone.iam.routes import iam_page
from cceone.kube.gateway import KubeError
from resources import registry
from resources.kube import Api
from resources.links import object_url
from resources.targets import Unavailable, resolve

from . import karmada, workloads
from . import promote as promotion
from .policy_forms import FederatedWorkloadForm, MemberOverrideForm, PromoteForm


def _target(request, pk):
    """The federation as a console target, or the page saying why its console is unavailable."""
    try:
        return resolve("federation", request.user, pk), None
    except Unavailable as error:
        target = resolve("federation", request.user, pk, check_status=False)
        return None, render(request, "resources/unavailable.html", {
            "federation": target.obj, "target": target, "header_template": target.type.header_template,
            "error": error, "page": "deploy"}, status=error.status)


def _members(request, target) -> tuple[list[dict], str]:
    try:
        return karmada.members(Api(target.obj, request.user)), ""
    except KubeError as error:
        return [], error.message


def _forms(members, data=None):
    names = sorted(c["metadata"]["name"] for c in members)
    form = FederatedWorkloadForm(data, initial=None if data else {"namespace": "default"})
    overrides = [MemberOverrideForm(data, member=name) for name in names]
    return form, overrides


def _workload(form, overrides) -> workloads.FederatedWorkload | None:
    if not form.is_valid() or not all(o.is_valid() for o in overrides):
        return None
    return workloads.FederatedWorkload(form.manifest(), form.placement(),
                                       [o.cluster_override() for o in overrides])


def preview_context(request, target, form) -> dict:
    """The preview of what the form holds (its errors say what to fill in first)."""
    if not form.is_valid():
        return {"preview_errors": [f"{form.fields[f].label}: {e}" if f in form.fields else e
                                   for f, errors in form.errors.items() for e in errors]}
    try:
        found = workloads.preview_for(request.user, target, form.cleaned_data["replicas"],
                                      form.placement().manifest(), kind=form.cleaned_data["workload_kind"])
    except KubeError as error:
        return {"preview_errors": [error.message]}
    return {"preview": found, "preview_members": found.members,
            "version": ".".join(map(str, karmada.division_version(target.obj)))}


@iam_page("federations:get", "federations:deploy")
@login_required
def workload_create(request, pk):
    """Basic information and container, then scheduling and differentiation, then submit: the
    workload, its PropagationPolicy and OverridePolicy together."""
    target, refused = _target(request, pk)
    if refused:
        return refused
    require(request.user, workloads.DEPLOY_ACTION, target.obj)
    members, members_error = _members(request, target)
    form, overrides = _forms(members, request.POST if request.method == "POST" else None)
    errors, status = [], 200
    if request.method == "POST":
        workload = _workload(form, overrides)
        if workload is not None:
            try:
                created = workloads.create(request.user, target, workload)
            except ValidationError as error:
                add_validation_error(form, error)
            except KubeError as error:
                errors.append(error.message)
            else:
                messages.success(request, _("Created %(objects)s.") % {
                    "objects": ", ".join(f"{kind.kind} {name}" for kind, _ns, name in created)})
                return redirect("federation:placement", pk=target.obj.pk, kind=registry.get(
                    workloads.REPLICATED[workload.workload["kind"]]).plural, namespace=workload.namespace,
                    name=workload.name)
        status = 422
    return render(request, "federation/workload_create.html", {
        "federation": target.obj, "target": target, "page": "deploy", "form": form, "overrides": overrides,
        "members": karmada.member_rows(members)[0], "members_error": members_error, "errors": errors,
        "preview_url": reverse("federation:division-preview", args=[target.obj.pk]),
        **(preview_context(request, target, form) if request.method == "POST" else {}),
    }, status=status)


@iam_page("federations:get")
@login_required
@require_POST
def division_preview(request, pk):
    """The preview partial, for the page's live update (htmx) while weights or replicas change."""
    target, refused = _target(request, pk)
    if refused:
        return refused
    form = FederatedWorkloadForm(request.POST)
    return render(request, "federation/partials/division_preview.html", preview_context(request, target, form))


@iam_page("federations:get")
@login_required
def placement(request, pk, kind, namespace, name):
    """A federated workload's placement: the preview (exact now that its UID is known) next to
    the ResourceBinding's result per member and what each member reports."""
    target, refused = _target(request, pk)
    if refused:
        return refused
    kind_object = registry.get(kind)
    try:
        found = workloads.placement(request.user, target, kind, namespace, name)
    except (KubeError, ValidationError) as error:
        message = error.message if isinstance(error, KubeError) else " ".join(error.messages)
        code = error.status if isinstance(error, KubeError) and error.status in (403, 404) else 422 \
            if isinstance(error, ValidationError) else 502
        return render(request, "federation/placement.html", {
            "federation": target.obj, "target": target, "page": "workloads", "error": message}, status=code)
    template = "federation/partials/placement_body.html" if request.htmx else "federation/placement.html"
    return render(request, template, {
        "federation": target.obj, "target": target, "page": "workloads", "found": found,
        "workload_url": object_url(target, kind_object, namespace, name),
        "can_deploy": can(request.user, workloads.DEPLOY_ACTION, target.obj)})


@iam_page("federations:get", "federations:deploy")
@login_required
def promote(request, pk):
    """Promote (R5.7): a member's existing objects taken over by the federation, each listed
    with its result, and the member's pods before and after (nothing restarted)."""
    target, refused = _target(request, pk)
    if refused:
        return refused
    require(request.user, promotion.PROMOTE_ACTION, target.obj)
    members, members_error = _members(request, target)
    names = sorted(c["metadata"]["name"] for c in members)
    form = PromoteForm(request.POST if request.method == "POST" else None, members=names)
    outcome, errors, status = None, [], 200
    if request.method == "POST":
        if form.is_valid():
            try:
                outcome = promotion.promote(request.user, target, form.promote_request())
            except ValidationError as error:
                add_validation_error(form, error)
            except KubeError as error:
                errors.append(error.message)
        if outcome is None:
            status = 422
    return render(request, "federation/promote.html", {
        "federation": target.obj, "target": target, "page": "promote", "form": form, "outcome": outcome,
        "errors": errors, "members_error": members_error, "outcomes": promotion.OUTCOMES}, status=status)
