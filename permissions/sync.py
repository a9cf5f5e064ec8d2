"""Writes a cluster's effective permissions into the cluster as RBAC objects (R2.6).

The sync writes the ClusterRoles `cceone:<preset>` and `cceone:custom:<id>`, and per role
one ClusterRoleBinding (grants in all namespaces) and one RoleBinding in each listed
namespace, all named after the role, whose subjects are the users' impersonated
identities. Everything it writes carries the label `cceone.io/managed-by=cceone`; it
lists, updates and prunes only labelled objects, and an unlabelled object in the way is
reported, never touched. It runs with the agent's identity (`system_client_for`).

A namespace that does not exist yet gets its RoleBindings at the first sync after it
appears: the sync runs again on every change, every time the cluster comes back
running, and periodically (`due`, sent by the beat task `tasks.resync_permissions`).
"""
import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from cceone.kube.gateway import KubeError, explain, system_client_for
from clusters.models import RegisteredCluster
from fleets.services import GONE

from .effective import grants_for
from .models import ClusterPermissionSync
from .rbac import Preset, preset_rules

log = logging.getLogger(__name__)

LABEL = "cceone.io/managed-by"
LABEL_VALUE = "cceone"
SELECTOR = f"{LABEL}={LABEL_VALUE}"
PERMISSION_ANNOTATION = "cceone.io/permission"
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC = f"{RBAC_GROUP}/v1"
KINDS = ("ClusterRole", "ClusterRoleBinding", "RoleBinding")

Status = RegisteredCluster.Status
SYNCABLE = {Status.RUNNING, Status.CHANGING}
State = ClusterPermissionSync.State


def _setting(name, default):
    return getattr(settings, name, default)


# --- what the cluster should hold ----------------------------------------------------------

def _meta(name, namespace=None, annotations=None) -> dict:
    meta = {"name": name, "labels": {LABEL: LABEL_VALUE}}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return meta


def desired_objects(cluster, namespaces: set[str], grants=None, target_type="cluster") -> tuple[dict, list[str]]:
    """{(kind, namespace, name): body} for the cluster (or for `grants` on another target, whose
    presets may hold more: `rbac.preset_rules`), and the listed namespaces that do not exist (yet)."""
    grants = grants_for(cluster) if grants is None else grants
    objects = {}
    for preset in Preset:
        name = f"cceone:{preset.value}"
        objects[("ClusterRole", "", name)] = {
            "apiVersion": RBAC, "kind": "ClusterRole",
            "metadata": _meta(name, annotations={PERMISSION_ANNOTATION: preset.value}),
            "rules": preset_rules(preset, target_type)}
    subjects: dict[tuple[str, str], set[str]] = defaultdict(set)
    missing = set()
    for grant in grants:
        if grant.permission is not None:
            objects[("ClusterRole", "", grant.role)] = {
                "apiVersion": RBAC, "kind": "ClusterRole",
                "metadata": _meta(grant.role, annotations={PERMISSION_ANNOTATION: grant.permission.name}),
                "rules": grant.permission.policy_rules()}
        if grant.namespaces is None:
            subjects[("", grant.role)].add(grant.subject)
            continue
        for namespace in grant.namespaces:
            if namespace in namespaces:
                subjects[(namespace, grant.role)].add(grant.subject)
            else:
                missing.add(namespace)
    for (namespace, role), names in subjects.items():
        kind = "RoleBinding" if namespace else "ClusterRoleBinding"
        objects[(kind, namespace, role)] = {
            "apiVersion": RBAC, "kind": kind, "metadata": _meta(role, namespace),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "User", "apiGroup": RBAC_GROUP, "name": n} for n in sorted(names)]}
    return objects, sorted(missing)


# --- comparing with what it holds ------------------------------------------------------------

def _rules(rules) -> list[dict]:
    keys = ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")
    return [{k: list(r[k]) for k in keys if r.get(k)} for r in rules or []]


def _subjects(subjects) -> list[dict]:
    return sorted(({k: s[k] for k in ("kind", "apiGroup", "name", "namespace") if s.get(k)}
                   for s in subjects or []), key=lambda s: (s.get("kind", ""), s.get("name", "")))


def _same(current: dict, wanted: dict) -> bool:
    meta, want_meta = current.get("metadata") or {}, wanted["metadata"]
    if (meta.get("labels") or {}).get(LABEL) != LABEL_VALUE:
        return False
    annotations = meta.get("annotations") or {}
    if any(annotations.get(k) != v for k, v in (want_meta.get("annotations") or {}).items()):
        return False
    if wanted["kind"] == "ClusterRole":
        return _rules(current.get("rules")) == _rules(wanted["rules"])
    return (current.get("roleRef") or {}) == wanted["roleRef"] and \
        _subjects(current.get("subjects")) == _subjects(wanted["subjects"])


# --- writing -------------------------------------------------------------------------------------

class _Writer:
    def __init__(self, client, cluster):
        self.client, self.cluster = client, cluster
        self.apis = {kind: client.resources.get(api_version=RBAC, kind=kind) for kind in KINDS}
        self.summary = {"created": 0, "updated": 0, "deleted": 0, "conflicts": []}
        self.errors: list[str] = []

    def owned(self, kind) -> dict:
        items = self.apis[kind].get(label_selector=SELECTOR).to_dict().get("items") or []
        return {(kind, (i["metadata"].get("namespace") or ""), i["metadata"]["name"]): i for i in items}

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - every failure is reported on the cluster's sync state
            raise explain(error, self.cluster) from error

    def put(self, key, wanted, current):
        kind, namespace, name = key
        api = self.apis[kind]
        ns = namespace or None
        if current is None:
            try:
                self._call(api.create, body=wanted, namespace=ns)
            except KubeError as error:
                if error.status == 409:  # exists without our label: someone else's
                    self.summary["conflicts"].append(f"{kind} {namespace + '/' if namespace else ''}{name}")
                    return
                raise
            self.summary["created"] += 1
            return
        if _same(current, wanted):
            return
        if kind != "ClusterRole" and current.get("roleRef") != wanted["roleRef"]:
            self._call(api.delete, name=name, namespace=ns)  # roleRef is immutable
            self._call(api.create, body=wanted, namespace=ns)
        else:
            body = {**wanted, "metadata": {**wanted["metadata"],
                                           "resourceVersion": current["metadata"]["resourceVersion"]}}
            self._call(api.replace, body=body, name=name, namespace=ns)
        self.summary["updated"] += 1

    def delete(self, key):
        kind, namespace, name = key
        try:
            self._call(self.apis[kind].delete, name=name, namespace=namespace or None)
        except KubeError as error:
            if error.status != 404:
                raise
        self.summary["deleted"] += 1


def apply(cluster, grants=None, target_type="cluster") -> dict:
    """Make the cluster's labelled RBAC objects equal to its effective permissions; any other
    gateway target (a federation) passes its `grants` (`effective.grants_for`) and its type."""
    try:
        client = system_client_for(cluster)
        namespace_api = client.resources.get(api_version="v1", kind="Namespace")
        namespaces = {n["metadata"]["name"] for n in namespace_api.get().to_dict().get("items") or []}
        writer = _Writer(client, cluster)
        current = {}
        for kind in KINDS:
            current.update(writer._call(writer.owned, kind))
    except KubeError:
        raise
    except Exception as error:  # noqa: BLE001 - connection and API failures alike
        raise explain(error, cluster) from error
    wanted, missing = desired_objects(cluster, namespaces, grants, target_type)
    # Roles before the bindings that refer to them; stale bindings before their roles.
    for kind in KINDS:
        for key, body in sorted(wanted.items()):
            if key[0] == kind:
                writer.put(key, body, current.get(key))
    for kind in reversed(KINDS):
        for key in sorted(current):
            if key[0] == kind and key not in wanted:
                writer.delete(key)
    writer.summary["waiting_for_namespaces"] = missing
    return writer.summary


# --- running a sync and keeping its state -------------------------------------------------------

def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 1800))


def run(cluster_id: int) -> str:
    """One sync of one cluster; idempotent, so a retry or a duplicate run is harmless.
    Returns the resulting state (or "skipped" when the cluster cannot be synced now)."""
    return run_once(cluster_id)[0]


def run_once(cluster_id: int) -> tuple[str, bool]:
    """`run`, and whether a newer request came in meanwhile: the caller (the task) then
    sends another run, so the newest bindings win."""
    with transaction.atomic():
        cluster = RegisteredCluster.objects.filter(pk=cluster_id).select_related("account").first()
        if cluster is None:
            return "skipped", False
        state, _ = ClusterPermissionSync.objects.get_or_create(cluster=cluster)
        if cluster.status not in SYNCABLE:
            return "skipped", False  # stays as it is; becoming running triggers a sync
        generation = state.generation
        ClusterPermissionSync.objects.filter(pk=cluster.pk).update(
            attempts=F("attempts") + 1, last_attempt_at=timezone.now())
    error, summary = "", {}
    try:
        summary = apply(cluster)
    except KubeError as failure:
        error = str(failure)
    if summary.get("conflicts"):
        error = "Objects not managed by CCE One are in the way: " + ", ".join(summary["conflicts"])
    return _finish(cluster, generation, error, summary)


def _finish(cluster, generation, error, summary) -> tuple[str, bool]:
    now = timezone.now()
    with transaction.atomic():
        state = ClusterPermissionSync.objects.select_for_update().get(pk=cluster.pk)
        previous = state.state
        if state.generation != generation:
            # A newer request came in meanwhile: run again (the task sends it) so the newest
            # bindings win.
            return state.state, True
        if error:
            state.state, state.error = State.FAILED, error
            state.next_attempt_at = now + backoff(state.attempts)
        else:
            state.state, state.error, state.attempts, state.next_attempt_at = State.SYNCED, "", 0, None
            state.synced_generation, state.synced_at = generation, now
        state.summary = summary
        state.save()
        changed = summary.get("created") or summary.get("updated") or summary.get("deleted")
        if error and (previous != State.FAILED or state.attempts <= 1):
            record(None, "permissions:sync", cluster, account=cluster.account,
                   result=AuditEvent.Result.FAILED, details={"error": error})
        elif changed:
            record(None, "permissions:sync", cluster, account=cluster.account,
                   details={k: summary[k] for k in ("created", "updated", "deleted")})
    return state.state, False


def mark_pending(clusters) -> list[int]:
    """Mark the clusters' RBAC as pending (a newer generation); the ids of those to sync
    (`tasks.request_sync` sends them once the transaction commits)."""
    now = timezone.now()
    pending = []
    for cluster in clusters:
        if cluster.status in GONE:
            continue
        ClusterPermissionSync.objects.get_or_create(cluster=cluster)
        ClusterPermissionSync.objects.filter(pk=cluster.pk).update(
            generation=F("generation") + 1, state=State.PENDING, error="",
            attempts=0, next_attempt_at=None, requested_at=now)
        pending.append(cluster.pk)
    return pending


def never_synced():
    """Running clusters without a sync state yet (created before the app, or a lost request)."""
    return RegisteredCluster.objects.filter(status__in=SYNCABLE, permission_sync__isnull=True)


def due(now=None) -> list[int]:
    """For the periodic resync (Celery beat): failed syncs whose back-off is over, requests
    whose task was lost, and every running cluster now and then (namespaces created since,
    IAM changes that move users in or out of `restricted`)."""
    now = now or timezone.now()
    every = timedelta(seconds=_setting("CCEONE_PERMISSION_RESYNC_SECONDS", 600))
    max_attempts = _setting("CCEONE_PERMISSION_SYNC_MAX_ATTEMPTS", 8)
    fresh = []
    for state in ClusterPermissionSync.objects.filter(cluster__status__in=SYNCABLE):
        is_due = (
            (state.state == State.FAILED and state.attempts < max_attempts
             and (state.next_attempt_at is None or state.next_attempt_at <= now))
            or (state.state == State.PENDING
                and (state.last_attempt_at or state.requested_at or now) <= now - timedelta(minutes=2))
            or (state.state in (State.SYNCED, State.FAILED)
                and (state.last_attempt_at is None or state.last_attempt_at <= now - every))
        )
        if is_due:
            fresh.append(state.pk)
    return fresh
