"""Every write to a Kubernetes target, as the user (impersonated through the gateway).

Each function checks that the user may open the target's console (IAM), lets the
target's own RBAC decide the rest, and audits the write with `record()` — success,
denial (403) or failure — naming the target and the object (kind, namespace, name).
Input the console can reject itself (invalid YAML, a kind it does not manage, a name
that changes) raises ValidationError before anything is sent.
"""
import base64
import time
from contextlib import contextmanager
from datetime import datetime, timezone

import yaml
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext as _

from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from cceone.kube.gateway import KubeError
from cceone.queue import stale_before

from . import registry, signals
from .formatting import meta, spec
from .kube import JSON_PATCH, Api
from .models import NodeDrain
from .targets import Unavailable, require_console, resolve

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
MAX_REPLICAS = 1000


def _details(kind, namespace, name, **extra) -> dict:
    return {"kind": kind.kind, "namespace": namespace or "", "name": name or "", **extra}


@contextmanager
def audited(user, target, action: str, kind, namespace, name, **extra):
    """Record the write as done, or as denied/failed with the reason, then re-raise."""
    try:
        yield
    except KubeError as error:
        result = AuditEvent.Result.DENIED if error.status == 403 else AuditEvent.Result.FAILED
        record(user, action, target.audit_ref, result=result,
               details=_details(kind, namespace, name, error=error.message, **extra))
        raise
    record(user, action, target.audit_ref, details=_details(kind, namespace, name, **extra))


# --- YAML ---------------------------------------------------------------------------------

def parse_manifests(text: str) -> list[dict]:
    """The Kubernetes objects of a (multi-document) YAML text; `kind: List` is unpacked."""
    try:
        documents = [d for d in yaml.safe_load_all(text or "") if d is not None]
    except yaml.YAMLError as error:
        mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
        if mark is not None and problem:
            raise ValidationError(_("Invalid YAML at line %(line)d, column %(column)d: %(problem)s") % {
                "line": mark.line + 1, "column": mark.column + 1, "problem": problem}) from None
        raise ValidationError(_("Invalid YAML: %(error)s") % {"error": error}) from None
    if not documents:
        raise ValidationError(_("The YAML contains no object."))
    objects = []
    for number, document in enumerate(documents, 1):
        if not isinstance(document, dict):
            raise ValidationError(_("Document %(number)d is not a Kubernetes object.") % {"number": number})
        if document.get("kind") == "List" and isinstance(document.get("items"), list):
            objects.extend(document["items"])
        else:
            objects.append(document)
    return objects


def plan(target, manifest: dict, number: int, default_namespace: str | None):
    """(kind, namespace, name) of one manifest, or ValidationError saying what is wrong."""
    if not isinstance(manifest, dict) or not manifest.get("apiVersion") or not manifest.get("kind"):
        raise ValidationError(_("Document %(number)d needs apiVersion and kind.") % {"number": number})
    kind = registry.for_object(manifest["apiVersion"], manifest["kind"])
    if kind is None or not target.serves(kind):
        raise ValidationError(_("Document %(number)d: %(kind)s (%(api_version)s) is not a kind this console "
                                "manages.") % {"number": number, "kind": manifest["kind"],
                                                 "api_version": manifest["apiVersion"]})
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict) or not (metadata.get("name") or metadata.get("generateName")):
        raise ValidationError(_("Document %(number)d has no metadata.name.") % {"number": number})
    namespace = (metadata.get("namespace") or default_namespace or "default") if kind.namespaced else None
    if kind.namespaced:
        metadata["namespace"] = namespace
    return kind, namespace, metadata.get("name") or metadata.get("generateName")


def create_objects(user, target, text: str | None = None, default_namespace: str | None = None,
                   manifests: list | None = None) -> list[tuple]:
    """Create every object of the YAML (or of `manifests`, built by a form).

    All documents are first sent as a server-side dry run, so an invalid one changes
    nothing; objects in a namespace the same YAML creates are checked when created.
    Returns [(kind, namespace, name)] in order.
    """
    require_console(user, target)
    objects = manifests if manifests is not None else parse_manifests(text)
    planned = [(*plan(target, obj, number, default_namespace), obj) for number, obj in enumerate(objects, 1)]
    api = Api(target.obj, user)
    new_namespaces = {name for kind, _ns, name, _obj in planned if kind.is_namespace}
    for number, (kind, namespace, name, obj) in enumerate(planned, 1):
        if namespace in new_namespaces:
            continue
        with _numbered(number, len(planned), kind, name), \
                _audit_failure(user, target, "k8s:create", kind, namespace, name):
            api.create(kind, obj, namespace, dry_run=True)
    created = []
    for number, (kind, namespace, name, obj) in enumerate(planned, 1):
        with _numbered(number, len(planned), kind, name, created), \
                audited(user, target, "k8s:create", kind, namespace, name):
            result = api.create(kind, obj, namespace)
        created.append((kind, namespace, meta(result).get("name") or name))
    return created


@contextmanager
def _audit_failure(user, target, action, kind, namespace, name):
    """Audit a refused dry run (nothing changed, but the attempt is worth knowing)."""
    try:
        yield
    except KubeError as error:
        result = AuditEvent.Result.DENIED if error.status == 403 else AuditEvent.Result.FAILED
        record(user, action, target.audit_ref, result=result,
               details=_details(kind, namespace, name, error=error.message, dry_run=True))
        raise


@contextmanager
def _numbered(number, total, kind, name, created=None):
    """Say which document failed when the YAML holds several."""
    try:
        yield
    except KubeError as error:
        if total > 1:
            prefix = _("Document %(number)d (%(kind)s %(name)s): ") % {"number": number, "kind": kind.kind,
                                                                        "name": name}
            if created:
                prefix = _("Created %(done)s; then ") % {
                    "done": ", ".join(f"{k.kind} {n}" for k, _ns, n in created)} + prefix
            error.message = prefix + error.message
        raise


def replace_object(user, target, kind, namespace, name, text: str) -> dict:
    """Save an edited object. The resourceVersion it was read at must still be current:
    otherwise Kubernetes answers 409 Conflict and nothing changes."""
    require_console(user, target)
    objects = parse_manifests(text)
    if len(objects) != 1:
        raise ValidationError(_("Edit one object at a time: the YAML holds %(count)d.") % {"count": len(objects)})
    obj = objects[0]
    if not isinstance(obj, dict) or obj.get("kind") != kind.kind or obj.get("apiVersion") != kind.api_version:
        raise ValidationError(_("The kind cannot be changed: this object is a %(kind)s (%(api_version)s).")
                              % {"kind": kind.kind, "api_version": kind.api_version})
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if metadata.get("name") != name or (kind.namespaced and metadata.get("namespace", namespace) != namespace):
        raise ValidationError(_("The name and namespace cannot be changed; create a new object instead."))
    if not metadata.get("resourceVersion"):
        raise ValidationError(_("Keep metadata.resourceVersion: it makes sure you do not overwrite a change "
                                "someone else made meanwhile."))
    require_writable(kind)
    api = Api(target.obj, user)
    with audited(user, target, "k8s:update", kind, namespace, name):
        if not kind.system_keys:
            return api.replace(kind, name, obj, namespace)
        # A JSON patch of what the user changed: the API server's own labels and finalizers stay
        # whatever the YAML says; checked as a dry run first, at the resourceVersion read (409 if
        # someone changed the object since).
        ops = edit_patch(api.get(kind, name, namespace), obj, kind.system_keys)
        if not ops:
            return api.get(kind, name, namespace)
        ops.insert(0, {"op": "replace", "path": "/metadata/resourceVersion", "value": metadata["resourceVersion"]})
        api.patch(kind, name, ops, namespace, content_type=JSON_PATCH, dry_run=True)
        return api.patch(kind, name, ops, namespace, content_type=JSON_PATCH)


# What an edit never changes: the server's bookkeeping (resourceVersion is sent as the precondition).
_SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "finalizers",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "selfLink")


def _pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _json_diff(old, new, parts=()) -> list[dict]:
    if isinstance(old, dict) and isinstance(new, dict):
        ops = [{"op": "remove", "path": _pointer((*parts, key))} for key in old if key not in new]
        for key, value in new.items():
            if key not in old:
                ops.append({"op": "add", "path": _pointer((*parts, key)), "value": value})
            else:
                ops.extend(_json_diff(old[key], value, (*parts, key)))
        return ops
    return [] if old == new else [{"op": "replace", "path": _pointer(parts), "value": new}]


def edit_patch(current: dict, edited: dict, system_keys=()) -> list[dict]:
    """The JSON patch (RFC 6902) taking `current` to `edited`, leaving alone its status, the
    server's metadata and labels/annotations whose key starts with one of `system_keys`."""

    def view(obj: dict) -> dict:
        obj = {key: value for key, value in (obj or {}).items() if key != "status"}
        metadata = {key: value for key, value in (obj.get("metadata") or {}).items() if key not in _SERVER_FIELDS}
        for field in ("labels", "annotations"):
            if field in metadata:
                metadata[field] = {k: v for k, v in (metadata[field] or {}).items()
                                   if not k.startswith(tuple(system_keys))}
        obj["metadata"] = metadata
        return obj

    before, after = view(current), view(edited)
    ops = []
    for field in ("labels", "annotations"):  # a map the user emptied or added keeps the server's keys
        had, has = field in before["metadata"], field in after["metadata"]
        if had and not has:
            after["metadata"][field] = {}
        elif has and not had:
            before["metadata"][field] = {}
            ops.append({"op": "add", "path": f"/metadata/{field}", "value": {}})
    return ops + _json_diff(before, after)


def require_writable(kind) -> None:
    """A kind the console only reads (a binding the scheduler writes) is not changed here."""
    if not kind.writable:
        raise ValidationError(_("%(kind)s objects are written by the control plane; the console only reads "
                                "them.") % {"kind": kind.kind})


def delete_object(user, target, kind, namespace, name, confirmation: str = "") -> None:
    require_console(user, target)
    require_writable(kind)
    if kind.delete_confirmation and confirmation.strip() != name:
        raise ValidationError(kind.delete_confirmation.refusal % {"name": name})
    with audited(user, target, "k8s:delete", kind, namespace, name):
        Api(target.obj, user).delete(kind, name, namespace)


def scale(user, target, kind, namespace, name, replicas) -> None:
    require_console(user, target)
    require_writable(kind)
    if not kind.scalable:
        raise ValidationError(_("A %(kind)s cannot be scaled.") % {"kind": kind.kind})
    try:
        replicas = int(replicas)
    except (TypeError, ValueError):
        replicas = -1
    if not 0 <= replicas <= MAX_REPLICAS:
        raise ValidationError({"replicas": _("Replicas must be a whole number from 0 to %(max)d.")
                                           % {"max": MAX_REPLICAS}})
    with audited(user, target, "k8s:scale", kind, namespace, name, replicas=replicas):
        Api(target.obj, user).patch(kind, name, {"spec": {"replicas": replicas}}, namespace, subresource="scale")


def restart(user, target, kind, namespace, name) -> None:
    """A rollout restart, as `kubectl rollout restart` does it: a new pod-template annotation."""
    require_console(user, target)
    if not kind.restartable:
        raise ValidationError(_("A %(kind)s cannot be restarted.") % {"kind": kind.kind})
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
    with audited(user, target, "k8s:restart", kind, namespace, name):
        Api(target.obj, user).patch(kind, name, body, namespace)


def reveal(user, target, kind, namespace, name, key: str | None = None) -> dict:
    """The object with what its kind redacts (Kind.redact), read as an explicit, audited
    action (`k8s:reveal-secret` for a Secret); `key` names the part revealed, if one."""
    require_console(user, target)
    with audited(user, target, f"k8s:reveal-{kind.kind.lower()}", kind, namespace, name, key=key or "*"):
        return Api(target.obj, user).get(kind, name, namespace)


def reveal_secret(user, target, namespace, name, key: str | None = None) -> dict[str, str]:
    """The decoded values of a Secret (one key, or all): an explicit, audited action."""
    secret = reveal(user, target, registry.get("secrets"), namespace, name, key)
    data = secret.get("data") or {}
    if key is not None and key not in data:
        raise Http404(key)
    return {k: _decode(v) for k, v in data.items() if key is None or k == key}


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value or "").decode()
    except (ValueError, UnicodeDecodeError):
        return _("(binary data, %(size)d bytes)") % {"size": len(base64.b64decode(value or "", validate=False))}


# --- nodes --------------------------------------------------------------------------------

def _node_patch(user, target, action, name, body, **extra) -> dict:
    require_console(user, target)
    kind = registry.get("nodes")
    with audited(user, target, action, kind, None, name, **extra):
        return Api(target.obj, user).patch(kind, name, body)


def cordon(user, target, name, unschedulable: bool = True) -> dict:
    return _node_patch(user, target, "k8s:cordon" if unschedulable else "k8s:uncordon", name,
                       {"spec": {"unschedulable": True if unschedulable else None}})


def set_labels(user, target, kind, namespace, name, labels: dict, resource_version: str) -> dict:
    """Replace the object's labels with `labels` (removed keys are deleted), unless the
    object changed since `resource_version` (409)."""
    require_console(user, target)
    require_writable(kind)
    api = Api(target.obj, user)
    current = api.get(kind, name, namespace)
    # The API server's own labels (Karmada's permanent ids) stay whatever the list says.
    changes = {key: None for key in meta(current).get("labels") or {}
               if key not in labels and not (kind.system_keys and key.startswith(kind.system_keys))}
    changes.update(labels)
    body = {"metadata": {"labels": changes, "resourceVersion": resource_version}}
    with audited(user, target, "k8s:labels", kind, namespace, name, labels=labels):
        return api.patch(kind, name, body, namespace)


TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def add_taint(user, target, name, key: str, value: str, effect: str) -> dict:
    require_console(user, target)
    key, value = (key or "").strip(), (value or "").strip()
    if not key:
        raise ValidationError(_("A taint needs a key."))
    if effect not in TAINT_EFFECTS:
        raise ValidationError(_("Choose the taint's effect."))
    kind = registry.get("nodes")
    api = Api(target.obj, user)
    node = api.get(kind, name)
    taints = [t for t in spec(node).get("taints") or [] if (t.get("key"), t.get("effect")) != (key, effect)]
    taints.append({k: v for k, v in (("key", key), ("value", value), ("effect", effect)) if v})
    return _write_taints(user, target, api, node, taints, "k8s:taint", key=key, effect=effect)


def remove_taint(user, target, name, key: str, effect: str) -> dict:
    require_console(user, target)
    kind = registry.get("nodes")
    api = Api(target.obj, user)
    node = api.get(kind, name)
    taints = [t for t in spec(node).get("taints") or [] if (t.get("key"), t.get("effect")) != (key, effect)]
    return _write_taints(user, target, api, node, taints, "k8s:untaint", key=key, effect=effect)


def _write_taints(user, target, api, node, taints, action, **extra) -> dict:
    kind, name = registry.get("nodes"), meta(node)["name"]
    # A JSON patch with a test on resourceVersion: a concurrent change makes it fail (409/422)
    # instead of being overwritten.
    operations = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta(node)["resourceVersion"]},
                  {"op": "add", "path": "/spec/taints", "value": taints}]
    with audited(user, target, action, kind, None, name, **extra):
        return api.patch(kind, name, operations, content_type=JSON_PATCH)


# --- drain --------------------------------------------------------------------------------

def start_drain(user, target, name: str) -> NodeDrain:
    """Cordon the node and evict its pods in the background (resources.tasks.drain_node).
    Asking again while a drain of the node runs returns that drain."""
    require_console(user, target)
    Api(target.obj, user).get(registry.get("nodes"), name)  # exists, and the user may see it
    timeout = int(getattr(settings, "CCEONE_DRAIN_TIMEOUT", 600))
    lookup = {"target_type": target.type.name, "target_id": target.id, "node": name}
    try:
        with transaction.atomic():
            drain = NodeDrain.objects.create(account_id=user.account_id, target_name=target.name,
                                             requested_by=user, timeout_seconds=timeout, **lookup)
            record(user, "k8s:drain", target.audit_ref, details=_details(registry.get("nodes"), None, name))
            _enqueue_drain(drain)
    except IntegrityError:
        return NodeDrain.objects.get(status__in=NodeDrain.ACTIVE, **lookup)
    return drain


def _enqueue_drain(drain: NodeDrain, countdown: float | None = None) -> None:
    signals.drain_pass_due.send(NodeDrain, drain=drain, countdown=countdown)


def _skip_reason(pod: dict) -> str:
    if any(ref.get("kind") == "DaemonSet" for ref in meta(pod).get("ownerReferences") or []):
        return _("DaemonSet pod: it runs on every node and is not evicted.")
    if "kubernetes.io/config.mirror" in (meta(pod).get("annotations") or {}):
        return _("Static pod: managed by the node's kubelet.")
    return ""


def _save(drain: NodeDrain, entries: dict, **fields) -> None:
    drain.pods = list(entries.values())
    for key, value in fields.items():
        setattr(drain, key, value)
    drain.heartbeat_at = dj_timezone.now()
    drain.save(update_fields=["pods", "updated_at", "heartbeat_at", *fields])


def _finish(drain: NodeDrain, entries: dict, status: str, message: str) -> None:
    _save(drain, entries, status=status, message=message, finished_at=dj_timezone.now())
    if status == NodeDrain.Status.FAILED and drain.requested_by_id:
        record(drain.requested_by, "k8s:drain", (drain.target_type, drain.target_id, drain.target_name),
               account=drain.account, result=AuditEvent.Result.FAILED,
               details={"kind": "Node", "namespace": "", "name": drain.node, "error": message})


def run_drain(drain_id: int, user_id: int, run: int | None = None) -> None:
    """One pass of the drain (idempotent: a rerun continues where the last one stopped).

    Cordon; then evict every pod on the node except DaemonSet and static pods. An
    eviction a PodDisruptionBudget refuses (429) is tried again by the next pass, sent
    with a countdown (no worker slot sleeps meanwhile), until the drain's timeout; any
    other refusal fails that pod. Progress is saved per pod, and each save is a heartbeat.
    A pass of an older `run` than the drain's (a late message from before a resume) does nothing.
    """
    from cceone.iam.models import User

    drain = NodeDrain.objects.select_related("requested_by").filter(pk=drain_id).first()
    if drain is None or not drain.is_active or run is not None and run != drain.run:
        return
    entries = {(p["namespace"], p["name"]): p for p in drain.pods}
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return _finish(drain, entries, NodeDrain.Status.FAILED, _("The user who started the drain is gone."))
    try:
        target = resolve(drain.target_type, user, drain.target_id)
        require_console(user, target)
    except (Http404, PermissionDenied, Unavailable) as error:
        return _finish(drain, entries, NodeDrain.Status.FAILED,
                       getattr(error, "message", "") or _("The target is no longer available to you."))
    if drain.started_at is None:
        _save(drain, entries, status=NodeDrain.Status.RUNNING, started_at=dj_timezone.now())
    deadline = drain.started_at.timestamp() + drain.timeout_seconds
    interval = float(getattr(settings, "CCEONE_DRAIN_RETRY_SECONDS", 5))
    api = Api(target.obj, user)
    nodes, pods = registry.get("nodes"), registry.get("pods")
    try:
        if not spec(api.get(nodes, drain.node)).get("unschedulable"):
            api.patch(nodes, drain.node, {"spec": {"unschedulable": True}})
        found = api.list_all(pods, field_selector=f"spec.nodeName={drain.node}")
        on_node = {(meta(pod)["namespace"], meta(pod)["name"]) for pod in found}
        for key in on_node - entries.keys():
            entries[key] = {"namespace": key[0], "name": key[1], "state": "pending", "message": ""}
        # Off the node since an earlier pass: evicted by a pass whose worker died before it
        # saved, or gone on its own (a Job's pod finished, someone deleted it).
        for key, entry in entries.items():
            if key not in on_node and entry["state"] in ("pending", "blocked"):
                entry.update(state="gone", message="")
        _save(drain, entries)
        for pod in found:
            entry = entries[(meta(pod)["namespace"], meta(pod)["name"])]
            if entry["state"] in ("evicted", "skipped", "failed", "gone"):
                continue
            reason = _skip_reason(pod)
            if reason:
                entry.update(state="skipped", message=reason)
            else:
                _evict(api, pods, entry)
            _save(drain, entries)
    except KubeError as error:
        return _finish(drain, entries, NodeDrain.Status.FAILED, error.message)
    states = [e["state"] for e in entries.values()]
    if "blocked" not in states:
        if "failed" in states:
            return _finish(drain, entries, NodeDrain.Status.FAILED,
                           _("%(count)d pod(s) could not be evicted.") % {"count": states.count("failed")})
        return _finish(drain, entries, NodeDrain.Status.SUCCEEDED,
                       _("Node drained: %(count)d pod(s) evicted.") % {"count": states.count("evicted")})
    if time.time() + interval > deadline:
        return _finish(drain, entries, NodeDrain.Status.FAILED, _(
            "Timed out after %(seconds)d s: %(count)d pod(s) still blocked by a PodDisruptionBudget.")
            % {"seconds": drain.timeout_seconds, "count": states.count("blocked")})
    _enqueue_drain(drain, countdown=interval)


def recover_stalled_drains() -> dict:
    """Active drains whose heartbeat stopped (their worker was killed, their message lost):
    resumed under a new run, or failed with the reason once resumed too often."""
    counts = {"resumed": 0, "failed": 0}
    limit = settings.CCEONE_RECOVERY_MAX_RESUMES
    for drain in NodeDrain.objects.filter(status__in=NodeDrain.ACTIVE, heartbeat_at__lt=stale_before()):
        with transaction.atomic():
            # Claimed with the heartbeat it was found with: a pass that beat since wins.
            claimed = NodeDrain.objects.filter(pk=drain.pk, status__in=NodeDrain.ACTIVE,
                                               heartbeat_at=drain.heartbeat_at).update(
                run=F("run") + 1, heartbeat_at=dj_timezone.now())
            if not claimed:
                continue
            drain.refresh_from_db()
            entries = {(p["namespace"], p["name"]): p for p in drain.pods}
            if drain.run > limit:
                _finish(drain, entries, NodeDrain.Status.FAILED, _(
                    "The drain stopped making progress: the worker running it was lost %(count)d times. "
                    "Drain the node again to continue.") % {"count": drain.run})
                counts["failed"] += 1
                continue
            _save(drain, entries, message=_("Resumed after the worker running it was lost (attempt %(run)d of "
                                            "%(limit)d).") % {"run": drain.run, "limit": limit})
            _enqueue_drain(drain)
            counts["resumed"] += 1
    return counts


def _evict(api, pods, entry: dict) -> None:
    try:
        api.evict(pods, entry["namespace"], entry["name"])
    except KubeError as error:
        if error.status == 404:
            entry.update(state="evicted", message=_("Already gone."))
        elif error.status == 429:
            entry.update(state="blocked", message=_budget_message(error))
        elif error.status == 403:
            raise
        else:
            entry.update(state="failed", message=error.message)
        return
    entry.update(state="evicted", message="")


def _budget_message(error: KubeError) -> str:
    """The eviction's refusal, with the budget's own explanation when the API gave one."""
    import json

    cause = error.message
    try:
        body = json.loads(getattr(error.__cause__, "body", None) or "{}")
        causes = (body.get("details") or {}).get("causes") or []
        cause = next((c["message"] for c in causes if c.get("message")), cause)
    except (TypeError, ValueError):
        pass
    return _("Blocked by a PodDisruptionBudget, retrying: %(cause)s") % {"cause": cause}
