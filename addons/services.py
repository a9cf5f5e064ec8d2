"""Every write of add-ons, with its checks and audit (requests), and the work a worker does
(`run`): apply a version's objects or delete the add-on's labelled objects, step by step."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_  # step names and messages: translated when shown

from cceone.audit.models import AuditEvent, OperationLog
from cceone.audit.services import Operation, record
from cceone.iam.access import require
from cceone.kube.gateway import KubeError

from . import catalogue, signals
from .models import AddonInstallation

VIEW, INSTALL, UPGRADE, UNINSTALL = "clusters:get", "addons:install", "addons:upgrade", "addons:uninstall"
Status = AddonInstallation.Status
WORKLOAD_KINDS = (("apps/v1", "Deployment"), ("apps/v1", "DaemonSet"))


def _addon(name: str) -> catalogue.Addon:
    addon = catalogue.get(name)
    if addon is None:
        raise ValidationError({"addon": _("There is no add-on %(name)s in the catalogue.") % {"name": name}})
    return addon


def _reachable(cluster) -> None:
    if cluster.status not in ("running", "changing"):
        raise ValidationError(_("Cluster %(name)s is not running, so its add-ons cannot be changed now.")
                              % {"name": cluster.name})


def _start(user, installation, operation, step, message, params, action):
    installation.run += 1
    installation.done = installation.total = 0
    installation.message, installation.message_params = "", {}
    installation.requested_by, installation.updated_at = user, timezone.now()
    op = Operation.start(installation, operation)
    op.step(step, message, params)
    installation.operation = op.log
    installation.save()
    record(user, action, installation, details={"addon": installation.addon, "cluster": installation.cluster_id,
                                                "version": installation.target_version or installation.version,
                                                "parameters": installation.target_parameters})
    signals.addon_due.send(AddonInstallation, installation=installation, operation=op)
    return installation


def install(user, cluster, name: str, version: str, values: dict) -> AddonInstallation:
    require(user, VIEW, cluster)
    require(user, INSTALL, cluster)
    addon = _addon(name)
    parameters = addon.clean(version or addon.latest, values)
    _reachable(cluster)
    with transaction.atomic():
        installation, _created = AddonInstallation.objects.select_for_update().get_or_create(
            cluster=cluster, addon=addon.name, defaults={"status": Status.UNINSTALLED})
        if installation.busy:
            raise ValidationError(_("%(addon)s is %(status)s: wait for it to finish.")
                                  % {"addon": str(addon.title), "status": installation.get_status_display().lower()})
        if installation.version:
            raise ValidationError(_("%(addon)s %(version)s is already installed: upgrade or uninstall it.")
                                  % {"addon": str(addon.title), "version": installation.version})
        installation.status = Status.INSTALLING
        installation.target_version, installation.target_parameters = version or addon.latest, parameters
        return _start(user, installation, OperationLog.Operation.CREATE, N_("Installation requested"),
                      N_("%(user)s asked for %(addon)s %(version)s."),
                      {"user": user.get_username(), "addon": str(addon.title), "version": installation.target_version},
                      INSTALL)


def upgrade(user, installation: AddonInstallation, version: str, values: dict) -> AddonInstallation:
    """A new version and/or new parameters for an installed add-on (the same version re-applies)."""
    require(user, VIEW, installation.cluster)
    require(user, UPGRADE, installation.cluster)
    addon = installation.spec
    parameters = addon.clean(version, values)
    _reachable(installation.cluster)
    with transaction.atomic():
        installation = AddonInstallation.objects.select_for_update().select_related("cluster").get(pk=installation.pk)
        if installation.busy or not installation.version:
            raise ValidationError(_("Only an installed add-on can be upgraded."))
        if addon.versions.index(version) < addon.versions.index(installation.version):
            raise ValidationError({"version": _("%(version)s is older than the installed %(installed)s: uninstall "
                                                "and install it to go back.") % {"version": version,
                                                                                 "installed": installation.version}})
        installation.status = Status.UPGRADING
        installation.target_version, installation.target_parameters = version, parameters
        return _start(user, installation, OperationLog.Operation.UPGRADE, N_("Upgrade requested"),
                      N_("%(user)s asked for %(addon)s %(from)s → %(version)s."),
                      {"user": user.get_username(), "addon": str(addon.title), "from": installation.version,
                       "version": version}, UPGRADE)


def uninstall(user, installation: AddonInstallation) -> AddonInstallation:
    require(user, VIEW, installation.cluster)
    require(user, UNINSTALL, installation.cluster)
    _reachable(installation.cluster)
    with transaction.atomic():
        installation = AddonInstallation.objects.select_for_update().select_related("cluster").get(pk=installation.pk)
        if installation.busy or installation.status == Status.UNINSTALLED:
            raise ValidationError(_("Only an installed (or failed) add-on can be uninstalled."))
        installation.status = Status.UNINSTALLING
        installation.target_version, installation.target_parameters = "", {}
        return _start(user, installation, OperationLog.Operation.CHANGE, N_("Uninstall requested"),
                      N_("%(user)s asked to uninstall %(addon)s."),
                      {"user": user.get_username(), "addon": str(installation.spec.title)}, UNINSTALL)


# --- the work (a Celery task each: addons.tasks.run_addon) -----------------------------------------

def _progress(installation, done=None, total=None, message="", params=None):
    fields = {"updated_at": timezone.now()}
    if done is not None:
        fields["done"] = done
    if total is not None:
        fields["total"] = total
    if message:
        fields.update(message=message, message_params=params or {})
    AddonInstallation.objects.filter(pk=installation.pk, run=installation.run).update(**fields)


def _key(obj: dict) -> tuple:
    meta = obj.get("metadata") or {}
    return obj["kind"], meta.get("namespace") or "", meta["name"]


def run(installation_id: int, run_number: int) -> None:
    """Carry an installation's operation through. Idempotent: apply is server-side apply, a delete
    of what is gone is nothing; a message of an earlier run (or for finished work) does nothing."""
    from .kube import Cluster

    installation = (AddonInstallation.objects.select_related("cluster__account", "operation")
                    .filter(pk=installation_id).first())
    if installation is None or installation.run != run_number or not installation.busy:
        return
    op = Operation(installation.operation)
    try:
        kube = Cluster(installation.cluster)
        if installation.status == Status.UNINSTALLING:
            _uninstall(installation, op, kube)
        else:
            _apply(installation, op, kube)
    except (KubeError, _Conflict) as error:
        failed = N_("Failed: %(reason)s")
        _finish(installation, Status.FAILED, failed, {"reason": str(error)})
        op.fail(N_("Failed"), failed, {"reason": str(error)})


class _Conflict(Exception):
    pass


def _apply(installation, op, kube) -> None:
    addon, version = installation.spec, installation.target_version
    objects = addon.render(version, installation.target_parameters)
    _progress(installation, 0, len(objects))
    for obj in objects:
        live = kube.get(obj)
        owner = ((live or {}).get("metadata", {}).get("labels") or {}).get(catalogue.LABEL_NAME)
        if live is not None and owner != addon.name:
            raise _Conflict(_("%(kind)s %(name)s already exists and was not installed by %(addon)s: remove it or "
                              "rename it first.") % {"kind": obj["kind"], "name": "/".join(_key(obj)[1:]).lstrip("/"),
                                                     "addon": str(addon.title)})
    for done, obj in enumerate(objects, 1):
        kube.apply(obj)
        _progress(installation, done)
        op.step(N_("Apply"), N_("%(kind)s %(name)s applied (server-side apply, field manager %(manager)s)."),
                {"kind": obj["kind"], "name": "/".join(_key(obj)[1:]).lstrip("/"), "manager": catalogue.FIELD_MANAGER})
    wanted = {_key(obj) for obj in objects}
    for api_version, kind in addon.kinds():  # an upgrade prunes what the new version no longer has
        for live in kube.labelled(api_version, kind, addon.name):
            if _key(live) not in wanted and kube.delete(live):
                op.step(N_("Prune"), N_("%(kind)s %(name)s removed: version %(version)s no longer has it."),
                        {"kind": kind, "name": "/".join(_key(live)[1:]).lstrip("/"), "version": version})
    done = N_("%(addon)s %(version)s installed.")
    _finish(installation, Status.INSTALLED, done, {"addon": str(addon.title), "version": version},
            version=version, parameters=installation.target_parameters)
    op.step(N_("Installed"), done, {"addon": str(addon.title), "version": version})
    op.finish()


def _uninstall(installation, op, kube) -> None:
    addon = installation.spec
    found = [live for api_version, kind in addon.kinds() for live in kube.labelled(api_version, kind, addon.name)]
    _progress(installation, 0, len(found))
    for done, live in enumerate(found, 1):
        if kube.delete(live):
            op.step(N_("Delete"), N_("%(kind)s %(name)s deleted."),
                    {"kind": live["kind"], "name": "/".join(_key(live)[1:]).lstrip("/")})
        _progress(installation, done)
    done = N_("%(addon)s uninstalled: %(count)s objects deleted.")
    _finish(installation, Status.UNINSTALLED, done, {"addon": str(addon.title), "count": len(found)}, version="",
            parameters={})
    op.step(N_("Uninstalled"), done, {"addon": str(addon.title), "count": len(found)})
    op.finish()


def _finish(installation, status, message, params, **fields):
    AddonInstallation.objects.filter(pk=installation.pk, run=installation.run).update(
        status=status, message=message, message_params=params, updated_at=timezone.now(), **fields)


def recover_stalled() -> dict:
    """Every minute (beat): operations whose worker was lost are sent again under the same run
    (the work is idempotent), or failed once resumed too often."""
    counts = {"resumed": 0, "failed": 0}
    for op in Operation.stalled(AddonInstallation.audit_type):
        if not op.claim():
            continue
        installation = AddonInstallation.objects.filter(pk=op.log.target_id, operation=op.log).first()
        if installation is None or not installation.busy:
            op.finish(OperationLog.Status.FAILED)
            continue
        if op.log.resumes > settings.CCEONE_RECOVERY_MAX_RESUMES:
            lost = N_("Stopped making progress: the worker running it was lost %(count)s times.")
            _finish(installation, Status.FAILED, lost, {"count": op.log.resumes})
            op.fail(N_("Failed"), lost, {"count": op.log.resumes})
            record(None, "addons:lost", installation, account=installation.account,
                   result=AuditEvent.Result.FAILED, details={"resumes": op.log.resumes})
            counts["failed"] += 1
        else:
            op.resend()
            counts["resumed"] += 1
    return counts


# --- reads ---------------------------------------------------------------------------------------

def rows(cluster) -> list[dict]:
    """The catalogue with this cluster's installations (one query)."""
    installed = {i.addon: i for i in AddonInstallation.objects.filter(cluster=cluster)}
    return [{"addon": addon, "installation": installed.get(addon.name)} for addon in catalogue.ADDONS.values()]


def workloads(cluster) -> tuple[dict, str]:
    """{addon: [{"kind", "namespace", "name", "ready", "desired"}]} read live (two lists), and an
    error message when the cluster could not be read."""
    from .kube import Cluster

    found: dict[str, list] = {}
    try:
        kube = Cluster(cluster)
        for api_version, kind in WORKLOAD_KINDS:
            res = kube.resource(api_version, kind)
            if res is None:
                continue
            items = kube._call(res.get, label_selector=catalogue.LABEL_NAME).to_dict().get("items", [])
            for item in items:
                meta, spec, status = item["metadata"], item.get("spec") or {}, item.get("status") or {}
                if kind == "Deployment":
                    ready, desired = status.get("readyReplicas") or 0, spec.get("replicas", 1)
                else:
                    ready, desired = status.get("numberReady") or 0, status.get("desiredNumberScheduled") or 0
                found.setdefault(meta["labels"][catalogue.LABEL_NAME], []).append(
                    {"kind": kind, "namespace": meta.get("namespace", ""), "name": meta["name"], "ready": ready,
                     "desired": desired})
    except KubeError as error:
        return found, str(error)
    return found, ""
