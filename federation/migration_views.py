"""The incremental migration wizard's pages (R6.2): the list of a federation's migrations with
the form that starts one, and a migration's page — its steps, where the replicas are (polled
by htmx while it runs), the next step and the roll back. Thin: the rules are in
`federation.migration`; the target comes from the resource target registry."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cceone.console.views import add_validation_error
from cceone.iam.access import can, require
from cceone.iam.routes import iam_page
from cceone.kube.gateway import KubeError
from resources.kube import Api

from . import migration as service
from .console_views import _members, _target
from .migration_forms import MigrationForm
from .models import FederationMigration, translated


@iam_page("federations:get", "federations:deploy")
@login_required
def migrations(request, pk):
    """The federation's migrations; for a user who may deploy, the form that starts one."""
    target, refused = _target(request, pk)
    if refused:
        return refused
    may_migrate = can(request.user, service.MIGRATE_ACTION, target.obj)
    form, members_error, status = None, "", 200
    if request.method == "POST":
        require(request.user, service.MIGRATE_ACTION, target.obj)
    if may_migrate:
        members, members_error = _members(request, target)
        names = sorted(c["metadata"]["name"] for c in members)
        form = MigrationForm(request.POST if request.method == "POST" else None, members=names)
        if request.method == "POST":
            if form.is_valid():
                try:
                    started = service.start(request.user, target, form.start())
                except ValidationError as error:
                    add_validation_error(form, error)
                except KubeError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(request, _("Migration started: the application was promoted from %(member)s.")
                                     % {"member": started.source})
                    return redirect("federation:migration", pk=target.obj.pk, migration_pk=started.pk)
            status = 422
    return render(request, "federation/migrations.html", {
        "federation": target.obj, "target": target, "page": "migrate", "form": form,
        "members_error": members_error, "migrations": FederationMigration.objects.filter(federation=target.obj),
        "may_migrate": may_migrate}, status=status)


def _context(request, target, found, rows=None, error=""):
    steps = [{"number": index + 1, "source": s, "target": t, "current": index == found.current_step,
              "done": found.step_reached(index)} for index, (s, t) in enumerate(found.steps)]
    members = [found.source, found.target]
    workloads = [{"row": row, "cells": [{"member": m, "scheduled": row.scheduled.get(m, 0),
                                         "ready": row.ready.get(m, 0)} for m in members],
                  "without_share": row.without_share(found), "replicas": sum(row.scheduled.values())}
                 for row in rows or [] if row.replicated]
    others = [row for row in rows or [] if not row.replicated]
    may_migrate = can(request.user, service.MIGRATE_ACTION, target.obj)
    # History times are stored as ISO strings (JSON); shown as datetimes, in the reader's time zone
    # like every other time on the page.
    history = [{**entry, "at": parse_datetime(entry.get("at") or "") or entry.get("at"),
                "reason": translated(entry.get("reason") or "", entry.get("reason_params"))}
               for entry in reversed(found.history)]
    return {"federation": target.obj, "target": target, "page": "migrate", "migration": found, "steps": steps,
            "history": history,
            "members": members, "workloads": workloads, "others": others, "error": error,
            "placed": service.placed(rows or []),
            "next": found.next_weights,
            "can_advance": may_migrate and not found.advance_refusal(),
            "can_rollback": may_migrate and not found.rollback_refusal(),
            "polling": not found.finished}


@iam_page("federations:get")
@login_required
def migration_detail(request, pk, migration_pk):
    """A migration: the steps, where the replicas are now (read live from the ResourceBindings,
    the step marked reached once the target's replicas are ready), its history."""
    target, refused = _target(request, pk)
    if refused:
        return refused
    found = get_object_or_404(FederationMigration, pk=migration_pk, federation=target.obj)
    rows, error = None, ""
    try:
        rows = service.refresh(found, Api(target.obj, request.user))
    except KubeError as failure:
        error = failure.message
    template = "federation/partials/migration_body.html" if request.htmx else "federation/migration.html"
    return render(request, template, _context(request, target, found, rows, error))


def _move(request, pk, migration_pk, move):
    target, refused = _target(request, pk)
    if refused:
        return refused
    require(request.user, service.MIGRATE_ACTION, target.obj)
    found = get_object_or_404(FederationMigration, pk=migration_pk, federation=target.obj)
    try:
        expected = int(request.POST.get("step", ""))
    except ValueError:
        expected = None
    try:
        move(request.user, target, found.pk, expected)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except KubeError as error:
        messages.error(request, error.message)
    return redirect("federation:migration", pk=target.obj.pk, migration_pk=found.pk)


@iam_page("federations:get", "federations:deploy")
@login_required
@require_POST
def migration_advance(request, pk, migration_pk):
    """The next step (offered once the target's replicas of this one are ready)."""
    return _move(request, pk, migration_pk, service.advance)


@iam_page("federations:get", "federations:deploy")
@login_required
@require_POST
def migration_rollback(request, pk, migration_pk):
    """Back one step."""
    return _move(request, pk, migration_pk, service.rollback)
