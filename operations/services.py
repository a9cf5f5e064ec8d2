"""Every write of operations: starting and running diagnoses and inspections, confirming
abnormal items, schedules and waivers. Each checks permission, writes in one transaction,
audits, and sends `signals.run_due` for the worker (operations/tasks.py enqueues it)."""
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from cceone.audit.services import record
from cceone.iam.access import can, require, restrict
from cceone.kube.gateway import KubeError
from cceone.queue import stale_before
from clusters.models import RegisteredCluster
from resources.targets import Unavailable, resolve

from . import signals
from .findings import ABNORMAL
from .models import ACTIVE, Confirmation, Diagnosis, Inspection, RunStatus
from .reader import CountingSystemApi, CountingUserApi

DIAGNOSE = "clusters:diagnose"
INSPECT = "clusters:inspect"
CONFIGURE = "clusters:configure-inspection"


# --- where a user may act ----------------------------------------------------------------------

def clusters_for(user, action: str, running_only: bool = True):
    """The clusters `action` is granted on, account-wide or by a policy scoped to them."""
    clusters = RegisteredCluster.objects.filter(status="running") if running_only else \
        RegisteredCluster.objects.exclude(status="unsubscribed")
    return restrict(clusters, user, action).order_by("name")


def may_somewhere(user, action: str) -> bool:
    """Whether the user may `action` on some cluster: what a form that picks the cluster
    (a new diagnosis, an API call naming the cluster in its body) needs before it opens.
    A grant scoped to one cluster counts; the chosen cluster is then checked itself."""
    return can(user, action) or clusters_for(user, action, running_only=False).exists()


def require_somewhere(user, action: str) -> None:
    """403 (audited, through `require`) unless the user may `action` on some cluster."""
    if not may_somewhere(user, action):
        require(user, action)


# --- running a run ------------------------------------------------------------------------------

def _claim(model, run_id: int, attempt: int | None):
    """The run to work on now, marked running; None when it is done or a newer attempt owns it."""
    with transaction.atomic():
        run = model.objects.select_for_update(of=("self",)).select_related("cluster", "requested_by").filter(pk=run_id).first()
        if run is None or run.status not in ACTIVE or (attempt is not None and attempt != run.attempt):
            return None
        run.status, run.started_at = RunStatus.RUNNING, run.started_at or timezone.now()
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["status", "started_at", "heartbeat_at"])
        return run


def beat(run, done: int, total: int) -> None:
    """Progress and heartbeat, written as the checks go (the page polls it)."""
    run.checks_done, run.checks_total, run.heartbeat_at = done, total, timezone.now()
    type(run).objects.filter(pk=run.pk, attempt=run.attempt).update(
        checks_done=done, checks_total=total, heartbeat_at=run.heartbeat_at)


def fail(run, message: str, params: dict | None = None) -> None:
    run.status, run.message, run.message_params = RunStatus.FAILED, message, params or {}
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "message_params", "finished_at"])


def _unavailable_reason(cluster, error: Exception) -> tuple[str, dict]:
    """Why a cluster cannot be read, as a msgid: disconnected or frozen clusters say so."""
    status = cluster.status
    if status == "disconnected":
        return N_("Cluster %(name)s is disconnected: its agent has not reported since %(since)s. The run could not "
                  "read it."), {"name": cluster.name, "since": str(cluster.last_heartbeat_at or "--")[:19]}
    if status == "frozen":
        return N_("Cluster %(name)s is frozen because the account is in arrears. Top up the balance to run "
                  "diagnoses and inspections again."), {"name": cluster.name}
    if status != "running":
        return N_("Cluster %(name)s is not running (%(status)s)."), {"name": cluster.name, "status": status}
    return N_("The cluster could not be read: %(message)s"), {"message": str(error)}


# --- diagnosis ----------------------------------------------------------------------------------

def start_diagnosis(user, cluster, kind: str, namespace: str, name: str) -> Diagnosis:
    require(user, DIAGNOSE, cluster)
    errors = {}
    if kind not in Diagnosis.Kind.values:
        errors["kind"] = _("Choose Pod, Node, Service or Ingress.")
    if not name or len(name) > 253:
        errors["name"] = _("Enter the name of the object to diagnose.")
    if kind != Diagnosis.Kind.NODE and not namespace:
        errors["namespace"] = _("Enter the namespace of the object.")
    if errors:
        raise ValidationError(errors)
    if cluster.status != "running":
        raise ValidationError(_("Cluster %(name)s cannot be diagnosed while it is %(status)s.")
                              % {"name": cluster.name, "status": cluster.get_status_display()})
    with transaction.atomic():
        diagnosis = Diagnosis.objects.create(cluster=cluster, requested_by=user, kind=kind,
                                             namespace="" if kind == Diagnosis.Kind.NODE else namespace, name=name)
        record(user, "clusters:diagnose", cluster, details={"diagnosis": diagnosis.pk, "kind": kind,
                                                            "namespace": namespace, "name": name})
        signals.run_due.send(Diagnosis, run=diagnosis)
    return diagnosis


def run_diagnosis(diagnosis_id: int, attempt: int | None = None) -> None:
    """Idempotent: a redelivered or resent message runs the checks again from the start."""
    from .diagnosis import Context, run_checks

    diagnosis = _claim(Diagnosis, diagnosis_id, attempt)
    if diagnosis is None:
        return
    cluster, user = diagnosis.cluster, diagnosis.requested_by
    try:
        # Who started it must still be allowed to: the object is read as them.
        target = resolve("cluster", user, cluster.pk)
        context = Context(CountingUserApi(target.obj, user), CountingSystemApi(target.obj),
                          diagnosis.kind, diagnosis.namespace, diagnosis.name)
        context.load()
        results = run_checks(context, on_progress=lambda done, total: beat(diagnosis, done, total))
    except Unavailable as error:
        cluster.refresh_from_db()
        return fail(diagnosis, *_unavailable_reason(cluster, error))
    except KubeError as error:
        cluster.refresh_from_db()
        if error.status == 404:
            return fail(diagnosis, N_("%(kind)s %(name)s was not found in the cluster."),
                        {"kind": diagnosis.get_kind_display(), "name": diagnosis.object_label})
        if error.status == 403:
            return fail(diagnosis, N_("Kubernetes refused the read: %(message)s"), {"message": error.message})
        return fail(diagnosis, *_unavailable_reason(cluster, error))
    except (Http404, PermissionDenied):
        return fail(diagnosis, N_("The user who started this run may no longer diagnose this cluster."), {})
    with transaction.atomic():
        updated = Diagnosis.objects.filter(pk=diagnosis.pk, attempt=diagnosis.attempt, status=RunStatus.RUNNING).update(
            results=results, status=RunStatus.SUCCEEDED, finished_at=timezone.now(),
            abnormal_count=sum(1 for r in results if r["status"] == ABNORMAL),
            checks_done=len(results), checks_total=len(results))
    return updated


def confirm_item(user, diagnosis: Diagnosis, check_id: str, note: str) -> Confirmation:
    """The user confirms an abnormal item (the manual: abnormal items need confirmation)."""
    require(user, DIAGNOSE, diagnosis.cluster)
    item = next((r for r in diagnosis.results if r["check"] == check_id), None)
    if item is None or item["status"] != ABNORMAL:
        raise ValidationError({"check": _("Only an abnormal item of this report can be confirmed.")})
    if len(note) > 2000:
        raise ValidationError({"note": _("Keep the note under 2000 characters.")})
    with transaction.atomic():
        confirmation, created = Confirmation.objects.get_or_create(
            diagnosis=diagnosis, check_id=check_id,
            defaults={"user": user, "user_name": user.get_username(), "note": note})
        if not created:
            raise ValidationError({"check": _("This item was already confirmed by %(user)s.")
                                   % {"user": confirmation.user_name}})
        record(user, "clusters:diagnose", diagnosis.cluster,
               details={"diagnosis": diagnosis.pk, "confirmed": check_id, "note": note})
    return confirmation


# --- recovery -----------------------------------------------------------------------------------

def recover_stalled_runs() -> dict:
    """Every minute (beat): active runs whose heartbeat stopped (a killed worker took their
    message) are sent again under a new attempt, or failed with the reason once resent too often."""
    counts = {"resent": 0, "failed": 0}
    limit = settings.CCEONE_RECOVERY_MAX_RESUMES
    for model in (Diagnosis, Inspection):
        for run in model.objects.filter(status__in=ACTIVE, heartbeat_at__lt=stale_before()):
            with transaction.atomic():
                claimed = model.objects.filter(pk=run.pk, status__in=ACTIVE, heartbeat_at=run.heartbeat_at).update(
                    attempt=F("attempt") + 1, heartbeat_at=timezone.now())
                if not claimed:
                    continue
                run.refresh_from_db()
                if run.attempt > limit:
                    fail(run, N_("The run stopped making progress: the worker running it was lost %(count)s times. "
                                 "Start it again."), {"count": run.attempt})
                    counts["failed"] += 1
                    continue
                run.status = RunStatus.PENDING
                run.message = N_("Sent again after the worker running it was lost (attempt %(attempt)s of %(limit)s).")
                run.message_params = {"attempt": run.attempt, "limit": limit}
                run.save(update_fields=["status", "message", "message_params"])
                signals.run_due.send(model, run=run)
                counts["resent"] += 1
    return counts


# --- inspection ---------------------------------------------------------------------------------

def start_inspection(user, cluster, trigger=Inspection.Trigger.MANUAL) -> Inspection:
    """Run now (a user), or a schedule firing (user None: the schedule's author was checked when saved)."""
    if user is not None:
        require(user, INSPECT, cluster)
    if cluster.status != "running":
        if user is not None:
            raise ValidationError(_("Cluster %(name)s cannot be inspected while it is %(status)s.")
                                  % {"name": cluster.name, "status": cluster.get_status_display()})
    with transaction.atomic():
        inspection = Inspection.objects.create(cluster=cluster, requested_by=user, trigger=trigger)
        if cluster.status != "running":
            fail(inspection, *_unavailable_reason(cluster, Exception("")))
            return inspection
        record(user, "clusters:inspect", cluster, details={"inspection": inspection.pk, "trigger": trigger})
        signals.run_due.send(Inspection, run=inspection)
    return inspection


def start_scheduled_inspection(schedule_id: int):
    from .models import InspectionSchedule

    schedule = InspectionSchedule.objects.select_related("cluster").filter(pk=schedule_id, enabled=True).first()
    if schedule is None:
        return None
    return start_inspection(None, schedule.cluster, Inspection.Trigger.SCHEDULE)


def active_waivers(cluster, now=None):
    from .models import Waiver

    now = now or timezone.now()
    return [w for w in Waiver.objects.filter(cluster=cluster, revoked_at__isnull=True, expires_at__gt=now)]


def apply_waivers(findings: list[dict], waivers) -> None:
    for finding in findings:
        waiver = next((w for w in waivers if w.covers(finding)), None)
        finding["waived"] = waiver.pk if waiver else None


def run_inspection(inspection_id: int, attempt: int | None = None):
    from .inspection import runner

    inspection = _claim(Inspection, inspection_id, attempt)
    if inspection is None:
        return None
    cluster = inspection.cluster
    api = CountingSystemApi(cluster)
    try:
        if cluster.status != "running":
            raise Unavailable(cluster.status)
        findings, weight, notes, inspected = runner.run(
            cluster, api, on_progress=lambda done, total: beat(inspection, done, total))
    except (Unavailable, KubeError) as error:
        cluster.refresh_from_db()
        return fail(inspection, *_unavailable_reason(cluster, error))
    apply_waivers(findings, active_waivers(cluster))
    previous = (Inspection.objects.filter(cluster=cluster, status=RunStatus.SUCCEEDED)
                .exclude(pk=inspection.pk).order_by("-finished_at", "-id").first())
    counts = {severity: sum(1 for f in findings if f["severity"] == severity and not f["waived"])
              for severity in ("critical", "warning", "info")}
    counts["waived"] = sum(1 for f in findings if f["waived"])
    score, diff = runner.score(findings, weight), runner.diff(findings, previous.findings if previous else None)
    with transaction.atomic():
        done = Inspection.objects.filter(pk=inspection.pk, attempt=inspection.attempt, status=RunStatus.RUNNING).update(
            findings=findings, counts=counts, score=score, notes=notes, diff=diff, objects_inspected=inspected,
            api_calls=api.calls, status=RunStatus.SUCCEEDED, finished_at=timezone.now())
        if done and previous is not None:
            new = set(diff.get("new", []))
            new_critical = [f for f in findings
                            if f["severity"] == "critical" and not f["waived"] and runner.key(f) in new]
            dropped = previous.score is not None and score < previous.score
            if dropped or new_critical:
                inspection.refresh_from_db()
                signals.inspection_completed.send(Inspection, inspection=inspection, previous=previous,
                                                  dropped=dropped, new_critical=new_critical)
    return inspection


# --- schedules ----------------------------------------------------------------------------------

def save_schedule(user, cluster, values: dict, enabled: bool = True):
    """Create or change the cluster's schedule: one crontab entry of django-celery-beat."""
    import json

    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from . import schedules
    from .models import InspectionSchedule

    require(user, CONFIGURE, cluster)
    cleaned = schedules.validate(values)
    with transaction.atomic():
        crontab, _created = CrontabSchedule.objects.get_or_create(**cleaned)
        schedule = InspectionSchedule.objects.select_for_update().filter(cluster=cluster).first()
        if schedule is None:
            task = PeriodicTask.objects.create(name=f"operations: inspect cluster {cluster.pk}", task=schedules.TASK,
                                               crontab=crontab, enabled=enabled)
            schedule = InspectionSchedule(cluster=cluster, periodic_task=task, created_by=user)
        else:
            task = schedule.periodic_task
            task.crontab, task.enabled = crontab, enabled
        for name, value in cleaned.items():
            setattr(schedule, name, value)
        schedule.enabled = enabled
        schedule.save()
        task.args = json.dumps([schedule.pk])
        task.save()
        record(user, "clusters:configure-inspection", cluster,
               details={"schedule": schedules.describe(schedule), "enabled": enabled})
    return schedule


def delete_schedule(user, schedule) -> None:
    require(user, CONFIGURE, schedule.cluster)
    with transaction.atomic():
        task = schedule.periodic_task
        schedule.delete()
        task.delete()
        record(user, "clusters:configure-inspection", schedule.cluster, details={"schedule": "deleted"})


# --- waivers ------------------------------------------------------------------------------------

def create_waiver(user, cluster, *, check_id: str, namespace: str, kind: str, name: str, reason: str, expires_at):
    from .inspection import CHECKS
    from .models import Waiver

    require(user, CONFIGURE, cluster)
    errors = {}
    if check_id not in CHECKS:
        errors["check_id"] = _("Choose a check of the inspection.")
    if not reason.strip():
        errors["reason"] = _("Say why this finding is accepted.")
    if expires_at is None or expires_at <= timezone.now():
        errors["expires_at"] = _("The expiry must be in the future.")
    elif (expires_at - timezone.now()).days > 366:
        errors["expires_at"] = _("A waiver lasts at most one year.")
    if not namespace and not name:
        errors["name"] = _("Name the object, or at least its namespace.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        waiver = Waiver.objects.create(cluster=cluster, check_id=check_id, namespace=namespace, kind=kind, name=name,
                                       reason=reason.strip(), expires_at=expires_at, created_by=user)
        record(user, "clusters:configure-inspection", cluster,
               details={"waiver": waiver.pk, "check": check_id, "namespace": namespace, "name": name,
                        "expires_at": expires_at.isoformat(), "reason": waiver.reason})
    return waiver


def revoke_waiver(user, waiver) -> None:
    require(user, CONFIGURE, waiver.cluster)
    with transaction.atomic():
        waiver.revoked_at = timezone.now()
        waiver.save(update_fields=["revoked_at"])
        record(user, "clusters:configure-inspection", waiver.cluster, details={"waiver": waiver.pk, "revoked": True})
