"""The failover view (R5.8, issue #15 item 5): per member, its Ready condition over time; per
federated workload, where its replicas were and where they are now.

Karmada keeps only the present: a Cluster's Ready condition is overwritten at every change,
and a binding's `gracefulEvictionTasks` (karmada SPEC §6: `fromCluster`, `replicas`,
`clustersBeforeFailover`) disappear once the new copy is healthy. So we record on our side,
whenever anyone reads them — the minute sweep (`federation.tasks.observe_failover`, as the
platform) and the page and API (as the user) — one `MemberConditionChange` per Ready
transition and one `PlacementSnapshot` per change of a binding's `spec.clusters`. Both are
idempotent (unique on the transition, numbered snapshots), kept `RETENTION` (the latest of
each member and binding always, or "before" would be recorded anew).

The page and API show only what the user may read in Karmada: the Clusters and
ResourceBindings are listed as the user, and the recorded history of those only.
"""
import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from kubernetes import client as k8s

from cceone.kube.gateway import KubeError, system_api_for
from resources import registry
from resources.formatting import condition
from resources.kube import Api

from .models import Federation, MemberConditionChange, PlacementSnapshot

log = logging.getLogger(__name__)

RETENTION = dt.timedelta(days=30)
HISTORY_SHOWN = 20  # transitions per member, snapshots per workload
# How often the page and API clients should look again: while a member is down, replicas are
# moving and the user is watching; otherwise nothing much happens between two looks.
REFRESH_WHILE_DOWN = 3
REFRESH_ALL_READY = 30
READY_STATES = {choice.value for choice in MemberConditionChange.Ready}


def _time(text) -> dt.datetime | None:
    if not text:
        return None
    try:
        found = parse_datetime(str(text))
    except ValueError:
        return None
    if found is not None and timezone.is_naive(found):
        found = timezone.make_aware(found, dt.timezone.utc)
    return found


def _name(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name") or ""


# --- recording ----------------------------------------------------------------------------

def _latest(queryset, keys: tuple[str, ...], order: tuple[str, ...]):
    """The newest row of each `keys` group of `queryset` (portable: no DISTINCT ON in SQLite)."""
    newest = queryset.model.objects.filter(**{key: OuterRef(key) for key in keys}).order_by(*order).values("pk")[:1]
    return queryset.annotate(newest=Subquery(newest)).filter(pk=F("newest"))


CONDITION_KEY, CONDITION_ORDER = ("federation", "member"), ("-transitioned_at", "-id")
SNAPSHOT_KEY, SNAPSHOT_ORDER = ("federation", "namespace", "binding"), ("-sequence",)


def record_conditions(federation: Federation, clusters: list[dict], now: dt.datetime | None = None) -> int:
    """One row per Ready transition of each Cluster; rows already there are left alone.
    A Cluster without a Ready condition has not been probed yet: nothing to record."""
    now = now or timezone.now()
    names = [_name(c) for c in clusters]
    latest = {}
    for row in _latest(MemberConditionChange.objects.filter(federation=federation, member__in=names),
                       CONDITION_KEY, CONDITION_ORDER):
        latest[row.member] = row
    created = 0
    for cluster in clusters:
        ready = condition(cluster, "Ready")
        if not ready or ready.get("status") not in READY_STATES:
            continue
        name, status = _name(cluster), ready["status"]
        at = _time(ready.get("lastTransitionTime"))
        last = latest.get(name)
        if last is not None and last.status == status and (at is None or at == last.transitioned_at):
            continue
        try:
            with transaction.atomic():
                _, made = MemberConditionChange.objects.get_or_create(
                    federation=federation, member=name, status=status, transitioned_at=at or now,
                    defaults={"reason": (ready.get("reason") or "")[:255], "message": ready.get("message") or "",
                              "observed_at": now})
        except IntegrityError:
            made = False  # another reader recorded it a moment before
        created += made
    return created


def placed(binding: dict) -> dict[str, int]:
    """The binding's spec.clusters as member → replicas (absent replicas: 0)."""
    return {c.get("name"): int(c.get("replicas") or 0) for c in (binding.get("spec") or {}).get("clusters") or []
            if c.get("name")}


def evictions(binding: dict) -> list[dict]:
    """The binding's graceful eviction tasks: the member replicas left and where they were."""
    return [{"from_cluster": t.get("fromCluster") or "", "replicas": t.get("replicas"),
             "reason": t.get("reason") or "", "producer": t.get("producer") or "",
             "clusters_before": list(t.get("clustersBeforeFailover") or []),
             "created_at": t.get("creationTimestamp") or ""}
            for t in (binding.get("spec") or {}).get("gracefulEvictionTasks") or []]


def is_workload(binding: dict) -> bool:
    """A binding of something with replicas (a ConfigMap's binding names members only)."""
    return (binding.get("spec") or {}).get("replicas") is not None


def record_placements(federation: Federation, bindings: list[dict], now: dt.datetime | None = None) -> int:
    """A snapshot of each workload binding whose spec.clusters differs from its last one. A
    binding not scheduled yet (no clusters, nothing recorded) is not a placement."""
    now = now or timezone.now()
    bindings = [b for b in bindings if is_workload(b)]
    keys = {((b.get("metadata") or {}).get("namespace") or "", _name(b)) for b in bindings}
    latest = {}
    for row in _latest(PlacementSnapshot.objects.filter(federation=federation,
                                                        binding__in={name for _, name in keys}),
                       SNAPSHOT_KEY, SNAPSHOT_ORDER):
        latest[(row.namespace, row.binding)] = row
    created = 0
    for binding in bindings:
        key = ((binding.get("metadata") or {}).get("namespace") or "", _name(binding))
        clusters, last = placed(binding), latest.get(key)
        if (last is None and not clusters) or (last is not None and last.clusters == clusters):
            continue
        resource = (binding.get("spec") or {}).get("resource") or {}
        try:
            with transaction.atomic():
                PlacementSnapshot.objects.create(
                    federation=federation, namespace=key[0], binding=key[1], kind=resource.get("kind") or "",
                    name=resource.get("name") or "", sequence=(last.sequence + 1) if last else 1, clusters=clusters,
                    evictions=evictions(binding), observed_at=now)
        except IntegrityError:
            continue  # another reader recorded this change
        created += 1
    return created


def observe(federation: Federation) -> dict:
    """The sweep's look at one federation, as the platform: its Clusters and ResourceBindings."""
    with system_api_for(federation, timeout=(5, 20)) as api:
        custom = k8s.CustomObjectsApi(api)
        clusters = custom.list_cluster_custom_object("cluster.karmada.io", "v1alpha1", "clusters").get("items") or []
        bindings = custom.list_cluster_custom_object("work.karmada.io", "v1alpha2",
                                                     "resourcebindings").get("items") or []
    return {"conditions": record_conditions(federation, clusters),
            "placements": record_placements(federation, bindings)}


def prune(now: dt.datetime | None = None) -> int:
    """History older than RETENTION goes, except each member's and each binding's latest row."""
    cutoff = (now or timezone.now()) - RETENTION
    gone = 0
    for model, key, order in ((MemberConditionChange, CONDITION_KEY, CONDITION_ORDER),
                              (PlacementSnapshot, SNAPSHOT_KEY, SNAPSHOT_ORDER)):
        old = model.objects.filter(observed_at__lt=cutoff)
        keep = list(_latest(old, key, order).values_list("pk", flat=True))
        gone += old.exclude(pk__in=keep).delete()[0]
    return gone


# --- the view -----------------------------------------------------------------------------

def _ready(cluster: dict | None) -> dict:
    found = condition(cluster, "Ready") if cluster else None
    found = found or {}
    return {"status": found.get("status") or "", "reason": found.get("reason") or "",
            "message": found.get("message") or "", "since": _time(found.get("lastTransitionTime"))}


def member_rows(federation: Federation, clusters: list[dict]) -> list[dict]:
    """Each member's Ready condition now, its taints, and its recorded transitions (newest first)."""
    history: dict[str, list] = {}
    # The page polls every few seconds: the newest HISTORY_SHOWN per member, cut by the database.
    for row in MemberConditionChange.objects.filter(federation=federation,
                                                    member__in=[_name(c) for c in clusters]).annotate(
            rank=Window(RowNumber(), partition_by=[F("member")],
                        order_by=[F("transitioned_at").desc(), F("id").desc()])).filter(rank__lte=HISTORY_SHOWN):
        history.setdefault(row.member, []).append(row)
    rows = []
    for cluster in sorted(clusters, key=_name):
        ready = _ready(cluster)
        rows.append({"name": _name(cluster), "ready": ready, "is_ready": ready["status"] == "True",
                     "taints": [{"key": t.get("key") or "", "effect": t.get("effect") or "",
                                 "added": _time(t.get("timeAdded"))}
                                for t in (cluster.get("spec") or {}).get("taints") or []],
                     "history": history.get(_name(cluster), [])})
    return rows


def _before(snapshots: list[PlacementSnapshot], now: dict[str, int]) -> tuple[PlacementSnapshot | None, object]:
    """The last recorded placement on other members than now's — where the replicas were before
    they moved — and when we first saw them elsewhere. Steps on the same members (the evicted
    member dropped, then its replicas re-placed) are one move; an empty placement is not a
    "where". `snapshots` are newest first."""
    for index, snapshot in enumerate(snapshots):
        if snapshot.clusters and set(snapshot.clusters) != set(now):
            return snapshot, snapshots[index - 1].observed_at if index else None
    return None, None


def workload_rows(federation: Federation, bindings: list[dict], members: dict[str, dict]) -> list[dict]:
    """Each workload binding: now (spec.clusters with each member's Ready and what it reports)
    against before (our recorded placement, else what the eviction tasks say), and its history."""
    bindings = [b for b in bindings if is_workload(b)]
    snapshots: dict[tuple, list] = {}
    # The newest HISTORY_SHOWN per binding, cut by the database; "before" is sought among them
    # (the placements the page shows), not in the whole retention.
    for row in PlacementSnapshot.objects.filter(federation=federation,
                                                binding__in={_name(b) for b in bindings}).annotate(
            rank=Window(RowNumber(), partition_by=[F("namespace"), F("binding")],
                        order_by=[F("sequence").desc()])).filter(rank__lte=HISTORY_SHOWN):
        snapshots.setdefault((row.namespace, row.binding), []).append(row)
    rows = []
    for binding in bindings:
        namespace = (binding.get("metadata") or {}).get("namespace") or ""
        history = snapshots.get((namespace, _name(binding)), [])
        now, tasks = placed(binding), evictions(binding)
        before_snapshot, moved_at = _before(history, now)
        if before_snapshot is not None:
            before, before_at, source = dict(before_snapshot.clusters), before_snapshot.observed_at, "recorded"
        elif tasks:
            # Not seen by us before the move: the eviction tasks say which members held it, and
            # how many replicas each evicted member had.
            before = {name: None for task in tasks for name in task["clusters_before"]}
            before.update({task["from_cluster"]: task["replicas"] for task in tasks})
            before_at, source = None, "eviction"
            moved_at = _time(min(task["created_at"] for task in tasks))
        else:
            before, before_at, source = None, None, ""
        reported = {s.get("clusterName"): s for s in (binding.get("status") or {}).get("aggregatedStatus") or []}
        names = sorted(set(now) | set(before or {}))
        cells = []
        for member in names:
            status = reported.get(member) or {}
            member_ready = _ready(members.get(member))["status"] if member in members else ""
            cells.append({"cluster": member, "before": (before or {}).get(member) if before is not None else None,
                          "now": now.get(member), "member_ready": member_ready,
                          "applied": status.get("applied"), "health": status.get("health") or "",
                          "ready_replicas": (status.get("status") or {}).get("readyReplicas")})
        resource = (binding.get("spec") or {}).get("resource") or {}
        affected = bool(tasks) or before is not None or any(
            c["member_ready"] not in ("True", "") for c in cells if c["now"] is not None)
        rows.append({"namespace": namespace, "binding": _name(binding), "kind": resource.get("kind") or "",
                     "name": resource.get("name") or "", "replicas": (binding.get("spec") or {}).get("replicas"),
                     "now": now, "before": before, "before_at": before_at, "before_source": source,
                     "moved_at": moved_at,
                     "moved": before is not None and before != now, "evictions": tasks, "members": cells,
                     "affected": affected, "history": history})
    rows.sort(key=lambda r: (not r["affected"], r["namespace"], r["name"]))
    return rows


def view(user, target) -> dict:
    """What the page and the API show, read as the user (and recorded on the way)."""
    federation = target.obj
    api = Api(federation, user)
    found = {"members": [], "workloads": [], "members_error": "", "workloads_error": ""}
    clusters = bindings = None
    try:
        clusters = api.list_all(registry.get("clusters"))
    except KubeError as error:
        found["members_error"] = error.message
    try:
        bindings = api.list_all(registry.get("resourcebindings"))
    except KubeError as error:
        found["workloads_error"] = error.message
    if clusters is not None:
        record_conditions(federation, clusters)
        found["members"] = member_rows(federation, clusters)
    if bindings is not None:
        record_placements(federation, bindings)
        found["workloads"] = workload_rows(federation, bindings, {_name(c): c for c in clusters or []})
    found["not_ready"] = [m["name"] for m in found["members"] if not m["is_ready"]]
    found["refresh_seconds"] = REFRESH_WHILE_DOWN if found["not_ready"] else REFRESH_ALL_READY
    return found



def sweep() -> dict:
    """Every minute (Celery beat): each running federation's members and bindings recorded as
    the platform sees them, so the history has no holes while nobody has the page open; then
    the old history pruned. A federation that cannot be read is tried again next minute."""
    done = {}
    for federation in Federation.objects.filter(
            status__in=(Federation.Status.RUNNING, Federation.Status.CHANGING), control_plane__isnull=False):
        try:
            done[federation.pk] = observe(federation)
        except Exception as error:  # noqa: BLE001 - unreachable or refusing: logged, the next sweep tries again
            log.info("federation %s: failover not observed: %s", federation.pk, error)
            done[federation.pk] = {"error": str(error)[:200]}
    done["pruned"] = prune()
    return done
