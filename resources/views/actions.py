"""Changes to one object from its detail page: scale, restart, labels, a node's
scheduling and taints, a secret's reveal. Each POSTs to a service, then shows the detail
page again with what happened."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext as _

from cceone.kube.gateway import KubeError

from .. import services
from ..forms import LabelsForm, TaintForm
from .base import ResourceView
from .crud import ResourceDetail


class ObjectAction(ResourceView):
    """A POST that changes the object through a service, then shows its detail page."""

    writes = True

    def post(self, request, **kwargs):
        try:
            message = self.perform(request)
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
            return self.redirect_detail()
        messages.success(request, message)
        return self.redirect_detail()

    def get(self, request, **kwargs):
        return self.redirect_detail()


class Scale(ObjectAction):
    def perform(self, request):
        services.scale(request.user, self.target, self.kind, self.namespace, self.name, request.POST.get("replicas"))
        return _("Scaled %(kind)s %(name)s to %(replicas)s replicas.") % {
            "kind": self.kind.kind, "name": self.name, "replicas": request.POST.get("replicas")}


class Restart(ObjectAction):
    def perform(self, request):
        services.restart(request.user, self.target, self.kind, self.namespace, self.name)
        return _("Restarting %(kind)s %(name)s: its pods are being replaced.") % {"kind": self.kind.kind,
                                                                                  "name": self.name}


class Cordon(ObjectAction):
    kind_action = "cordon"

    def perform(self, request):
        on = request.POST.get("unschedulable") != "false"
        services.cordon(request.user, self.target, self.name, on)
        return (_("Node %(name)s cordoned: no new pods are scheduled on it.") if on
                else _("Node %(name)s uncordoned.")) % {"name": self.name}


class Taints(ObjectAction):
    kind_action = "taints"

    def perform(self, request):
        if request.POST.get("remove"):
            key, _sep, effect = request.POST["remove"].rpartition(":")
            services.remove_taint(request.user, self.target, self.name, key, effect)
            return _("Taint %(taint)s removed.") % {"taint": request.POST["remove"]}
        form = TaintForm(request.POST)
        if not form.is_valid():
            raise ValidationError([f"{form.fields[f].label}: {e}" for f, errors in form.errors.items() for e in errors])
        data = form.cleaned_data
        services.add_taint(request.user, self.target, self.name, data["key"], data["value"], data["effect"])
        return _("Taint %(key)s:%(effect)s added.") % data


class Labels(ResourceView):
    writes = True

    def get(self, request, **kwargs):
        return self.redirect_detail()

    def post(self, request, **kwargs):
        form = LabelsForm(request.POST)
        if form.is_valid():
            try:
                services.set_labels(request.user, self.target, self.kind, self.namespace, self.name,
                                    form.cleaned_data["labels"], form.cleaned_data["resource_version"])
            except KubeError as error:
                if error.status not in (409, 422):
                    raise
                messages.error(request, error.message if error.status == 422 else _(
                    "Someone else changed this %(kind)s meanwhile; the labels were not saved. Here they are as they "
                    "are now.") % {"kind": self.kind.kind})
                return self.redirect_detail()
            messages.success(request, _("Labels of %(name)s saved.") % {"name": self.name})
            return self.redirect_detail()
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, error)
        return self.redirect_detail()


class RevealSecret(ResourceDetail):
    kind_action = "reveal"

    def post(self, request, **kwargs):
        key = request.POST.get("key", "")
        values = services.reveal_secret(request.user, self.target, self.namespace, self.name, key)
        if request.htmx:
            return render(request, "resources/partials/secret_value.html", {"key": key, "value": values[key]})
        obj = self.api.get(self.kind, self.name, self.namespace)
        return self.render("resources/detail.html", self.detail_context(obj, revealed=values))
