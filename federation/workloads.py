"""Guided federated workloads (R5.6) and their placement (issue #15 item 3).

`create()` submits a workload, its PropagationPolicy and, when any member differs, its
OverridePolicy together through the generic resource service (every object a server-side
dry run first, with Karmada's strict field validation for the policies, then created; each
write audited), as the user — the federation's RBAC decides. `placement()` puts the
preview computed with the template's UID next to what the scheduler wrote to the
ResourceBinding and what the members report.
"""
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cceone.audit.services import record
from cceone.iam.access import require
from cceone.kube.gateway import KubeError
from resources import registry
from resources import services as resource_services
from resources.formatting import condition, meta, spec
from resources.kube import Api

from . import karmada, policies
from .preview import Preview, preview

DEPLOY_ACTION = "federations:deploy"
REPLICATED = {"Deployment": "deployments", "StatefulSet": "statefulsets"}
# Kinds whose members' objects the drift page compares: a DaemonSet is duplicated to every member
# it is placed on, so its copies drift as a Deployment's do.
DRIFT_KINDS = {**REPLICATED, "DaemonSet": "daemonsets"}


@dataclass
class FederatedWorkload:
    workload: dict  # a Deployment or StatefulSet manifest
    placement: policies.Placement
    overrides: list[policies.ClusterOverride] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.workload["metadata"]["name"]

    @property
    def namespace(self) -> str:
        return self.workload["metadata"].get("namespace") or "default"

    @property
    def replicas(self) -> int:
        return int((self.workload.get("spec") or {}).get("replicas", 1))

    def selectors(self) -> list[dict]:
        return [policies.selector(self.workload["apiVersion"], self.workload["kind"], self.name)]

    def propagation_policy(self) -> dict:
        return policies.propagation_policy(self.name, self.namespace, self.selectors(), self.placement)

    def override_policy(self) -> dict | None:
        overrides = [o for o in self.overrides if not o.empty()]
        if not overrides:
            return None
        return policies.override_policy(self.name, self.namespace, self.selectors(), overrides)

    def manifests(self) -> list[dict]:
        found = [self.workload, self.propagation_policy()]
        if self.override_policy():
            found.append(self.override_policy())
        return found


def validate(workload: FederatedWorkload) -> None:
    """What the console can tell before asking the API server."""
    if workload.workload.get("kind") not in REPLICATED:
        raise ValidationError({"kind": _("A federated workload is a Deployment or a StatefulSet.")})
    placement = workload.placement
    if placement.mode not in policies.MODES:
        raise ValidationError({"replica_scheduling": _("Choose duplicated, divided or aggregated.")})
    chosen = set(placement.cluster_names)
    if placement.mode == policies.DIVIDED:
        strangers = sorted(name for name in placement.weights if chosen and name not in chosen)
        if strangers:
            raise ValidationError({"weights": _("Weights name members the affinity leaves out: %(names)s.")
                                   % {"names": ", ".join(strangers)}})
    elif placement.weights:
        raise ValidationError({"weights": _("Static weights apply only when replicas are divided.")})
    seen = set()
    for override in workload.overrides:
        if override.cluster in seen:
            raise ValidationError({"overrides": _("Give one set of overrides per member: %(name)s is twice.")
                                   % {"name": override.cluster}})
        seen.add(override.cluster)


def create(user, target, workload: FederatedWorkload) -> list[tuple]:
    """Submit the workload and its policies together; [(kind, namespace, name)] as created."""
    require(user, DEPLOY_ACTION, target.obj)
    validate(workload)
    created = resource_services.create_objects(user, target, manifests=workload.manifests())
    record(user, DEPLOY_ACTION, target.audit_ref, details={
        "namespace": workload.namespace, "name": workload.name, "kind": workload.workload["kind"],
        "mode": workload.placement.mode, "objects": [f"{kind.kind}/{name}" for kind, _ns, name in created]})
    return created


def preview_for(user, target, replicas: int, placement: dict, *, api_version="apps/v1", kind="Deployment",
                uid: str | None = None, requests: dict | None = None) -> Preview:
    """The division preview against the federation's members as they are now (read as the user)."""
    clusters = karmada.members(Api(target.obj, user))
    return preview(replicas, placement, clusters, version=karmada.division_version(target.obj), uid=uid,
                   api_version=api_version, kind=kind, requests=requests)


def _requests(template: dict) -> dict:
    """The pod's resource requests summed over its containers (what capacity estimates divide by)."""
    from kubernetes.utils import parse_quantity

    total = {}
    for container in ((spec(template).get("template") or {}).get("spec") or {}).get("containers") or []:
        for name, value in ((container.get("resources") or {}).get("requests") or {}).items():
            total[name] = total.get(name, 0) + parse_quantity(value)
    return {name: str(value) for name, value in total.items()}


def binding_name(name: str, kind: str) -> str:
    """karmada SPEC §8: `<template name with ':' as '.'>-<kind>`, lower case."""
    return f"{name.replace(':', '.')}-{kind}".lower()


def placement(user, target, kind_plural: str, namespace: str, name: str) -> dict:
    """The template, its policy's preview (now exact: the UID is known), the binding's result per
    member and the members' status. A missing policy or binding is said, not an error."""
    kind = registry.get(kind_plural)
    if kind.kind not in REPLICATED:
        raise ValidationError(_("Placement is shown for Deployments and StatefulSets."))
    api = Api(target.obj, user)
    template = api.get(kind, name, namespace)
    annotations = meta(template).get("annotations") or {}
    result = {"template": template, "kind": kind, "namespace": namespace, "name": name, "policy": None,
              "binding": None, "preview": None, "rows": [], "scheduled": None, "applied": None}
    policy_name = annotations.get("propagationpolicy.karmada.io/name")
    policy_kind = registry.get("propagationpolicies")
    if not policy_name and annotations.get("clusterpropagationpolicy.karmada.io/name"):
        policy_name, policy_kind = annotations["clusterpropagationpolicy.karmada.io/name"], \
            registry.get("clusterpropagationpolicies")
    if policy_name:
        try:
            result["policy"] = api.get(policy_kind, policy_name,
                                       annotations.get("propagationpolicy.karmada.io/namespace", namespace)
                                       if policy_kind.namespaced else None)
        except KubeError as error:
            if error.status != 404:
                raise
    try:
        result["binding"] = api.get(registry.get("resourcebindings"), binding_name(name, kind.kind), namespace)
    except KubeError as error:
        if error.status != 404:
            raise
    placement_spec = (spec(result["binding"]).get("placement") if result["binding"] else None) or \
        (spec(result["policy"]).get("placement") if result["policy"] else None)
    if placement_spec is not None:
        result["preview"] = preview_for(user, target, int(spec(template).get("replicas", 1)), placement_spec,
                                        api_version=template.get("apiVersion", ""), kind=kind.kind,
                                        uid=meta(template).get("uid"), requests=_requests(template))
    placed = {c.get("name"): c.get("replicas", 0) for c in spec(result["binding"]).get("clusters") or []} \
        if result["binding"] else {}
    statuses = {s.get("clusterName"): s for s in ((result["binding"] or {}).get("status") or {})
                .get("aggregatedStatus") or []}
    names = sorted(set(placed) | set(statuses) | set(result["preview"].placed if result["preview"] else {}))
    for member in names:
        reported = statuses.get(member) or {}
        result["rows"].append({
            "cluster": member, "preview": result["preview"].placed.get(member, 0) if result["preview"] else None,
            "scheduled": placed.get(member), "applied": reported.get("applied"),
            "health": reported.get("health") or "", "message": reported.get("appliedMessage") or "",
            "ready": (reported.get("status") or {}).get("readyReplicas"),
            "matches": result["preview"] is not None and placed.get(member, 0) ==
            result["preview"].placed.get(member, 0)})
    if result["binding"]:
        result["scheduled"] = condition(result["binding"], "Scheduled")
        result["applied"] = condition(result["binding"], "FullyApplied")
    result["matches"] = bool(result["binding"] and result["preview"] and placed == result["preview"].placed)
    return result
