"""ConfigMaps."""
from django.utils.translation import gettext_lazy as _

from ..create_forms import ConfigMapForm
from ..registry import Column, Kind, register


def _data(view, configmap) -> dict:
    return {"config_data": sorted((configmap.get("data") or {}).items())}


register(Kind(
    "ConfigMap", "configmaps", "", "v1", True, "configuration", _("ConfigMaps"), _("ConfigMap"),
    columns=(Column(_("Data"), lambda o, c: len(o.get("data") or {}) + len(o.get("binaryData") or {})),),
    conditions=False, show_status=False, create_form=ConfigMapForm,
    detail_context=_data, detail_template="resources/partials/configmap_data.html",
    template="""apiVersion: v1
kind: ConfigMap
metadata:
  name: my-config
data:
  key: value
""",
))
