"""Drift of a federated workload (issue #15 item 6): its three states read as the user, and
re-sync. The comparison itself is `federation.drift` (pure).

Everything is read through the Karmada API server as the user, so the federation's RBAC
decides: the template, its ResourceBinding (which members it is placed on), each member's
Work in `karmada-es-<member>` (found by the binding's permanent-id label, karmada SPEC §8)
and the member's object through `clusters/<member>/proxy` (Karmada impersonates the user
there, so the member's RBAC decides too).

Re-sync writes the rendered object into the member through the same proxy (an update with
the live object's resourceVersion as precondition, or a create when the object is gone),
keeping what Karmada's execution controller keeps (`drift.resync_body`). It does not ask
Karmada to re-apply: Karmada re-applies on its own only when its work-status controller
sees a change it judges one (and not for suspended dispatching or a member it cannot
reach), and forcing it would need write access to Works, which users do not hold.
"""
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from cceone.iam.access import can, require
from cceone.kube.gateway import KubeError
from resources import registry
from resources.formatting import condition, meta, spec
from resources.kube import Api
from resources.permissions import Permissions

from . import drift
from .promote import member_path
from .workloads import DEPLOY_ACTION, DRIFT_KINDS, binding_name

RB_ID_LABEL = "resourcebinding.karmada.io/permanent-id"
WORKS_PATH = "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-{member}/works"

IN_SYNC, DRIFTED, MISSING, NOT_RENDERED, UNREADABLE = "in-sync", "drifted", "missing", "not-rendered", "unreadable"
STATES = {IN_SYNC: gettext_lazy("In sync"), DRIFTED: gettext_lazy("Drifted"),
          MISSING: gettext_lazy("Missing in the member"), NOT_RENDERED: gettext_lazy("Not rendered yet"),
          UNREADABLE: gettext_lazy("Could not be read")}


@dataclass
class MemberDrift:
    cluster: str
    state: str = IN_SYNC
    work: str = ""
    suspended: bool = False
    applied: dict | None = None
    error: str = ""
    rows: list = field(default_factory=list)
    rendered: dict | None = None
    live: dict | None = None
    written: bool = False  # set by `resync` only: it wrote the member (False: already in sync)

    @property
    def state_label(self) -> str:
        return str(STATES[self.state])

    @property
    def drifted(self) -> list:
        return [row for row in self.rows if row.kind == drift.DRIFT]

    @property
    def can_resync(self) -> bool:
        return self.rendered is not None and self.state in (DRIFTED, MISSING)

    def as_dict(self) -> dict:
        return {"cluster": self.cluster, "state": self.state, "work": self.work, "suspended": self.suspended,
                "applied": self.applied, "error": self.error, "written": self.written,
                "differences": [row.as_dict() for row in self.rows]}


@dataclass
class Comparison:
    kind: object
    namespace: str
    name: str
    template: dict
    binding: dict | None = None
    members: list = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return any(m.state in (DRIFTED, MISSING) for m in self.members)

    def member(self, name: str) -> MemberDrift | None:
        return next((m for m in self.members if m.cluster == name), None)

    def as_dict(self) -> dict:
        return {"kind": self.kind.kind, "namespace": self.namespace, "name": self.name,
                "binding": meta(self.binding).get("name") if self.binding else None, "drifted": self.drifted,
                "members": [m.as_dict() for m in self.members]}


def _kind(kind_plural: str):
    kind = registry.get(kind_plural)
    if kind.kind not in DRIFT_KINDS:
        raise ValidationError(_("Drift is shown for Deployments, StatefulSets and DaemonSets."))
    return kind


def _rendered(api: Api, binding: dict, member: str, kind, namespace: str, name: str) -> tuple[dict | None, dict]:
    """The member's Work and, in it, the manifest of this object (None when not rendered)."""
    label = (meta(binding).get("labels") or {}).get(RB_ID_LABEL)
    if not label:
        return None, {}
    works = api.call("GET", WORKS_PATH.format(member=member), query={"labelSelector": f"{RB_ID_LABEL}={label}"})
    for work in works.get("items") or []:
        for manifest in (spec(work).get("workload") or {}).get("manifests") or []:
            if manifest.get("kind") == kind.kind and meta(manifest).get("name") == name and \
                    meta(manifest).get("namespace", namespace) == namespace:
                return manifest, work
    return None, {}


def _live(api: Api, member: str, kind, namespace: str, name: str) -> dict | None:
    try:
        return api.call("GET", member_path(member, kind.path(namespace, name)))
    except KubeError as error:
        if error.status == 404:
            return None
        raise


def _member(api: Api, template: dict, binding: dict, cluster: str, kind, namespace: str, name: str) -> MemberDrift:
    found = MemberDrift(cluster)
    try:
        found.rendered, work = _rendered(api, binding, cluster, kind, namespace, name)
    except KubeError as error:
        found.state, found.error = UNREADABLE, _("Karmada refused the Work: %(message)s") % {"message": error.message}
        return found
    if work:
        found.work = meta(work).get("name", "")
        found.suspended = bool(spec(work).get("suspendDispatching"))
        found.applied = condition(work, "Applied")
    if found.rendered is None:
        found.state = NOT_RENDERED
        return found
    try:
        found.live = _live(api, cluster, kind, namespace, name)
    except KubeError as error:
        found.state = UNREADABLE
        found.error = _("The member's object could not be read: %(message)s") % {"message": error.message}
        found.rows = drift.differences(template, found.rendered, None)
        return found
    if found.live is None:
        found.state = MISSING
        found.rows = drift.differences(template, found.rendered, None)
        return found
    found.rows = drift.differences(template, found.rendered, found.live)
    found.state = DRIFTED if found.drifted else IN_SYNC
    return found


def compare(user, target, kind_plural: str, namespace: str, name: str) -> Comparison:
    """The template and, for each member the binding places it on, the rendered and live objects."""
    kind = _kind(kind_plural)
    api = Api(target.obj, user)
    comparison = Comparison(kind, namespace, name, api.get(kind, name, namespace))
    try:
        comparison.binding = api.get(registry.get("resourcebindings"), binding_name(name, kind.kind), namespace)
    except KubeError as error:
        if error.status != 404:
            raise
        return comparison
    clusters = {c.get("name") for c in spec(comparison.binding).get("clusters") or []}
    clusters |= {s.get("clusterName") for s in (comparison.binding.get("status") or {}).get("aggregatedStatus") or []}
    comparison.members = [_member(api, comparison.template, comparison.binding, cluster, kind, namespace, name)
                          for cluster in sorted(c for c in clusters if c)]
    return comparison


def may_resync(user, target) -> bool:
    """Whether to offer Re-sync: IAM's deploy action, and Karmada's RBAC letting the user update
    `clusters/proxy` (a SelfSubjectAccessReview as the user; the ops preset reads the proxy but
    may not write through it). The write itself is still decided by Karmada and the member."""
    if not can(user, DEPLOY_ACTION, target.obj):
        return False
    return Permissions(Api(target.obj, user)).allows("update", registry.get("clusters"), None, "proxy",
                                                     resource="clusters", group="cluster.karmada.io")


def resync(user, target, kind_plural: str, namespace: str, name: str, member: str) -> MemberDrift:
    """Write the rendered object into the member again; the member's comparison afterwards, its
    `written` telling whether anything was written. A member already in sync is left alone
    (nothing written, nothing audited)."""
    require(user, DEPLOY_ACTION, target.obj)
    comparison = compare(user, target, kind_plural, namespace, name)
    found = comparison.member(member)
    if found is None:
        raise ValidationError({"member": _("%(kind)s %(name)s is not placed on %(member)s.") % {
            "kind": comparison.kind.kind, "name": name, "member": member}})
    if found.state == UNREADABLE:
        raise ValidationError({"member": found.error})
    if found.rendered is None:
        raise ValidationError({"member": _("Karmada has not rendered %(kind)s %(name)s for %(member)s yet: "
                                           "there is nothing to re-apply.") % {
            "kind": comparison.kind.kind, "name": name, "member": member}})
    if not found.can_resync:
        return found
    kind, api = comparison.kind, Api(target.obj, user)
    fields = [row.field for row in found.drifted] if found.live is not None else ["*"]
    details = {"operation": "resync", "member": member, "kind": kind.kind, "namespace": namespace, "name": name,
               "fields": fields}
    try:
        if found.live is None:
            body = drift.resync_body(found.rendered, {})
            api.call("POST", member_path(member, kind.path(namespace)), body=body)
        else:
            body = drift.resync_body(found.rendered, found.live)
            api.call("PUT", member_path(member, kind.path(namespace, name)), body=body)
    except KubeError as error:
        record(user, DEPLOY_ACTION, target.audit_ref, result=AuditEvent.Result.FAILED,
               details={**details, "error": error.message})
        raise
    record(user, DEPLOY_ACTION, target.audit_ref, details=details)
    after = _member(api, comparison.template, comparison.binding, member, kind, namespace, name)
    after.written = True
    return after
