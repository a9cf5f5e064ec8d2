"""Promote (R5.7): a member cluster's existing objects taken over by the federation without
restarting anything, as `karmadactl promote` does (karmada SPEC §5).

Each object is read from the member through Karmada's cluster proxy as the user
(`/apis/cluster.karmada.io/v1alpha1/clusters/<member>/proxy/...`, so the member's RBAC and
Karmada's decide), pruned of status and server-managed fields exactly as karmadactl prunes
them, annotated `work.karmada.io/conflict-resolution: overwrite`, and created in Karmada as
the resource template, with a PropagationPolicy naming that member only and
`conflictResolution: Overwrite`: Karmada's execution controller then adopts the member's
object in place (overwritten with identical content) instead of recreating it, so its pods
keep their UIDs. Several objects at once (kinds, a namespace, a label selector: a whole
application): every match gets a result, promoted, already federated or failed with the
reason. The pods of the namespace are listed before and after so the user sees nothing
restarted."""
import copy
import time
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from cceone.iam.access import require
from cceone.kube.gateway import KubeError
from resources import registry
from resources.kube import Api

from . import policies
from .workloads import DEPLOY_ACTION, binding_name

PROMOTE_ACTION = DEPLOY_ACTION
# The namespaced kinds a member's application is made of, in the order they are promoted
# (configuration first, so a workload's template never refers to a missing object).
KINDS = ("configmaps", "secrets", "persistentvolumeclaims", "services", "deployments", "statefulsets",
         "daemonsets", "jobs", "cronjobs", "ingresses")
CONFLICT_ANNOTATION = "work.karmada.io/conflict-resolution"
PROMOTED, ALREADY, FAILED = "promoted", "already-federated", "failed"
OUTCOMES = {PROMOTED: gettext_lazy("Promoted"), ALREADY: gettext_lazy("Already federated"),
            FAILED: gettext_lazy("Failed")}
PRUNED_METADATA = ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                   "managedFields", "resourceVersion", "selfLink", "uid", "ownerReferences", "finalizers")
JOB_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name")
# Labels the member's own objects may carry from an earlier Karmada: not the template's.
WORK_LABELS = ("work.karmada.io/permanent-id", "karmada.io/managed")


def prune(obj: dict) -> dict:
    """The resource template karmadactl promote makes of a member's object (SPEC §5 steps 5-6)."""
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    meta = obj.setdefault("metadata", {})
    for key in PRUNED_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind == "Deployment":
        annotations.pop("deployment.kubernetes.io/revision", None)
        annotations.pop("deployment.kubernetes.io/revision-history", None)
    elif kind == "Job" and not spec.get("manualSelector"):
        for holder in ((spec.get("selector") or {}).get("matchLabels"),
                       ((spec.get("template") or {}).get("metadata") or {}).get("labels")):
            for key in JOB_LABELS:
                (holder or {}).pop(key, None)
        if spec.get("selector") == {"matchLabels": {}} or spec.get("selector") == {}:
            spec.pop("selector")
    elif kind == "Service" and spec.get("clusterIP") != "None":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    elif kind == "ServiceAccount":
        name = meta.get("name", "")
        obj["secrets"] = [s for s in obj.get("secrets") or [] if not s.get("name", "").startswith(f"{name}-token-")]
    elif kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        obj.pop("data", None)
        annotations.pop("kubernetes.io/service-account.uid", None)
    elif kind == "PersistentVolumeClaim":
        annotations.pop("volume.kubernetes.io/selected-node", None)
    for key in WORK_LABELS:
        labels.pop(key, None)
    annotations.setdefault(CONFLICT_ANNOTATION, "overwrite")
    meta["annotations"] = annotations
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    return obj


def _fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def policy_name(obj: dict) -> str:
    """`<name>-<short fnv hash of namespace and GVK>`, as karmadactl names it."""
    meta = obj["metadata"]
    digest = _fnv32a(f"{meta.get('namespace', '')}{obj['apiVersion']}, Kind={obj['kind']}")
    return f"{meta['name'][:240]}-{digest:x}"[:253]


def propagation_policy(obj: dict, member: str) -> dict:
    """The policy naming that member only, adopting its object (SPEC §5 step 10)."""
    meta = obj["metadata"]
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
            "metadata": {"name": policy_name(obj), "namespace": meta["namespace"]},
            "spec": {"resourceSelectors": [policies.selector(obj["apiVersion"], obj["kind"], meta["name"])],
                     "placement": {"clusterAffinity": {"clusterNames": [member]}},
                     "conflictResolution": "Overwrite", "preserveResourcesOnDeletion": True,
                     "propagateDeps": False}}


@dataclass
class Request:
    member: str
    namespace: str
    kinds: tuple = KINDS
    label_selector: str = ""
    name: str = ""
    # Also the ConfigMaps, Secrets and PersistentVolumeClaims the chosen workloads use, whatever
    # their labels and kinds chosen (karmadactl promote --dependencies).
    dependencies: bool = False


@dataclass
class Result:
    kind: str
    name: str
    outcome: str
    reason: str = ""
    policy: str = ""

    @property
    def outcome_label(self) -> str:
        return str(OUTCOMES[self.outcome])

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "outcome": self.outcome, "reason": self.reason,
                "policy": self.policy}


@dataclass
class PodRow:
    name: str
    before: str = ""
    after: str = ""

    @property
    def state(self) -> str:
        if not self.before:
            return "new"
        if not self.after:
            return "gone"
        return "unchanged" if self.before == self.after else "restarted"

    def as_dict(self) -> dict:
        return {"name": self.name, "uid_before": self.before, "uid_after": self.after, "state": self.state}


@dataclass
class Outcome:
    request: Request
    results: list = field(default_factory=list)
    pods: list = field(default_factory=list)
    applied: bool = False
    # The namespace was missing in Karmada and was created from the member's (see _ensure_namespace).
    namespace_created: bool = False

    def count(self, outcome: str) -> int:
        return sum(r.outcome == outcome for r in self.results)

    @property
    def count_promoted(self) -> int:
        return self.count(PROMOTED)

    @property
    def restarted(self) -> bool:
        return any(p.state != "unchanged" for p in self.pods)

    def as_dict(self) -> dict:
        return {"member": self.request.member, "namespace": self.request.namespace,
                "results": [r.as_dict() for r in self.results], "pods": [p.as_dict() for p in self.pods],
                "applied": self.applied, "namespace_created": self.namespace_created,
                "counts": {key: self.count(key) for key in OUTCOMES}}


def member_path(member: str, path: str) -> str:
    return f"/apis/cluster.karmada.io/v1alpha1/clusters/{member}/proxy{path}"


def _member_items(api: Api, member: str, kind, namespace: str, label_selector: str, name: str) -> list[dict]:
    if name:
        try:
            return [api.call("GET", member_path(member, kind.path(namespace, name)))]
        except KubeError as error:
            if error.status == 404:
                return []
            raise
    found = api.call("GET", member_path(member, kind.path(namespace)), query={"labelSelector": label_selector})
    items = found.get("items") or []
    api_version = f"{kind.group}/{kind.version}" if kind.group else kind.version
    for item in items:  # list items carry neither
        item.setdefault("apiVersion", api_version)
        item.setdefault("kind", kind.kind)
    return sorted(items, key=lambda i: i["metadata"]["name"])


def selects(selector: dict, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against labels; an empty
    selector selects nothing here (a workload always has one)."""
    if not selector:
        return False
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if (operator == "In" and labels.get(key) not in values) or \
                (operator == "NotIn" and key in labels and labels[key] in values) or \
                (operator == "Exists" and key not in labels) or (operator == "DoesNotExist" and key in labels):
            return False
    return True


def pod_selectors(found: list) -> list[dict]:
    """The selectors of the pods of the workloads among `found` (a CronJob's: its pod template's labels)."""
    selectors = []
    for candidate in found:
        if isinstance(candidate, Result):
            continue
        obj = candidate[1]
        spec = obj.get("spec") or {}
        if obj.get("kind") == "CronJob":
            labels = ((((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("metadata")
                      or {}).get("labels")
            selectors.append({"matchLabels": labels} if labels else {})
        elif obj.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            selectors.append(spec.get("selector") or {})
    return selectors


def member_pods(api: Api, member: str, namespace: str, selectors: list[dict]) -> dict[str, str]:
    """Pod name → UID of the member's pods that one of the selectors selects."""
    found = api.call("GET", member_path(member, registry.get("pods").path(namespace)))
    return {p["metadata"]["name"]: p["metadata"].get("uid", "") for p in found.get("items") or []
            if any(selects(s, p["metadata"].get("labels") or {}) for s in selectors)}


def validate(request: Request, members: list[str]) -> None:
    if request.member not in members:
        raise ValidationError({"member": _("%(name)s is not a member cluster of this federation.")
                               % {"name": request.member}})
    unknown = [k for k in request.kinds if k not in KINDS]
    if unknown or not request.kinds:
        raise ValidationError({"kinds": _("Choose among the kinds that can be promoted.")})
    if request.name and len(request.kinds) != 1:
        raise ValidationError({"name": _("Give one kind to promote an object by name.")})


def _ensure_namespace(api: Api, request: Request) -> bool:
    """Create the namespace in Karmada from the member's when Karmada lacks it; True if created.

    karmadactl wants `karmadactl promote namespace <ns>` first, and a namespace is not among the
    kinds this page promotes: without it every object of an application living in a namespace
    only the member has (the usual case for a member's own apps) failed with "namespaces not
    found". Karmada gives namespaces to the members itself (its namespace sync controller; the
    sandbox's execution controller as it applies a Work), so no PropagationPolicy is written. As the user: a refusal leaves each object to fail with
    Karmada's own reason, as before."""
    kind = registry.get("namespaces")
    try:
        api.get(kind, request.namespace)
        return False
    except KubeError as error:
        if error.status != 404:
            return False
    try:
        live = api.call("GET", member_path(request.member, kind.path(None, request.namespace)))
    except KubeError:
        return False  # not in the member either: each object fails with its reason
    labels = {k: v for k, v in ((live.get("metadata") or {}).get("labels") or {}).items()
              if k != "kubernetes.io/metadata.name"}
    try:
        api.create(kind, {"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": request.namespace, **({"labels": labels} if labels else {})}})
    except KubeError:
        return False
    return True


def _promote_one(api: Api, request: Request, kind, obj: dict) -> Result:
    name = obj["metadata"]["name"]
    template = prune(obj)
    template["metadata"]["namespace"] = request.namespace
    policy = propagation_policy(template, request.member)
    result = Result(kind.kind, name, PROMOTED, policy=policy["metadata"]["name"])
    try:
        api.get(kind, name, request.namespace)
    except KubeError as error:
        if error.status != 404:
            result.outcome, result.reason = FAILED, error.message
            return result
    else:
        result.outcome, result.policy = ALREADY, ""
        result.reason = _("%(kind)s %(name)s already exists in the federation: edit its PropagationPolicy to "
                          "place it on %(member)s.") % {"kind": kind.kind, "name": name, "member": request.member}
        return result
    try:
        api.create(kind, template, request.namespace)
    except KubeError as error:
        result.outcome, result.reason, result.policy = FAILED, error.message, ""
        return result
    try:
        api.create(registry.get("propagationpolicies"), policy, request.namespace)
    except KubeError as error:
        # karmadactl leaves the template when the policy fails; the console says so.
        result.outcome = FAILED
        result.reason = _("The template was created but its PropagationPolicy %(policy)s was refused: "
                          "%(message)s") % {"policy": policy["metadata"]["name"], "message": error.message}
    return result


def _applied(api: Api, outcome: Outcome) -> bool:
    for result in outcome.results:
        if result.outcome != PROMOTED:
            continue
        try:
            found = api.get(registry.get("resourcebindings"), binding_name(result.name, result.kind),
                            outcome.request.namespace)
        except KubeError:
            return False
        statuses = (found.get("status") or {}).get("aggregatedStatus") or []
        if not any(s.get("clusterName") == outcome.request.member and s.get("applied") for s in statuses):
            return False
    return True


def _pod_spec(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def dependencies(obj: dict) -> dict[tuple[str, str], bool]:
    """(plural, name) of the ConfigMaps, Secrets and PersistentVolumeClaims a workload's pods
    use — volumes (projected too), env and envFrom, image pull secrets — as Karmada's
    dependencies distributor follows them, each with whether every use of it is `optional`
    (the pods run without it). A StatefulSet's claim templates are not: the member makes those
    claims."""
    pod = _pod_spec(obj)
    found: dict[tuple[str, str], bool] = {}

    def add(plural, reference, key="name"):
        reference = reference or {}
        if reference.get(key):
            found[(plural, reference[key])] = found.get((plural, reference[key]), True) and \
                bool(reference.get("optional"))

    for volume in pod.get("volumes") or []:
        add("configmaps", volume.get("configMap"))
        add("secrets", volume.get("secret"), "secretName")
        add("persistentvolumeclaims", volume.get("persistentVolumeClaim"), "claimName")
        for source in (volume.get("projected") or {}).get("sources") or []:
            add("configmaps", source.get("configMap"))
            add("secrets", source.get("secret"))
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        for source in container.get("envFrom") or []:
            add("configmaps", source.get("configMapRef"))
            add("secrets", source.get("secretRef"))
        for variable in container.get("env") or []:
            value_from = variable.get("valueFrom") or {}
            add("configmaps", value_from.get("configMapKeyRef"))
            add("secrets", value_from.get("secretKeyRef"))
    for secret in pod.get("imagePullSecrets") or []:
        add("secrets", secret)
    return found


def _members_own(kind, obj: dict) -> bool:
    """Made by the member itself in every namespace: never promoted."""
    return (kind.kind == "ConfigMap" and obj["metadata"]["name"] == "kube-root-ca.crt") or \
        (kind.kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token")


def _with_dependencies(api: Api, request: Request, found: list) -> list:
    """`found` and what its workloads use that it lacks, read from the member by name; in the
    order of KINDS, so configuration is promoted before the workloads that use it."""
    have = {(kind.plural, obj["metadata"]["name"]) for kind, obj in
            (c for c in found if not isinstance(c, Result))}
    wanted: dict[tuple[str, str], bool] = {}  # → optional: every use of it is
    for candidate in found:
        if not isinstance(candidate, Result):
            for key, optional in dependencies(candidate[1]).items():
                wanted[key] = wanted.get(key, True) and optional
    extra = []
    for plural, name in sorted(set(wanted) - have):
        kind = registry.get(plural)
        try:
            items = _member_items(api, request.member, kind, request.namespace, "", name)
        except KubeError as error:
            extra.append(Result(kind.kind, name, FAILED, error.message))
            continue
        if items:
            if not _members_own(kind, items[0]):
                extra.append((kind, items[0]))
        elif not wanted[(plural, name)]:  # required and missing (an optional one's pods run without it)
            extra.append(Result(kind.kind, name, FAILED, _("A workload uses %(kind)s %(name)s, which %(member)s "
                                                             "does not have.") % {
                "kind": kind.kind, "name": name, "member": request.member}))
    order = {registry.get(plural).kind: index for index, plural in enumerate(KINDS)}
    # Stable: within a kind, the listing's order, then the dependencies'.
    return sorted(found + extra, key=lambda c: order[c.kind if isinstance(c, Result) else c[0].kind])


def candidates(api: Api, request: Request) -> list:
    """What a promotion of `request` takes from the member: (kind, object) pairs, and a Result
    (failed) for a kind whose listing failed, in the order shown."""
    found = []
    for plural in [k for k in KINDS if k in request.kinds]:
        kind = registry.get(plural)
        try:
            items = _member_items(api, request.member, kind, request.namespace, request.label_selector,
                                  request.name)
        except KubeError as error:
            found.append(Result(kind.kind, "*", FAILED, _("Listing %(kinds)s in %(member)s failed: "
                                                                "%(message)s") % {
                "kinds": kind.label, "member": request.member, "message": error.message}))
            continue
        found += [(kind, obj) for obj in items if not _members_own(kind, obj)]
    return _with_dependencies(api, request, found) if request.dependencies else found


def promote(user, target, request: Request, *, wait: float = 20.0) -> Outcome:
    """Promote every matching object of the member; the pods' UIDs before and once Karmada has
    applied the templates (or `wait` seconds have passed)."""
    require(user, PROMOTE_ACTION, target.obj)
    api = Api(target.obj, user)
    from . import karmada

    validate(request, [c["metadata"]["name"] for c in karmada.members(api)])
    outcome = Outcome(request)
    found = candidates(api, request)
    # The pods of the workloads promoted (not the whole namespace's): they must not restart.
    selectors = pod_selectors(found)
    before = member_pods(api, request.member, request.namespace, selectors)
    # Only now: Karmada gives a namespace it holds to every member, so one is never created for a
    # selection that matches nothing (when Karmada lacks the namespace, every match is promoted).
    if any(not isinstance(c, Result) for c in found):
        outcome.namespace_created = _ensure_namespace(api, request)
    if outcome.namespace_created:
        record(user, PROMOTE_ACTION, target.audit_ref, details={
            "operation": "promote", "member": request.member, "namespace": request.namespace, "kind": "Namespace",
            "name": request.namespace, "outcome": "created"})
    for candidate in found:
        outcome.results.append(candidate if isinstance(candidate, Result) else _promote_one(api, request, *candidate))
    for result in outcome.results:
        record(user, PROMOTE_ACTION, target.audit_ref,
               result=AuditEvent.Result.FAILED if result.outcome == FAILED else AuditEvent.Result.SUCCESS,
               details={"operation": "promote", "member": request.member, "namespace": request.namespace,
                        "kind": result.kind, "name": result.name, "outcome": result.outcome,
                        "policy": result.policy, "reason": result.reason})
    deadline = time.monotonic() + wait
    while True:
        outcome.applied = _applied(api, outcome)
        if outcome.applied or time.monotonic() >= deadline or not outcome.count(PROMOTED):
            break
        time.sleep(0.5)
    after = member_pods(api, request.member, request.namespace, selectors)
    outcome.pods = [PodRow(name, before.get(name, ""), after.get(name, ""))
                    for name in sorted(set(before) | set(after))]
    return outcome
