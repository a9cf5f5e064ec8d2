"""Add-on pages of a cluster: the catalogue with what is installed and ready, and the install,
upgrade and uninstall forms. Thin: services judge and write; lookups go through iam.access."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cceone.console.views import add_validation_error
from cceone.iam.access import can, get_or_deny
from cceone.iam.routes import iam_page
from clusters.models import RegisteredCluster

from . import catalogue, services
from .forms import AddonForm
from .models import AddonInstallation

VIEW, INSTALL, UPGRADE, UNINSTALL = services.VIEW, services.INSTALL, services.UPGRADE, services.UNINSTALL


def _cluster(request, pk, *actions):
    return get_or_deny(RegisteredCluster.objects.select_related("account"), request.user, pk, VIEW, *actions)


def _addon(name):
    addon = catalogue.get(name)
    if addon is None:
        raise Http404(_("There is no add-on %(name)s in the catalogue.") % {"name": name})
    return addon


@iam_page(VIEW)
@login_required
def cluster_addons(request, pk):
    cluster = _cluster(request, pk)
    rows = services.rows(cluster)
    installed = any(r["installation"] and r["installation"].status != "uninstalled" for r in rows)
    workloads, error = services.workloads(cluster) if installed and cluster.status in ("running", "changing") \
        else ({}, "")
    for row in rows:
        row["workloads"] = workloads.get(row["addon"].name, [])
        row["ready"] = bool(row["workloads"]) and all(w["ready"] >= w["desired"] for w in row["workloads"])
    return render(request, "addons/cluster.html", {
        "cluster": cluster, "rows": rows, "workload_error": error,
        "busy": any(r["installation"] and r["installation"].busy for r in rows),
        "can_install": can(request.user, INSTALL, cluster), "can_upgrade": can(request.user, UPGRADE, cluster),
        "can_uninstall": can(request.user, UNINSTALL, cluster)})


def _form_page(request, cluster, addon, form, title, action_label):
    return render(request, "addons/form.html", {"cluster": cluster, "addon": addon, "form": form, "title": title,
                                                "action_label": action_label})


@iam_page(VIEW, INSTALL)
@login_required
def install(request, pk, addon):
    cluster = _cluster(request, pk, INSTALL)
    spec = _addon(addon)
    form = AddonForm(spec, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.install(request.user, cluster, spec.name, form.cleaned_data["version"], form.values())
            messages.success(request, _("Installing %(addon)s.") % {"addon": spec.title})
            return redirect("addons:cluster", pk=cluster.pk)
        except ValidationError as error:
            add_validation_error(form, error)
    return _form_page(request, cluster, spec, form, _("Install %(addon)s") % {"addon": spec.title}, _("Install"))


def _installation(cluster, addon):
    installation = AddonInstallation.objects.filter(cluster=cluster, addon=addon.name).select_related("cluster").first()
    if installation is None:
        raise Http404(_("%(addon)s is not installed on this cluster.") % {"addon": addon.title})
    return installation


@iam_page(VIEW, UPGRADE)
@login_required
def upgrade(request, pk, addon):
    cluster = _cluster(request, pk, UPGRADE)
    spec = _addon(addon)
    installation = _installation(cluster, spec)
    newer = spec.versions[spec.versions.index(installation.version):] if installation.version in spec.versions \
        else spec.versions
    form = AddonForm(spec, request.POST or None, versions=newer, initial_values=installation.parameters)
    if request.method == "POST" and form.is_valid():
        try:
            services.upgrade(request.user, installation, form.cleaned_data["version"], form.values())
            messages.success(request, _("Upgrading %(addon)s.") % {"addon": spec.title})
            return redirect("addons:cluster", pk=cluster.pk)
        except ValidationError as error:
            add_validation_error(form, error)
    return _form_page(request, cluster, spec, form, _("Upgrade or reconfigure %(addon)s") % {"addon": spec.title},
                      _("Apply"))


@iam_page(VIEW, UNINSTALL)
@login_required
def uninstall(request, pk, addon):
    cluster = _cluster(request, pk, UNINSTALL)
    spec = _addon(addon)
    installation = _installation(cluster, spec)
    error = ""
    if request.method == "POST":
        try:
            services.uninstall(request.user, installation)
            messages.success(request, _("Uninstalling %(addon)s.") % {"addon": spec.title})
            return redirect("addons:cluster", pk=cluster.pk)
        except ValidationError as failure:
            error = " ".join(failure.messages)
    return render(request, "addons/uninstall.html", {"cluster": cluster, "addon": spec, "installation": installation,
                                                     "error": error})
