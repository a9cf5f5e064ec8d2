"""The federation's Kubernetes permissions (R2.3, R5.4): its fleet's associations (presets and
custom permissions) written into its Karmada API server as RBAC objects by the same code that
writes them into clusters (`permissions.sync.apply`), for the users who may view the
federation; the main account and the federation's creator are administrators. Users reach it
with their federation kubeconfig, impersonated by the hub, so this RBAC decides."""
import logging

from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from cceone.kube.gateway import KubeError
from permissions import sync
from permissions.effective import grants_for

from .models import Federation

log = logging.getLogger(__name__)

SYNCABLE = (Federation.Status.RUNNING, Federation.Status.CHANGING)


def grants(federation: Federation):
    return grants_for(federation, source=federation.fleet, read_action="federations:get")


def apply(federation_id: int) -> dict | None:
    """Write the federation's RBAC (idempotent: only the difference). None when it is not
    running; a failure is audited and raised for the task's retry."""
    federation = Federation.objects.select_related("fleet", "control_plane", "account").filter(pk=federation_id).first()
    if federation is None or federation.status not in SYNCABLE or federation.control_plane_id is None:
        return None
    try:
        summary = sync.apply(federation, grants(federation), target_type="federation")
    except KubeError as error:
        record(None, "permissions:sync", federation, account=federation.account, result=AuditEvent.Result.FAILED,
               details={"error": str(error)})
        raise
    if summary.get("created") or summary.get("updated") or summary.get("deleted"):
        record(None, "permissions:sync", federation, account=federation.account,
               details={k: summary[k] for k in ("created", "updated", "deleted")})
    return summary
