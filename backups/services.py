"""Backup and restore operations (R3.12, R6.1). Each checks permission and its inputs,
writes in one transaction and audits; the long work (collect and upload, download and
restore) runs in `run_backup`/`run_restore`, sent by `tasks.py` on this app's signals.

Permissions: IAM decides (`backups:*`), and the clusters' own: backing up needs
`clusters:get` on the source, restoring `clusters:update` on the target (a dry run,
`clusters:get`). The work then reads and writes as the platform (the gateway's system
client): a backup must see every namespace chosen, whatever the user's RBAC there."""
import re
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as N_

from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from cceone.iam.access import require
from cceone.kube.gateway import KubeError
from cceone.queue import stale_before
from clusters.models import RegisteredCluster

from . import cleansing, collect, preflight, restore, signals, storage
from .kube import Client
from .models import FINISHED, Backup, BackupSchedule, Migration, Phase, Restore, StorageLocation

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")
NAME_RULE = gettext_lazy("2-63 characters: lowercase letters, digits and '-', starting with a letter and ending "
                         "with a letter or digit.")
LOCATION_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}[A-Za-z0-9]$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ACTIVE = (Phase.PENDING, Phase.RUNNING)


class Superseded(Exception):
    """This run was resumed elsewhere (a new `run`): stop without writing."""


# --- storage locations ------------------------------------------------------------------------

def save_location(user, location: StorageLocation | None, *, name: str, endpoint: str, region: str, bucket: str,
                  prefix: str, access_key: str, secret_key: str = "") -> StorageLocation:
    """Create or change a location; it is saved only once a probe object was written, read and
    deleted with it (nothing is stored when the bucket refuses). A blank secret key on a
    change keeps the stored one."""
    require(user, "backups:locations", location)
    name, bucket, prefix = name.strip(), bucket.strip(), prefix.strip().strip("/")
    errors = {}
    if not LOCATION_NAME_RE.match(name):
        errors["name"] = _("2-64 characters: letters, digits, '-' and '_', starting with a letter and ending with "
                           "a letter or digit.")
    if not re.match(r"^https?://[^/\s]+", endpoint or ""):
        errors["endpoint"] = _("Give the S3 endpoint's URL, e.g. https://oss.example.com.")
    if not BUCKET_RE.match(bucket):
        errors["bucket"] = _("A bucket name is 3-63 lowercase letters, digits, '.' and '-'.")
    if not access_key.strip():
        errors["access_key"] = _("Give the access key.")
    if location is None and not secret_key:
        errors["secret_key"] = _("Give the secret key.")
    if errors:
        raise ValidationError(errors)
    if StorageLocation.objects.filter(account=user.account, name__iexact=name).exclude(
            pk=getattr(location, "pk", None)).exists():
        raise ValidationError({"name": _("A storage location with this name exists.")})
    candidate = location or StorageLocation(account=user.account, creator=user)
    candidate.name, candidate.endpoint, candidate.region = name, endpoint.strip().rstrip("/"), region.strip()
    candidate.bucket, candidate.prefix, candidate.access_key = bucket, prefix, access_key.strip()
    if secret_key:
        candidate.secret_key = secret_key
    steps = storage.test_connection(candidate)
    failed = [message for _label, passed, message in steps if not passed]
    if failed:
        if location is not None:
            location.refresh_from_db()  # the instance the caller holds stays as stored
        raise ValidationError(_("The storage location was not saved: %(reason)s") % {"reason": failed[0]})
    candidate.last_checked_at, candidate.last_check_ok, candidate.last_check_message = timezone.now(), True, ""
    with transaction.atomic():
        candidate.save()
        record(user, "backups:locations", candidate,
               details={"operation": "create" if location is None else "update", "bucket": bucket,
                        "endpoint": candidate.endpoint})
    return candidate


def check_location(user, location: StorageLocation) -> list[tuple[str, bool, str]]:
    """Test the connection now (write, read and delete a probe object) and keep the outcome."""
    require(user, "backups:locations", location)
    steps = storage.test_connection(location)
    failed = [message for _label, passed, message in steps if not passed]
    location.last_checked_at, location.last_check_ok = timezone.now(), not failed
    location.last_check_message = failed[0] if failed else ""
    location.save(update_fields=["last_checked_at", "last_check_ok", "last_check_message"])
    record(user, "backups:locations", location, details={"operation": "test", "passed": not failed},
           result=AuditEvent.Result.SUCCESS if not failed else AuditEvent.Result.FAILED)
    return steps


def delete_location(user, location: StorageLocation) -> None:
    require(user, "backups:locations", location)
    if location.backups.exists() or location.schedules.exists():
        raise ValidationError(_("Backups or schedules still use storage location “%(name)s”: delete them first.")
                              % {"name": location.name})
    with transaction.atomic():
        record(user, "backups:locations", location, details={"operation": "delete"})
        location.delete()


# --- backups ----------------------------------------------------------------------------------

def _split(values) -> list[str]:
    if isinstance(values, str):
        values = re.split(r"[,\s]+", values)
    return [v.strip() for v in values or [] if v and v.strip()]


def validate_filters(namespaces, included, excluded, label_selector) -> dict:
    namespaces, included, excluded = _split(namespaces), _split(included), _split(excluded)
    bad = [n for n in namespaces if not re.match(r"^[a-z0-9*?\[\]-]{1,63}$", n)]
    if bad:
        raise ValidationError({"namespaces": _("“%(name)s” is not a namespace name or pattern.") % {"name": bad[0]}})
    if included and excluded and set(map(str.lower, included)) & set(map(str.lower, excluded)):
        raise ValidationError({"excluded_kinds": _("A kind cannot be both included and excluded.")})
    try:
        cleansing.parse_selector(label_selector)
    except ValueError as error:
        raise ValidationError({"label_selector": _("The label selector cannot be read near “%(term)s”.")
                               % {"term": error}}) from error
    return {"namespaces": namespaces, "included_kinds": included, "excluded_kinds": excluded,
            "label_selector": (label_selector or "").strip()}


def _require_cluster(user, cluster: RegisteredCluster, action: str) -> None:
    require(user, action, cluster)
    if cluster.status != RegisteredCluster.Status.RUNNING:
        raise ValidationError({"cluster": _("Cluster %(name)s is %(status)s: only a running cluster can be "
                                            "reached.") % {"name": cluster.name,
                                                            "status": cluster.get_status_display()}})


def start_backup(user, *, cluster: RegisteredCluster, location: StorageLocation, name: str, namespaces=(),
                 included_kinds=(), excluded_kinds=(), label_selector: str = "", include_pv_data: bool = False,
                 schedule: BackupSchedule | None = None) -> Backup:
    require(user, "backups:create", cluster)
    _require_cluster(user, cluster, "clusters:get")
    if location.account_id != user.account_id:
        raise ValidationError({"location": _("Choose one of your storage locations.")})
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise ValidationError({"name": NAME_RULE})
    filters = validate_filters(namespaces, included_kinds, excluded_kinds, label_selector)
    try:
        with transaction.atomic():
            backup = Backup.objects.create(account=user.account, cluster=cluster, location=location, name=name,
                                           schedule=schedule, creator=user, include_pv_data=include_pv_data,
                                           heartbeat_at=timezone.now(), **filters)
            record(user, "backups:create", backup, details={"cluster": cluster.name, **backup.filters()})
            signals.backup_due.send(Backup, backup=backup)
    except IntegrityError:
        raise ValidationError({"name": _("A backup with this name exists.")}) from None
    return backup


def _beat(model, pk: int, run: int, **fields) -> None:
    if not model.objects.filter(pk=pk, run=run).exclude(phase__in=FINISHED).update(
            heartbeat_at=timezone.now(), **fields):
        raise Superseded


def run_backup(backup_id: int, run: int) -> None:
    """Collect and upload; idempotent: a resumed run starts over and stores the whole tarball
    again under the same key. The backup is completed only once its object is stored."""
    backup = Backup.objects.select_related("cluster", "location").filter(pk=backup_id, run=run).first()
    if backup is None or backup.finished:
        return
    _beat(Backup, backup.pk, run, phase=Phase.RUNNING, started_at=backup.started_at or timezone.now())
    key = backup.location.key_for("backups", backup.name, f"{backup.name}.tar.gz")
    try:
        with tempfile.TemporaryFile(dir=settings.VAR_DIR) as out:
            collected = collect.collect(
                Client(backup.cluster), backup.cluster, backup.filters(), out,
                progress=lambda done, total: _beat(Backup, backup.pk, run, progress=min(90, done * 90 // total)))
            checksum, size = collect.sha256_of(out)
            _beat(Backup, backup.pk, run, progress=92)
            storage.upload(backup.location, key, out, metadata={"sha256": checksum})
    except Superseded:
        return
    except (KubeError, storage.StorageError, OSError) as error:
        _finish_backup(backup, run, Phase.FAILED, str(error))
        return
    _finish_backup(backup, run, Phase.COMPLETED, "", object_key=key, size=size, checksum=checksum,
                   manifest=collected.manifest, item_count=collected.items, progress=100)
    if backup.schedule_id:
        apply_retention(backup.schedule)


def _finish_backup(backup: Backup, run: int, phase: str, message: str, **fields) -> None:
    with transaction.atomic():
        if not Backup.objects.filter(pk=backup.pk, run=run).exclude(phase__in=FINISHED).update(
                phase=phase, message=message, finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields):
            return
        record(backup.creator, "backups:run", backup, account=backup.account,
               result=AuditEvent.Result.SUCCESS if phase == Phase.COMPLETED else AuditEvent.Result.FAILED,
               details={"phase": phase, "message": message, "items": fields.get("item_count", 0),
                        "size": fields.get("size")})
    _advance_migrations(backup=backup)


def delete_backup(user, backup: Backup) -> None:
    """Delete the backup and its object in the bucket; when the bucket refuses, nothing is deleted."""
    require(user, "backups:delete", backup)
    if backup.phase in ACTIVE:
        raise ValidationError(_("Backup “%(name)s” is still running.") % {"name": backup.name})
    if backup.object_key:
        try:
            storage.delete(backup.location, backup.object_key)
        except storage.StorageError as error:
            raise ValidationError(_("Backup “%(name)s” was not deleted: %(reason)s")
                                  % {"name": backup.name, "reason": error.message}) from error
    with transaction.atomic():
        record(user, "backups:delete", backup, details={"object": backup.object_key})
        backup.delete()


def open_download(user, backup: Backup):
    """(stream, length, filename) of a completed backup's tarball; audited."""
    require(user, "backups:download", backup)
    if backup.phase != Phase.COMPLETED:
        raise ValidationError(_("Only a completed backup can be downloaded."))
    try:
        stream, length = storage.open_stream(backup.location, backup.object_key)
    except storage.StorageError as error:
        raise ValidationError(error.message) from error
    record(user, "backups:download", backup)
    return stream, length, f"{backup.name}.tar.gz"


def import_backup(user, *, cluster: RegisteredCluster, location: StorageLocation, name: str, fileobj) -> Backup:
    """A downloaded backup file put into `cluster`'s backup list (the manual's 上传): every file
    checked against the manifest and stored in the location; a corrupt or foreign file is
    refused with the reason and nothing is stored."""
    require(user, "backups:create", cluster)
    require(user, "clusters:get", cluster)
    if location.account_id != user.account_id:
        raise ValidationError({"location": _("Choose one of your storage locations.")})
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise ValidationError({"name": NAME_RULE})
    if Backup.objects.filter(account=user.account, name=name).exists():
        raise ValidationError({"name": _("A backup with this name exists.")})
    with tempfile.TemporaryFile(dir=settings.VAR_DIR) as data:
        for chunk in iter(lambda: fileobj.read(1 << 20), b""):
            data.write(chunk)
        checksum, size = collect.sha256_of(data)
        try:
            manifest, _objects = collect.read_tarball(data)
        except ValueError as error:
            raise ValidationError({"file": _("This file cannot be imported: %(reason)s.") % {"reason": error}}) \
                from error
        data.seek(0)
        key = location.key_for("backups", name, f"{name}.tar.gz")
        try:
            storage.upload(location, key, data, metadata={"sha256": checksum})
        except storage.StorageError as error:
            raise ValidationError(error.message) from error
    filters = manifest.get("filters") or {}
    with transaction.atomic():
        backup = Backup.objects.create(
            account=user.account, cluster=cluster, location=location, name=name, creator=user,
            phase=Phase.COMPLETED, progress=100, object_key=key, size=size, checksum=checksum, manifest=manifest,
            item_count=manifest.get("items", 0), started_at=timezone.now(), finished_at=timezone.now(),
            namespaces=filters.get("namespaces") or [], included_kinds=filters.get("included_kinds") or [],
            excluded_kinds=filters.get("excluded_kinds") or [], label_selector=filters.get("label_selector") or "",
            include_pv_data=bool(filters.get("include_pv_data")),
            message=N_("Imported from an uploaded file."))
        record(user, "backups:import", backup, details={"source": manifest.get("source"), "size": size})
    return backup


def apply_retention(schedule: BackupSchedule) -> int:
    """Delete the schedule's completed backups beyond the newest `keep_last` or older than
    `keep_days` (the newest completed one always stays)."""
    done = list(schedule.backups.filter(phase=Phase.COMPLETED).order_by("-created_at"))
    doomed = []
    for index, backup in enumerate(done):
        if index == 0:
            continue
        if schedule.keep_last and index >= schedule.keep_last:
            doomed.append(backup)
        elif schedule.keep_days and backup.created_at < timezone.now() - timedelta(days=schedule.keep_days):
            doomed.append(backup)
    deleted = 0
    for backup in doomed:
        try:
            storage.delete(backup.location, backup.object_key)
        except storage.StorageError:
            continue  # kept, and tried again by the next sweep
        with transaction.atomic():
            record(None, "backups:retention", backup, account=backup.account,
                   details={"schedule": schedule.name, "object": backup.object_key})
            backup.delete()
        deleted += 1
    return deleted


def expire_backups() -> int:
    """The retention sweep (beat, hourly): every schedule's retention applied again, so a
    backup outlives its days by at most an hour even when no new backup comes (a schedule
    paused or failing), and one its bucket refused to delete is tried again."""
    return sum(apply_retention(schedule) for schedule in BackupSchedule.objects.exclude(
        keep_last__isnull=True, keep_days__isnull=True).select_related("location"))


# --- schedules --------------------------------------------------------------------------------

def _crontab_fields(text: str) -> list[str]:
    from celery.schedules import crontab

    fields = (text or "").split()
    if len(fields) != 5:
        raise ValidationError({"crontab": _("Give five fields: minute hour day-of-month month day-of-week, e.g. "
                                            "“0 2 * * *” for 02:00 every day.")})
    try:
        crontab(*fields)
    except (ValueError, TypeError) as error:
        raise ValidationError({"crontab": _("The schedule cannot be read: %(error)s") % {"error": error}}) from error
    return fields


def save_schedule(user, *, name: str, cluster: RegisteredCluster, location: StorageLocation, crontab: str,
                  keep_last=None, keep_days=None, namespaces=(), included_kinds=(), excluded_kinds=(),
                  label_selector: str = "", include_pv_data: bool = False) -> BackupSchedule:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    require(user, "backups:create", cluster)
    _require_cluster(user, cluster, "clusters:get")
    if location.account_id != user.account_id:
        raise ValidationError({"location": _("Choose one of your storage locations.")})
    name = (name or "").strip()
    if not NAME_RE.match(name) or len(name) > 40:
        raise ValidationError({"name": _("2-40 characters: lowercase letters, digits and '-', starting with a "
                                         "letter and ending with a letter or digit.")})
    minute, hour, day, month, weekday = _crontab_fields(crontab)
    if not keep_last and not keep_days:
        raise ValidationError({"keep_last": _("Say how many backups to keep, or for how many days.")})
    filters = validate_filters(namespaces, included_kinds, excluded_kinds, label_selector)
    if BackupSchedule.objects.filter(account=user.account, name=name).exists():
        raise ValidationError({"name": _("A schedule with this name exists.")})
    with transaction.atomic():
        schedule = BackupSchedule.objects.create(
            account=user.account, name=name, cluster=cluster, location=location, crontab=" ".join(
                [minute, hour, day, month, weekday]), keep_last=keep_last or None, keep_days=keep_days or None,
            creator=user, include_pv_data=include_pv_data, **filters)
        cron, _created = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_month=day, month_of_year=month, day_of_week=weekday,
            timezone=settings.CELERY_TIMEZONE)
        schedule.periodic_task = PeriodicTask.objects.create(
            name=f"backup-schedule-{schedule.pk}", task="backups.tasks.scheduled_backup", crontab=cron,
            args=f"[{schedule.pk}]")
        schedule.save(update_fields=["periodic_task"])
        record(user, "backups:schedule", schedule, details={"operation": "create", "crontab": schedule.crontab,
                                                            "cluster": cluster.name})
    return schedule


def delete_schedule(user, schedule: BackupSchedule) -> None:
    """The schedule and its beat entry; its backups stay (delete them one by one)."""
    require(user, "backups:delete", schedule)
    with transaction.atomic():
        record(user, "backups:schedule", schedule, details={"operation": "delete"})
        task = schedule.periodic_task
        schedule.delete()
        if task is not None:
            task.delete()


def scheduled_backup(schedule_id: int) -> Backup | None:
    """A schedule's turn: a backup as its creator, who must still be allowed to make it."""
    schedule = BackupSchedule.objects.select_related("cluster", "location", "creator").filter(
        pk=schedule_id, enabled=True).first()
    if schedule is None or schedule.creator is None:
        return None
    name = base = f"{schedule.name}-{timezone.now():%Y%m%d%H%M%S}"
    turn = 1
    while Backup.objects.filter(account=schedule.account, name=name).exists():
        turn += 1
        name = f"{base}-{turn}"
    try:
        return start_backup(schedule.creator, cluster=schedule.cluster, location=schedule.location, name=name,
                            namespaces=schedule.namespaces, included_kinds=schedule.included_kinds,
                            excluded_kinds=schedule.excluded_kinds, label_selector=schedule.label_selector,
                            include_pv_data=schedule.include_pv_data, schedule=schedule)
    except (ValidationError, Exception) as error:  # noqa: BLE001 - kept for the user, the beat goes on
        from django.core.exceptions import PermissionDenied

        if not isinstance(error, (ValidationError, PermissionDenied)):
            raise
        record(schedule.creator, "backups:schedule", schedule, result=AuditEvent.Result.FAILED,
               details={"operation": "run", "reason": "; ".join(getattr(error, "messages", [str(error)]))})
        return None


# --- restores ---------------------------------------------------------------------------------

def parse_mapping(mapping) -> dict:
    """{source: target} from a dict or lines "source=target" (or "source:target")."""
    if isinstance(mapping, dict):
        pairs = list(mapping.items())
    else:
        pairs = []
        for line in re.split(r"[\n,]+", mapping or ""):
            if line.strip():
                parts = re.split(r"\s*(?:=|:|->)\s*", line.strip(), maxsplit=1)
                if len(parts) != 2:
                    raise ValidationError({"namespace_mapping": _("Write each mapping as source=target: “%(line)s”.")
                                           % {"line": line.strip()}})
                pairs.append(parts)
    clean = {}
    for source, target in pairs:
        source, target = str(source).strip(), str(target).strip()
        for value in (source, target):
            if not DNS_LABEL.match(value):
                raise ValidationError({"namespace_mapping": _("“%(name)s” is not a namespace name.") % {"name": value}})
        if target in clean.values():
            raise ValidationError({"namespace_mapping": _("Two namespaces cannot both go to “%(name)s”.")
                                   % {"name": target}})
        clean[source] = target
    return clean


def start_restore(user, backup: Backup, *, target: RegisteredCluster, name: str = "", namespace_mapping=None,
                  included_kinds=(), excluded_kinds=(), cleansing_rules=(), conflict_policy: str = "skip",
                  dry_run: bool = False) -> Restore:
    require(user, "backups:restore", backup)
    _require_cluster(user, target, "clusters:get" if dry_run else "clusters:update")
    if backup.phase != Phase.COMPLETED:
        raise ValidationError(_("Only a completed backup can be restored."))
    if conflict_policy not in Restore.Policy.values:
        raise ValidationError({"conflict_policy": _("Choose skip or update.")})
    mapping = parse_mapping(namespace_mapping or {})
    rules = cleansing.validate(cleansing_rules)
    included, excluded = _split(included_kinds), _split(excluded_kinds)
    name = (name or "").strip() or f"{backup.name[:40]}-{'dry' if dry_run else 'restore'}-{timezone.now():%H%M%S}"
    if not NAME_RE.match(name):
        raise ValidationError({"name": NAME_RULE})
    with transaction.atomic():
        restore_ = Restore.objects.create(
            account=user.account, name=name, backup=backup, target=target, dry_run=dry_run,
            namespace_mapping=mapping, included_kinds=included, excluded_kinds=excluded, cleansing_rules=rules,
            conflict_policy=conflict_policy, creator=user, heartbeat_at=timezone.now())
        record(user, "backups:restore", restore_,
               details={"backup": backup.name, "target": target.name, "dry_run": dry_run, "mapping": mapping,
                        "rules": len(rules), "policy": conflict_policy})
        signals.restore_due.send(Restore, restore=restore_)
    return restore_


def _load_backup(backup: Backup):
    with tempfile.TemporaryFile(dir=settings.VAR_DIR) as data:
        storage.download(backup.location, backup.object_key, data)
        checksum, _size = collect.sha256_of(data)
        if checksum != backup.checksum:
            raise storage.StorageError(_("The stored backup does not match its checksum: it was changed or "
                                         "truncated in the bucket."))
        try:
            return collect.read_tarball(data)
        except ValueError as error:
            raise storage.StorageError(_("The stored backup cannot be read: %(reason)s") % {"reason": error}) \
                from error


def run_restore(restore_id: int, run: int) -> None:
    """Download, verify, plan and apply (or compare, for a dry run). Re-running is safe:
    what exists and is the same is skipped, what differs follows the conflict policy."""
    item = Restore.objects.select_related("backup__location", "target").filter(pk=restore_id, run=run).first()
    if item is None or item.finished:
        return
    _beat(Restore, item.pk, run, phase=Phase.RUNNING, started_at=item.started_at or timezone.now())
    try:
        manifest, objects = _load_backup(item.backup)
        _beat(Restore, item.pk, run, progress=10)
        plan = restore.plan(manifest, objects, mapping=item.namespace_mapping, included=item.included_kinds,
                            excluded=item.excluded_kinds, rules=item.cleansing_rules, backup_name=item.backup.name,
                            restore_name=item.name)
        client = Client(item.target)
        results = []
        findings = preflight.check(client, plan, manifest) if item.dry_run else {}
        if not item.dry_run:
            _missing, unserved = preflight.api_findings(plan, manifest, client.served())
            if unserved:  # a backup of a version the target cannot take: refused whole, before any write
                _finish_restore(item, run, Phase.FAILED, _(
                    "The target cannot take this backup, so nothing was restored: %(reasons)s Run a dry run "
                    "for the details, or exclude these kinds.") % {
                    "reasons": " ".join(f"{f['what']}: {f['detail']}" for f in unserved)})
                return
        ready: set = set()
        total = max(1, len(plan.items))
        for index, planned in enumerate(plan.items):
            if item.dry_run:
                results.append(_compare(client, planned))
            else:
                results.append(restore.apply_item(client, planned, item.conflict_policy, ready))
            if index % 25 == 0:
                _beat(Restore, item.pk, run, progress=10 + (index * 89) // total)
        results += plan.skipped
    except Superseded:
        return
    except (KubeError, storage.StorageError, OSError) as error:
        _finish_restore(item, run, Phase.FAILED, str(error))
        return
    counts = {}
    for row in results:
        counts[row["result"]] = counts.get(row["result"], 0) + 1
    phase = Phase.PARTIALLY_FAILED if counts.get("failed") else Phase.COMPLETED
    message = "" if phase == Phase.COMPLETED else _("%(count)d object(s) failed.") % {"count": counts["failed"]}
    _finish_restore(item, run, phase, message, results=results, counts=counts, preflight=findings, progress=100)


def _compare(client: Client, planned) -> dict:
    live = client.get_or_none(planned.resource.path(planned.namespace, planned.name))
    if live is None:
        return planned.row("new", diff=restore.diff_text(None, planned.obj))
    patch = restore.merge_patch(restore._comparable(live), restore._comparable(planned.obj))
    if patch is None:
        return planned.row("unchanged")
    return planned.row("changed", diff=restore.diff_text(live, planned.obj))


def _finish_restore(item: Restore, run: int, phase: str, message: str, **fields) -> None:
    with transaction.atomic():
        if not Restore.objects.filter(pk=item.pk, run=run).exclude(phase__in=FINISHED).update(
                phase=phase, message=message, finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields):
            return
        record(item.creator, "backups:restore_run", item, account=item.account,
               result=AuditEvent.Result.FAILED if phase == Phase.FAILED else AuditEvent.Result.SUCCESS,
               details={"phase": phase, "message": message, "counts": fields.get("counts", {}),
                        "dry_run": item.dry_run})
    _advance_migrations(restore=item)


# --- recovering lost work ---------------------------------------------------------------------

def recover_stalled() -> dict:
    """Backups and restores whose heartbeat stopped (their worker was killed, their message
    lost): sent again under a new run, or failed with the reason once resumed too often. A
    backup killed mid-upload has no object listed: it is completed only after the upload."""
    counts = {"resumed": 0, "failed": 0}
    limit = settings.CCEONE_RECOVERY_MAX_RESUMES
    for model, signal, argument in ((Backup, signals.backup_due, "backup"),
                                    (Restore, signals.restore_due, "restore")):
        for work in model.objects.filter(phase__in=ACTIVE, heartbeat_at__lt=stale_before()):
            with transaction.atomic():
                claimed = model.objects.filter(pk=work.pk, phase__in=ACTIVE, heartbeat_at=work.heartbeat_at).update(
                    run=F("run") + 1, resumes=F("resumes") + 1, heartbeat_at=timezone.now())
                if not claimed:
                    continue
                work.refresh_from_db()
                if work.resumes > limit:
                    model.objects.filter(pk=work.pk).update(
                        phase=Phase.FAILED, finished_at=timezone.now(),
                        message=_("Stopped making progress: the worker running it was lost %(count)d times.")
                        % {"count": work.resumes})
                    record(None, f"backups:{argument}_lost", work, account=work.account,
                           result=AuditEvent.Result.FAILED, details={"resumes": work.resumes})
                    _advance_migrations(**{argument: work})
                    counts["failed"] += 1
                    continue
                model.objects.filter(pk=work.pk).update(
                    message=N_("Resumed after the worker running it was lost."), progress=0)
                signal.send(model, **{argument: work})
                counts["resumed"] += 1
    return counts


# --- the migration wizard (R6.1) ----------------------------------------------------------------

MIGRATE = "backups:migrate"
MIGRATION_NAME_RULE = gettext_lazy("2-40 characters: lowercase letters, digits and '-', starting with a letter and "
                                   "ending with a letter or digit.")


def start_migration(user, *, name: str, source: RegisteredCluster, target: RegisteredCluster,
                    location: StorageLocation, namespaces=(), excluded_kinds=(), namespace_mapping=None,
                    cleansing_rules=(), conflict_policy: str = "skip") -> Migration:
    """Move an application from one cluster to another: a backup of the source's namespaces,
    then (by `advance_migration`) its dry run on the target; the restore waits for
    `confirm_migration`. Every permission the three steps need is checked here, so a
    migration the user may not finish does not start."""
    require(user, MIGRATE, source)
    require(user, "backups:create", source)
    require(user, "backups:restore", source)
    _require_cluster(user, source, "clusters:get")
    _require_cluster(user, target, "clusters:update")
    if source.pk == target.pk:
        raise ValidationError({"target": _("Choose a target cluster other than the source.")})
    if location.account_id != user.account_id:
        raise ValidationError({"location": _("Choose one of your storage locations.")})
    name = (name or "").strip()
    if not NAME_RE.match(name) or len(name) > 40:
        raise ValidationError({"name": MIGRATION_NAME_RULE})
    if conflict_policy not in Restore.Policy.values:
        raise ValidationError({"conflict_policy": _("Choose skip or update.")})
    filters = validate_filters(namespaces, (), excluded_kinds, "")
    mapping = parse_mapping(namespace_mapping or {})
    rules = cleansing.validate(cleansing_rules)
    if Migration.objects.filter(account=user.account, name=name).exists():
        raise ValidationError({"name": _("A migration with this name exists.")})
    backup_name = f"{name}-backup"
    if Backup.objects.filter(account=user.account, name=backup_name).exists():
        raise ValidationError({"name": _("A backup named “%(name)s” exists: choose another name for the migration.")
                               % {"name": backup_name}})
    try:
        with transaction.atomic():
            migration = Migration.objects.create(
                account=user.account, name=name, source=source, target=target, location=location,
                namespaces=filters["namespaces"], excluded_kinds=filters["excluded_kinds"],
                namespace_mapping=mapping, cleansing_rules=rules, conflict_policy=conflict_policy, creator=user)
            record(user, MIGRATE, migration, details={
                "operation": "start", "source": source.name, "target": target.name,
                "namespaces": filters["namespaces"], "mapping": mapping, "rules": len(rules)})
            migration.backup = start_backup(user, cluster=source, location=location, name=backup_name,
                                            namespaces=filters["namespaces"], excluded_kinds=filters["excluded_kinds"])
            migration.save(update_fields=["backup"])
    except IntegrityError:  # the same name, started at the same moment
        raise ValidationError({"name": _("A migration with this name exists.")}) from None
    return migration


def _restore_options(migration: Migration) -> dict:
    return {"target": migration.target, "namespace_mapping": migration.namespace_mapping,
            "excluded_kinds": migration.excluded_kinds, "cleansing_rules": migration.cleansing_rules,
            "conflict_policy": migration.conflict_policy}


def _end_migration(migration: Migration, state: str, message: str = "") -> None:
    migration.state, migration.message, migration.finished_at = state, message, timezone.now()
    migration.save(update_fields=["state", "message", "finished_at"])
    record(migration.creator, MIGRATE, migration, account=migration.account,
           result=AuditEvent.Result.SUCCESS if state == Migration.State.COMPLETED else AuditEvent.Result.FAILED,
           details={"operation": "finish", "state": state, "message": message})


def advance_migration(migration_id: int) -> None:
    """Move a migration on once its current step's backup or restore has finished: a
    completed backup starts the dry run (as the migration's creator, who must still be
    allowed), a finished dry run waits for confirmation, a finished restore ends it. A
    step that failed ends the migration with its reason. Idempotent."""
    from django.core.exceptions import PermissionDenied

    State = Migration.State
    with transaction.atomic():
        migration = Migration.objects.select_for_update().filter(pk=migration_id).first()
        if migration is None or migration.finished:
            return
        if migration.state == State.BACKING_UP:
            backup = migration.backup
            if backup is None:
                _end_migration(migration, State.FAILED, _("The migration's backup was deleted."))
            elif backup.phase == Phase.COMPLETED:
                try:
                    migration.dry_run = start_restore(migration.creator, backup, name=f"{migration.name}-dry-run",
                                                      dry_run=True, **_restore_options(migration))
                except (ValidationError, PermissionDenied) as error:
                    _end_migration(migration, State.FAILED, _("The dry run could not start: %(reason)s")
                                   % {"reason": " ".join(getattr(error, "messages", [str(error)]))})
                    return
                migration.state = State.DRY_RUNNING
                migration.save(update_fields=["dry_run", "state"])
            elif backup.finished:
                _end_migration(migration, State.FAILED, _("The backup of the source failed: %(reason)s")
                               % {"reason": backup.message})
        elif migration.state == State.DRY_RUNNING:
            dry = migration.dry_run
            if dry is None or dry.phase == Phase.FAILED:
                _end_migration(migration, State.FAILED, _("The dry run on the target failed: %(reason)s")
                               % {"reason": dry.message if dry else "--"})
            elif dry.finished:
                migration.state = State.AWAITING_CONFIRMATION
                migration.save(update_fields=["state"])
        elif migration.state == State.RESTORING:
            restore_ = migration.restore
            if restore_ is None or restore_.finished:
                phase = restore_.phase if restore_ else Phase.FAILED
                state = {Phase.COMPLETED: State.COMPLETED, Phase.PARTIALLY_FAILED: State.PARTIALLY_FAILED}.get(
                    phase, State.FAILED)
                _end_migration(migration, state, restore_.message if restore_ else "")


def _advance_migrations(backup: Backup | None = None, restore: Restore | None = None) -> None:
    if backup is not None:
        ids = Migration.objects.filter(backup=backup).values_list("pk", flat=True)
    else:
        ids = Migration.objects.filter(Q(dry_run=restore) | Q(restore=restore)).values_list("pk", flat=True)
    for pk in list(ids):
        advance_migration(pk)


def confirm_migration(user, migration: Migration) -> Migration:
    """The user has seen the dry run: restore into the target with the same settings."""
    require(user, MIGRATE, migration)
    with transaction.atomic():
        if not Migration.objects.filter(pk=migration.pk, state=Migration.State.AWAITING_CONFIRMATION).update(
                state=Migration.State.RESTORING):
            raise ValidationError(_("Migration “%(name)s” is not waiting for confirmation.") % {"name": migration.name})
        migration.refresh_from_db()
        if migration.backup is None:
            raise ValidationError(_("The migration's backup was deleted."))
        migration.restore = start_restore(user, migration.backup, name=f"{migration.name}-restore",
                                          **_restore_options(migration))
        migration.save(update_fields=["restore"])
        record(user, MIGRATE, migration, details={"operation": "confirm", "restore": migration.restore.name})
    return migration


def cancel_migration(user, migration: Migration) -> Migration:
    """Stop after the dry run: nothing is restored; the backup stays in the backup list."""
    require(user, MIGRATE, migration)
    with transaction.atomic():
        if not Migration.objects.filter(pk=migration.pk, state=Migration.State.AWAITING_CONFIRMATION).update(
                state=Migration.State.CANCELLED, finished_at=timezone.now()):
            raise ValidationError(_("Only a migration waiting for confirmation can be cancelled."))
        record(user, MIGRATE, migration, details={"operation": "cancel"})
    migration.refresh_from_db()
    return migration
