"""Namespaces."""
from django.utils.translation import gettext_lazy as _

from ..formatting import meta
from ..create_forms import NamespaceForm
from ..namespace_choice import namespace_written
from ..registry import Column, DeleteConfirmation, Kind, register
from .common import phase_status

NAMESPACE_TEMPLATE = """apiVersion: v1
kind: Namespace
metadata:
  name: my-namespace
  labels: {}
"""

register(Kind(
    "Namespace", "namespaces", "", "v1", False, "cluster", _("Namespaces"), _("Namespace"),
    columns=(Column(_("Labels"), lambda o, c: ", ".join(f"{k}={v}" for k, v in (meta(o).get("labels") or {}).items()
                                                        if not k.startswith("kubernetes.io/")) or "--"),),
    status=phase_status, template=NAMESPACE_TEMPLATE, conditions=False, create_form=NamespaceForm,
    delete_confirmation=DeleteConfirmation(
        warning=_("Deleting a namespace deletes every object in it. This cannot be undone."),
        refusal=_("Type the namespace's name, %(name)s, to confirm.")),
    after_write=namespace_written, is_namespace=True,
))
