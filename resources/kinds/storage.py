"""PersistentVolumeClaims, PersistentVolumes and StorageClasses."""
from django.utils.translation import gettext_lazy as _

from .. import related
from ..formatting import memory, meta, spec, status
from ..create_forms import PersistentVolumeClaimForm, PersistentVolumeForm, StorageClassForm
from ..registry import Column, Kind, register
from .common import phase_status


def _access_modes(obj: dict, _ctx=None) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    modes = spec(obj).get("accessModes") or status(obj).get("accessModes") or []
    return ", ".join(short.get(m, m) for m in modes) or "--"


def _pvc_capacity(obj: dict, _ctx=None) -> str:
    quantity = (status(obj).get("capacity") or {}).get("storage") or \
        ((spec(obj).get("resources") or {}).get("requests") or {}).get("storage")
    return memory(quantity) if quantity else "--"


def _pv_claim(obj: dict, _ctx=None) -> str:
    ref = spec(obj).get("claimRef") or {}
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("name") else "--"


_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


register(Kind(
    "PersistentVolumeClaim", "persistentvolumeclaims", "", "v1", True, "storage", _("PersistentVolumeClaims"),
    _("PersistentVolumeClaim"),
    columns=(Column(_("Volume"), lambda o, c: spec(o).get("volumeName") or "--"),
             Column(_("Capacity"), _pvc_capacity), Column(_("Access modes"), _access_modes),
             Column(_("Storage class"), lambda o, c: spec(o).get("storageClassName") or "--")),
    status=phase_status, related=related.claim_volume, create_form=PersistentVolumeClaimForm,
    summary=lambda o: [(_("Capacity"), _pvc_capacity(o)), (_("Access modes"), _access_modes(o)),
                       (_("Storage class"), spec(o).get("storageClassName") or "--"),
                       (_("Volume mode"), spec(o).get("volumeMode") or "Filesystem")],
    template="""apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: my-claim
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: 1Gi
""",
))

register(Kind(
    "PersistentVolume", "persistentvolumes", "", "v1", False, "storage", _("PersistentVolumes"),
    _("PersistentVolume"),
    columns=(Column(_("Capacity"), lambda o, c: memory((spec(o).get("capacity") or {}).get("storage"))),
             Column(_("Access modes"), _access_modes),
             Column(_("Reclaim policy"), lambda o, c: spec(o).get("persistentVolumeReclaimPolicy") or "--"),
             Column(_("Claim"), _pv_claim),
             Column(_("Storage class"), lambda o, c: spec(o).get("storageClassName") or "--")),
    status=phase_status, related=related.volume_claim, create_form=PersistentVolumeForm,
    summary=lambda o: [(_("Capacity"), memory((spec(o).get("capacity") or {}).get("storage"))),
                       (_("Access modes"), _access_modes(o)),
                       (_("Reclaim policy"), spec(o).get("persistentVolumeReclaimPolicy") or "--"),
                       (_("Claim"), _pv_claim(o)), (_("Storage class"), spec(o).get("storageClassName") or "--")],
    template="""apiVersion: v1
kind: PersistentVolume
metadata:
  name: my-volume
spec:
  capacity:
    storage: 10Gi
  accessModes: ["ReadWriteOnce"]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: standard
  hostPath:
    path: /data/my-volume
""",
))

register(Kind(
    "StorageClass", "storageclasses", "storage.k8s.io", "v1", False, "storage", _("StorageClasses"),
    _("StorageClass"),
    columns=(Column(_("Provisioner"), lambda o, c: o.get("provisioner") or "--"),
             Column(_("Reclaim policy"), lambda o, c: o.get("reclaimPolicy") or "Delete"),
             Column(_("Binding mode"), lambda o, c: o.get("volumeBindingMode") or "Immediate"),
             Column(_("Default"), lambda o, c: _("Yes") if (meta(o).get("annotations") or {}).get(_DEFAULT_CLASS) == "true"
                    else _("No"))),
    conditions=False, show_status=False, create_form=StorageClassForm,
    summary=lambda o: [(_("Provisioner"), o.get("provisioner") or "--"),
                       (_("Reclaim policy"), o.get("reclaimPolicy") or "Delete"),
                       (_("Binding mode"), o.get("volumeBindingMode") or "Immediate"),
                       (_("Allow volume expansion"), _("Yes") if o.get("allowVolumeExpansion") else _("No")),
                       (_("Parameters"), ", ".join(f"{k}={v}" for k, v in (o.get("parameters") or {}).items()) or "--")],
    template="""apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: my-class
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
""",
))
