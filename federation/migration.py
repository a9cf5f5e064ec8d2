"""Incremental migration (R6.2, issue #15 item 7): an application of a source member taken over
by the federation (`federation.promote`, its pods untouched), then its replicas shifted to a
target member step by step, by the static weights the user chose (100:0 → 50:50 → 0:100).

A step is nothing but the promoted objects' PropagationPolicies rewritten: the workloads
(Deployments, StatefulSets) divided by static weights among the members whose weight is above
zero, every other object duplicated to those members — both while the migration runs, the
target alone at the end. `preserveResourcesOnDeletion` is turned off so a member leaving the
placement loses its copies (promote set it on, so adopting never deletes anything).

The row (`FederationMigration`) is the truth. Moving on or back writes the row first, then
the policies (each read and rewritten only when it differs, so applying a step twice is
harmless); `refresh()` marks the step reached once the target's replicas are ready in the
ResourceBindings' aggregated status and no member still reports more than its share. The page polls `refresh()`; the beat sweep does the
same for migrations nobody watches, re-applies a step whose writes were cut short, and
marks a step stalled when nothing has moved for `STALL_SECONDS`.
"""
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from cceone.iam.access import can, require
from cceone.kube.gateway import KubeError
from resources import registry
from resources.kube import JSON_PATCH, Api

from . import karmada, policies
from . import promote as promotion
from .models import Federation, FederationMigration
from .workloads import DEPLOY_ACTION, REPLICATED, binding_name

MIGRATE_ACTION = DEPLOY_ACTION
MAX_STEPS = 20
MAX_WEIGHT = 10000
STEP = re.compile(r"^(\d+):(\d+)$")
State = FederationMigration.State
log = logging.getLogger(__name__)


def stall_seconds() -> float:
    return float(getattr(settings, "CCEONE_FEDERATION_MIGRATION_STALL_SECONDS", 600))


# ------------------------------------------------------------------ steps


def parse_steps(text: str) -> list[list[int]]:
    """`100:0 50:50 0:100` (spaces, commas or arrows between) → [[100, 0], [50, 50], [0, 100]]:
    each a pair of non-negative integers, the first all on the source, the last all on the target."""
    parts = [p for p in re.split(r"[\s,;]+|->|→", text or "") if p]
    steps = []
    for part in parts:
        match = STEP.match(part)
        if not match:
            raise ValidationError(_("“%(step)s” is not a step: write two non-negative whole numbers separated "
                                    "by a colon, such as 50:50.") % {"step": part})
        source, target = int(match[1]), int(match[2])
        if source > MAX_WEIGHT or target > MAX_WEIGHT:
            raise ValidationError(_("“%(step)s”: a weight is at most %(max)s.") % {"step": part, "max": MAX_WEIGHT})
        if not source and not target:
            raise ValidationError(_("“%(step)s” gives neither member a weight: one of the two must be above "
                                    "zero.") % {"step": part})
        steps.append([source, target])
    if len(steps) < 2:
        raise ValidationError(_("Give at least two steps: the first all on the source, such as 100:0, the last "
                                "all on the target, such as 0:100."))
    if len(steps) > MAX_STEPS:
        raise ValidationError(_("Give at most %(max)s steps.") % {"max": MAX_STEPS})
    if steps[0][1] != 0:
        raise ValidationError(_("The first step must keep everything on the source: its target weight is 0, "
                                "such as 100:0."))
    if steps[-1][0] != 0:
        raise ValidationError(_("The last step must put everything on the target: its source weight is 0, "
                                "such as 0:100."))
    return steps


def format_steps(steps) -> str:
    return " → ".join(f"{s}:{t}" for s, t in steps)


def members_at(migration: FederationMigration, index: int) -> dict[str, int]:
    """Member → weight for the members that hold something at that step."""
    source, target = migration.steps[index]
    return {name: weight for name, weight in ((migration.source, source), (migration.target, target)) if weight}


def placement_at(migration: FederationMigration, index: int, kind: str) -> dict:
    weights = members_at(migration, index)
    if kind in REPLICATED:
        return policies.Placement(mode=policies.DIVIDED, cluster_names=list(weights), weights=weights).manifest()
    return policies.Placement(mode=policies.DUPLICATED, cluster_names=list(weights)).manifest()


# ------------------------------------------------------------------ where the replicas are


@dataclass
class ObjectRow:
    kind: str
    name: str
    binding: bool = False
    observed: bool = False  # the binding holds this step's placement and the scheduler has seen it
    scheduled: dict = field(default_factory=dict)  # member → replicas (binding spec.clusters)
    ready: dict = field(default_factory=dict)  # member → ready replicas (aggregatedStatus)
    applied: dict = field(default_factory=dict)  # member → applied
    replicated: bool = False

    def without_share(self, migration: FederationMigration) -> list[str]:
        """Members the step weights above 0 that Karmada gave none of this workload's replicas:
        it divides whole replicas (50:50 of one replica puts it on one member)."""
        if not (self.replicated and self.observed) or not sum(self.scheduled.values()):
            return []  # not yet seen by the scheduler, or no replicas to divide
        members = (migration.source, migration.target)
        return [m for m, weight in zip(members, migration.weights) if weight > 0 and not self.scheduled.get(m)]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "observed": self.observed, "scheduled": self.scheduled,
                "ready": self.ready, "applied": self.applied}


def observe(api: Api, migration: FederationMigration) -> list[ObjectRow]:
    """Each promoted object's binding: whether it holds the current step, and per member what is
    scheduled, applied and ready."""
    rows = []
    bindings = registry.get("resourcebindings")
    for obj in migration.promoted:
        row = ObjectRow(obj["kind"], obj["name"], replicated=obj["kind"] in REPLICATED)
        try:
            found = api.get(bindings, binding_name(obj["name"], obj["kind"]), migration.namespace)
        except KubeError as error:
            if error.status != 404:
                raise
            rows.append(row)
            continue
        row.binding = True
        status = found.get("status") or {}
        generation = (found.get("metadata") or {}).get("generation") or 0
        row.observed = ((found.get("spec") or {}).get("placement") == placement_at(
            migration, migration.current_step, obj["kind"])
            and (status.get("schedulerObservedGeneration") or 0) >= generation)
        row.scheduled = {c.get("name"): int(c.get("replicas") or 0) for c in (found.get("spec") or {})
                         .get("clusters") or []}
        for entry in status.get("aggregatedStatus") or []:
            member = entry.get("clusterName")
            row.applied[member] = bool(entry.get("applied"))
            row.ready[member] = int(((entry.get("status") or {}).get("readyReplicas")) or 0)
        rows.append(row)
    return rows


def step_reached(migration: FederationMigration, rows: list[ObjectRow]) -> bool:
    """Every object holds the step, is applied where it should be, the target runs its share and
    no member runs more than its own.

    The last check because the status Karmada collects right after applying a smaller share is
    the member's status from before its controllers scaled down (seen through the hub, where
    the member's watch lags, as a source still running 2 of its 1); the step is reached when
    the replicas have left, not when they were asked to. Only the target must be ready: a
    source whose own pods fail must still be able to move away."""
    members = members_at(migration, migration.current_step)
    for row in rows:
        if not row.binding or not row.observed:
            return False
        if any(not row.applied.get(member) for member in members if not row.replicated or row.scheduled.get(member)):
            return False
        if row.replicated and row.ready.get(migration.target, 0) < row.scheduled.get(migration.target, 0):
            return False
        if row.replicated and any(row.ready.get(member, 0) > count for member, count in row.scheduled.items()):
            return False
    return True


def placed(rows: list[ObjectRow]) -> dict[str, int]:
    """Member → ready replicas of the application's workloads, summed."""
    found = {}
    for row in rows:
        if row.replicated:
            for member, count in row.ready.items():
                found[member] = found.get(member, 0) + count
    return found


# ------------------------------------------------------------------ writes


def _event(migration: FederationMigration, event: str, **extra) -> None:
    migration.history.append({"event": event, "step": migration.current_step, "weights": list(migration.weights),
                              "at": timezone.now().isoformat(), **extra})


def apply_step(api: Api, migration: FederationMigration) -> list[str]:
    """Rewrite the promoted objects' policies for the current step; the names of those changed.
    Idempotent: a policy already as the step wants it is left alone."""
    changed = []
    kind = registry.get("propagationpolicies")
    for obj in migration.promoted:
        wanted = placement_at(migration, migration.current_step, obj["kind"])
        policy = api.get(kind, obj["policy"], migration.namespace)
        spec = policy.get("spec") or {}
        if spec.get("placement") == wanted and spec.get("preserveResourcesOnDeletion") is False:
            continue
        api.patch(kind, obj["policy"], [{"op": "add", "path": "/spec/placement", "value": wanted},
                                        {"op": "add", "path": "/spec/preserveResourcesOnDeletion", "value": False}],
                  migration.namespace, content_type=JSON_PATCH)
        changed.append(obj["policy"])
    return changed


def _members(api: Api) -> list[str]:
    return sorted(c["metadata"]["name"] for c in karmada.members(api))


@dataclass
class Start:
    source: str
    target: str
    namespace: str
    steps: list
    label_selector: str = ""


def _promoted_earlier(api: Api, given: Start, kind, name: str) -> str:
    """The PropagationPolicy of an object promoted from the source before (the Promote tab's: its
    name, that member only, selecting this object), which the migration then rewrites; else "".

    Promote, then migrate is the natural order for a user, and step 1 would otherwise find the
    object already federated and refuse the migration. Any other policy is the user's own
    placement, not ours to rewrite."""
    policy_name = promotion.policy_name({"apiVersion": kind.api_version, "kind": kind.kind,
                                         "metadata": {"name": name, "namespace": given.namespace}})
    try:
        policy = api.get(registry.get("propagationpolicies"), policy_name, given.namespace)
    except KubeError:
        return ""
    spec = policy.get("spec") or {}
    affinity = (spec.get("placement") or {}).get("clusterAffinity") or {}
    selects = any(s.get("kind") == kind.kind and s.get("name") == name for s in spec.get("resourceSelectors") or [])
    return policy_name if selects and affinity.get("clusterNames") == [given.source] else ""


def start(user, target, given: Start) -> FederationMigration:
    """Promote the application from the source (step 1, all on the source), record the migration
    and write its first step. Refused, with nothing changed, when the input is wrong or another
    migration of the same application is under way."""
    require(user, MIGRATE_ACTION, target.obj)
    api = Api(target.obj, user)
    names = _members(api)
    for key in ("source", "target"):
        if getattr(given, key) not in names:
            raise ValidationError({key: _("%(name)s is not a member cluster of this federation.")
                                   % {"name": getattr(given, key)}})
    if given.source == given.target:
        raise ValidationError({"target": _("Choose a target member other than the source.")})
    claims = _claims(api, given)
    with transaction.atomic():
        # The federation's row held from the check to the create: two starts of overlapping
        # applications (or a start and a roll back) are taken one after the other, not both.
        # Only that long: the promotion below waits for Karmada (up to 20 s), and a write
        # transaction that long would hold SQLite's one write lock for everyone.
        Federation.objects.select_for_update().get(pk=target.obj.pk)
        other, shared = _overlapping(target.obj, given, claims)
        if other is not None:
            raise ValidationError(_overlap_message(other, shared))
        # Nothing promoted yet marks the row as starting (the sweep drops one a crash left so).
        migration = FederationMigration.objects.create(
            federation=target.obj, source=given.source, target=given.target, namespace=given.namespace,
            label_selector=given.label_selector, steps=given.steps, claimed=sorted(claims), creator=user,
            step_started_at=timezone.now(),
            message=N_("Promoting the application from %(member)s."), message_params={"member": given.source})
    try:
        outcome = promotion.promote(user, target, _promote_request(given))
        plurals = {registry.get(p).kind: p for p in promotion.KINDS}
        objects = []
        for r in outcome.results:
            policy = r.policy if r.outcome == promotion.PROMOTED else ""
            if r.outcome == promotion.ALREADY:
                policy = _promoted_earlier(api, given, registry.get(plurals[r.kind]), r.name)
            if policy:
                objects.append({"kind": r.kind, "plural": plurals[r.kind], "name": r.name, "policy": policy})
    except BaseException:
        migration.delete()
        raise
    if not objects:
        migration.delete()
        reasons = "; ".join(f"{r.kind} {r.name}: {r.reason}" for r in outcome.results)
        raise ValidationError({"namespace": _("Nothing of this application was promoted from %(member)s%(reasons)s.")
                               % {"member": given.source, "reasons": f" ({reasons})" if reasons else ""}})
    with transaction.atomic():
        migration.promoted, migration.promotion = objects, outcome.as_dict()
        # From now on it holds what it took: an object federated before it (by someone's own
        # policy) or one whose promotion failed is not its to move, nor to refuse others over.
        migration.claimed = sorted(f"{o['kind']}/{o['name']}" for o in objects)
        migration.message, migration.message_params = "", {}
        _event(migration, "promoted", promoted=len(objects), restarted=outcome.restarted)
        migration.save()
        record(user, MIGRATE_ACTION, target.audit_ref, details={
            "operation": "migration-start", "migration": migration.pk, "source": given.source,
            "target": given.target, "namespace": given.namespace, "label_selector": given.label_selector,
            "steps": format_steps(given.steps), "objects": [f"{o['kind']}/{o['name']}" for o in objects]})
    _write_step(user, target, api, migration, "migration-step")
    return migration


def _promote_request(given: Start) -> promotion.Request:
    """The application from the source, with what its workloads use (the target needs those too)."""
    return promotion.Request(member=given.source, namespace=given.namespace, label_selector=given.label_selector,
                             dependencies=True)


def _claims(api: Api, given: Start) -> set[str]:
    """"Kind/name" of what the start would promote from the source now."""
    found = promotion.candidates(api, _promote_request(given))
    return {f"{c[0].kind}/{c[1]['metadata']['name']}" for c in found if not isinstance(c, promotion.Result)}


def _overlapping(federation, given: Start, claims: set[str]) -> tuple[FederationMigration | None, list[str]]:
    """An unfinished migration in the namespace that holds one of these objects, with those it
    shares: it claimed one of them, or a selector is empty (the whole namespace) or both are
    equal (its objects may have changed since it claimed them)."""
    for other in FederationMigration.objects.filter(federation=federation, namespace=given.namespace).exclude(
            state=State.COMPLETED).order_by("pk"):
        shared = sorted(claims & set(other.claimed))
        if shared or not given.label_selector or not other.label_selector \
                or other.label_selector == given.label_selector:
            return other, shared
    return None, []


def _overlap_message(other: FederationMigration, shared: list[str]) -> str:
    where = {"id": other.pk, "source": other.source, "target": other.target}
    if shared:
        return _("Migration %(id)s (%(source)s → %(target)s, not finished) already holds %(objects)s: continue it "
                 "on its page, or choose a selection without them.") % {**where, "objects": ", ".join(shared)}
    return _("Migration %(id)s (%(source)s → %(target)s, not finished) may hold the same objects: its selection "
             "is “%(selector)s” in this namespace. Continue it on its page.") % {
        **where, "selector": other.label_selector or _("every object")}


def _write_step(user, target, api: Api, migration: FederationMigration, operation: str) -> None:
    """The policies for the step the row now holds; a refusal is kept on the row (the sweep tries
    again) and audited as failed."""
    try:
        changed = apply_step(api, migration)
    except KubeError as error:
        migration.message = N_("Writing the policies for this step failed: %(message)s")
        migration.message_params = {"message": error.message}
        migration.save(update_fields=["message", "message_params", "updated_at"])
        record(user, MIGRATE_ACTION, target.audit_ref, result=AuditEvent.Result.FAILED, details={
            "operation": operation, "migration": migration.pk, "step": migration.current_step,
            "weights": migration.weights, "reason": error.message})
        return
    record(user, MIGRATE_ACTION, target.audit_ref, details={
        "operation": operation, "migration": migration.pk, "step": migration.current_step,
        "weights": migration.weights, "policies": changed})
    try:
        refresh(migration, api)
    except KubeError as error:
        # The policies are written: the row must stay (a caller's transaction rolled back would
        # forget a step Karmada already has). The page and the sweep look again.
        migration.message = N_("The policies were written, but reading the bindings failed: %(message)s")
        migration.message_params = {"message": error.message}
        migration.save(update_fields=["message", "message_params", "updated_at"])


def _move(user, target, migration_id: int, expected_step: int | None, delta: int) -> FederationMigration:
    require(user, MIGRATE_ACTION, target.obj)
    with transaction.atomic():
        # The federation first, as start() does: a roll back and a start are serialised.
        Federation.objects.select_for_update().get(pk=target.obj.pk)
        migration = FederationMigration.objects.select_for_update().get(pk=migration_id, federation=target.obj)
        if migration.promoted and expected_step is not None and expected_step != migration.current_step:
            raise ValidationError(_("The migration has moved since this page was shown: it is at step %(step)s now. "
                                    "Look again before choosing.") % {"step": migration.current_step + 1})
        refusal = migration.advance_refusal() if delta > 0 else migration.rollback_refusal()
        if refusal:
            raise ValidationError(refusal)
        migration.current_step += delta
        migration.state, migration.message, migration.step_started_at = State.SHIFTING, "", timezone.now()
        migration.message_params = {}
        _event(migration, "applied" if delta > 0 else "rolled-back", by=user.username)
        migration.save()
        # Still holding the row: the sweep, which re-applies the current step, cannot write an
        # older step's policies over these.
        _write_step(user, target, Api(target.obj, user), migration,
                    "migration-step" if delta > 0 else "migration-rollback")
    migration.refresh_from_db()
    return migration


def advance(user, target, migration_id: int, expected_step: int | None = None) -> FederationMigration:
    """The next step, once the current one is reached."""
    return _move(user, target, migration_id, expected_step, +1)


def rollback(user, target, migration_id: int, expected_step: int | None = None) -> FederationMigration:
    """Back one step, whatever the current one's state (a stalled step included)."""
    return _move(user, target, migration_id, expected_step, -1)


def refresh(migration: FederationMigration, api: Api) -> list[ObjectRow]:
    """Look at the bindings; mark the step reached (or the migration complete) when it is."""
    rows = observe(api, migration)
    if not migration.promoted or migration.state not in (State.SHIFTING, State.STALLED) \
            or not step_reached(migration, rows):
        return rows
    with transaction.atomic():
        locked = FederationMigration.objects.select_for_update().get(pk=migration.pk)
        if locked.state in (State.SHIFTING, State.STALLED) and locked.current_step == migration.current_step:
            locked.state = State.COMPLETED if locked.current_step == locked.last_step else State.READY
            locked.message, locked.message_params = "", {}
            _event(locked, "ready", placed=placed(rows))
            locked.save()
    migration.refresh_from_db()
    return rows


def sweep(now=None) -> dict:
    """Every minute (Celery beat): migrations shifting that nobody watches moved on when their step
    is reached, their step re-applied (writes cut short by a crash or a refusal), and marked
    stalled when nothing has moved for `stall_seconds()`. As the user who started them: the
    federation's RBAC still decides."""
    now = now or timezone.now()
    counts = {"reached": 0, "stalled": 0, "waiting": 0}
    for migration in FederationMigration.objects.filter(state=State.SHIFTING,
                                                        federation__status=Federation.Status.RUNNING
                                                        ).select_related("federation", "creator"):
        try:
            counts[_sweep_one(migration, now)] += 1
        except Exception:  # one bad row must not stop the sweep for the others
            log.exception("sweeping migration %s failed", migration.pk)
    return counts


def _sweep_one(migration: FederationMigration, now) -> str:
    stalled = migration.step_started_at and (now - migration.step_started_at).total_seconds() > stall_seconds()
    if not migration.promoted:  # still starting; or its start was cut short (a crash): drop it
        if stalled:
            with transaction.atomic():
                locked = FederationMigration.objects.select_for_update().filter(pk=migration.pk).first()
                if locked is not None and not locked.promoted:
                    locked.delete()
            return "stalled"
        return "waiting"
    reason, params = "", {}
    creator = migration.creator
    if creator is None or not creator.is_active or not can(creator, MIGRATE_ACTION, migration.federation):
        reason = N_("The user who started the migration can no longer act on it.")
    else:
        api = Api(migration.federation, creator)
        try:
            with transaction.atomic():  # the row held while writing: a user's move waits, then wins
                locked = FederationMigration.objects.select_for_update().get(pk=migration.pk)
                if locked.state == State.SHIFTING and locked.current_step == migration.current_step:
                    apply_step(api, locked)
            refresh(migration, api)
        except KubeError as error:
            reason = error.message
    if migration.state != State.SHIFTING:
        return "reached"
    if stalled:
        if not reason:
            reason = N_("The target's replicas were not ready within %(minutes)s minutes.")
            params = {"minutes": round(stall_seconds() / 60)}
        _stall(migration, reason, params)
        return "stalled"
    return "waiting"


def _stall(migration: FederationMigration, reason: str, params: dict) -> None:
    """`reason`: a msgid with its `params` (or Karmada's words), in the reader's language when shown."""
    with transaction.atomic():
        locked = FederationMigration.objects.select_for_update().get(pk=migration.pk)
        if locked.state != State.SHIFTING or locked.current_step != migration.current_step:
            return
        locked.state, locked.message, locked.message_params = State.STALLED, reason, params
        _event(locked, "stalled", reason=reason, reason_params=params)
        locked.save()
