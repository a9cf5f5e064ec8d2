"""karmada-scheduler: a binding's placement turned into ``spec.clusters`` (karmada SPEC §2.1, §6, §7).

Filters (in Karmada's order): cluster affinity (or the first of ``clusterAffinities`` that
fits), taint toleration (NoSchedule and NoExecute; clusters already placed are spared),
API enablement of the template's kind, spread-field presence, clusters being evicted.
Then Duplicated, or Divided by static weight, dynamic weight or Aggregated through
``cceone_karmada.division``, which the console's preview shares. A binding is scheduled
again when its generation moves or its set of feasible clusters changes.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cceone_karmada import division
from cceone_karmada.affinity import affinity_matches, untolerated_taints

from .. import constants as k
from .kube import Controller
from .quantity import max_replicas, parse

if TYPE_CHECKING:
    from . import ControllerManager

BINDING_KINDS = ("ResourceBinding", "ClusterResourceBinding")


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def now() -> str:
    from sandbox.kubesim.util import timestamp

    return timestamp()


def set_condition(conditions: list[dict[str, Any]] | None, condition: dict[str, Any]) -> list[dict[str, Any]]:
    """Replace the condition of that type; its lastTransitionTime moves only when its status does."""
    out = []
    found = False
    for c in conditions or []:
        if c.get("type") == condition["type"]:
            found = True
            same = c.get("status") == condition["status"]
            out.append({**condition, "lastTransitionTime": c.get("lastTransitionTime") if same and
                        c.get("lastTransitionTime") else now()})
        else:
            out.append(c)
    if not found:
        out.append({**condition, "lastTransitionTime": now()})
    return out


def available_replicas(cluster: dict[str, Any], requirements: dict[str, Any] | None) -> int:
    """The general estimator: what the member's resource summary still has room for."""
    summary = (cluster.get("status") or {}).get("resourceSummary") or {}
    free: dict[str, Decimal] = {}
    for name, value in (summary.get("allocatable") or {}).items():
        free[name] = parse(value) - parse((summary.get("allocated") or {}).get(name, 0)) \
            - parse((summary.get("allocating") or {}).get(name, 0))
    return max_replicas(free, (requirements or {}).get("resourceRequest"))


class Unschedulable(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Scheduler(Controller):
    name = "scheduler"
    workers = 2

    def __init__(self, manager: "ControllerManager") -> None:
        super().__init__()
        self.m = manager
        self._observed: dict[str, tuple[Any, ...]] = {}  # binding uid → what it was last scheduled from
        for kind in BINDING_KINDS:
            manager.informer(k.BINDING_API, kind).handlers.append(self._on_binding)
        manager.informer(k.CLUSTER_API, "Cluster").handlers.append(self._on_cluster)

    def _on_binding(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if event == "DELETED":
            self._observed.pop(_meta(obj).get("uid"), None)
            return
        self.queue.add((obj["kind"], _meta(obj).get("namespace", ""), _meta(obj)["name"]))

    def _on_cluster(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if old is not None and event == "MODIFIED" and self._placement_view(old) == self._placement_view(obj):
            return
        for kind in BINDING_KINDS:
            for binding in self.m.informer(k.BINDING_API, kind).items():
                self.queue.add((kind, _meta(binding).get("namespace", ""), _meta(binding)["name"]))

    @staticmethod
    def _placement_view(cluster: dict[str, Any]) -> Any:
        status = cluster.get("status") or {}
        return (_meta(cluster).get("labels"), _meta(cluster).get("deletionTimestamp"), cluster.get("spec"),
                status.get("apiEnablements"))

    # ------------------------------------------------------------ reconcile

    def reconcile(self, key: tuple[str, str, str]) -> float | None:
        kind, namespace, name = key
        binding = self.m.informer(k.BINDING_API, kind).get(namespace, name)
        if binding is None or _meta(binding).get("deletionTimestamp"):
            return None
        spec = binding.get("spec") or {}
        if (spec.get("schedulerName") or "default-scheduler") != "default-scheduler":
            return None
        clusters = [c for c in self.m.informer(k.CLUSTER_API, "Cluster").items()
                    if not _meta(c).get("deletionTimestamp")]
        status = binding.get("status") or {}
        try:
            feasible, affinity_name = self.feasible(binding, clusters)
            basis = (_meta(binding).get("generation"), tuple(sorted(_meta(c)["name"] for c in feasible)),
                     spec.get("rescheduleTriggeredAt"))
            if self._observed.get(_meta(binding)["uid"]) == basis and \
                    (status.get("schedulerObservedGeneration") or 0) >= (_meta(binding).get("generation") or 0):
                return None
            targets = self.assign(binding, feasible)
        except Unschedulable as e:
            self._write_status(binding, binding, False, e.reason, e.message, None)
            return None
        written = binding
        if targets != (spec.get("clusters") or []):
            updated = copy.deepcopy(binding)
            updated["spec"]["clusters"] = targets
            updated.pop("status", None)
            written = self.m.karmada.replace(updated)
        self._write_status(binding, written, True, "Success", "Binding has been scheduled successfully.",
                           affinity_name)
        basis = (_meta(written).get("generation"), basis[1], basis[2])
        self._observed[_meta(binding)["uid"]] = basis
        return None

    def _write_status(self, binding: dict[str, Any], written: dict[str, Any], ok: bool, reason: str, message: str,
                      affinity_name: str | None) -> None:
        status = copy.deepcopy(written.get("status") or {})
        new = dict(status)
        new["conditions"] = set_condition(status.get("conditions"), {
            "type": "Scheduled", "status": "True" if ok else "False", "reason": reason, "message": message})
        if ok:
            new["schedulerObservedGeneration"] = _meta(written).get("generation")
            if affinity_name:
                new["schedulerObservingAffinityName"] = affinity_name
        if new == status:
            return
        if ok:
            new["lastScheduledTime"] = now()
        self.m.karmada.update_status(written, new)

    # ------------------------------------------------------------ filters

    def feasible(self, binding: dict[str, Any], clusters: list[dict[str, Any]]
                 ) -> tuple[list[dict[str, Any]], str | None]:
        spec = binding.get("spec") or {}
        placement = spec.get("placement") or {}
        placed = {t.get("name") for t in spec.get("clusters") or []}
        evicting = {t.get("fromCluster") for t in spec.get("gracefulEvictionTasks") or []}
        resource = spec.get("resource") or {}

        def passes(cluster: dict[str, Any], affinity: dict[str, Any] | None) -> bool:
            name = _meta(cluster)["name"]
            if not affinity_matches(affinity, cluster) or name in evicting:
                return False
            if name not in placed and untolerated_taints(cluster, placement.get("clusterTolerations") or []):
                return False
            if not self._serves(cluster, resource):
                return False
            for constraint in placement.get("spreadConstraints") or []:
                field = constraint.get("spreadByField")
                cspec = cluster.get("spec") or {}
                if field in ("region", "provider") and not cspec.get(field):
                    return False
                if field == "zone" and not (cspec.get("zones") or cspec.get("zone")):
                    return False
            return True

        terms = placement.get("clusterAffinities") or []
        if terms:
            start = (binding.get("status") or {}).get("schedulerObservingAffinityName")
            names = [t.get("affinityName") for t in terms]
            index = names.index(start) if start in names else 0
            for term in terms[index:]:
                fits = [c for c in clusters if passes(c, term)]
                if fits:
                    return fits, term.get("affinityName")
            raise Unschedulable("NoClusterFit", f"0/{len(clusters)} clusters are available: no cluster matches "
                                                "any of the cluster affinity terms.")
        fits = [c for c in clusters if passes(c, placement.get("clusterAffinity"))]
        if not fits:
            raise Unschedulable("NoClusterFit", f"0/{len(clusters)} clusters are available: no cluster fits the "
                                                "placement (affinity, taints, API enablements).")
        return fits, None

    @staticmethod
    def _serves(cluster: dict[str, Any], resource: dict[str, Any]) -> bool:
        for enablement in (cluster.get("status") or {}).get("apiEnablements") or []:
            if enablement.get("groupVersion") == resource.get("apiVersion") and \
                    any(r.get("kind") == resource.get("kind") for r in enablement.get("resources") or []):
                return True
        return False

    # ------------------------------------------------------------ assignment

    def assign(self, binding: dict[str, Any], feasible: list[dict[str, Any]]) -> list[dict[str, Any]]:
        spec = binding.get("spec") or {}
        placement = spec.get("placement") or {}
        replicas = int(spec.get("replicas") or 0)
        strategy = placement.get("replicaScheduling")
        names = sorted(_meta(c)["name"] for c in feasible)
        by_name = {_meta(c)["name"]: c for c in feasible}
        requirements = spec.get("replicaRequirements")
        available = {n: available_replicas(by_name[n], requirements) for n in names}
        names = self._spread(placement, names, available)
        uid = (spec.get("resource") or {}).get("uid", "")
        version = self.m.settings.karmada_version
        if not replicas:
            return [{"name": n} for n in names]
        if not strategy or strategy.get("replicaSchedulingType", "Divided") == "Duplicated":
            result = division.duplicated(replicas, names)
        else:
            preference = strategy.get("replicaDivisionPreference") or "Weighted"
            weight = strategy.get("weightPreference") or {}
            try:
                if preference == "Aggregated":
                    previous = [t.get("name") for t in spec.get("clusters") or []]
                    result = division.aggregated(replicas, {n: available[n] for n in names}, previous=previous,
                                                 uid=uid, version=version)
                elif weight.get("dynamicWeight"):
                    result = division.dynamic(replicas, {n: available[n] for n in names}, uid=uid, version=version)
                else:
                    weights = division.static_weights([by_name[n] for n in names], weight.get("staticWeightList"))
                    previous = {t.get("name"): int(t.get("replicas") or 0) for t in spec.get("clusters") or []}
                    result = division.divide(replicas, weights, uid=uid, version=version, previous=previous)
            except division.InsufficientCapacity as e:
                raise Unschedulable("Unschedulable", str(e)) from None
        return [{"name": n, "replicas": r} for n, r in sorted(result.items()) if r > 0]

    @staticmethod
    def _spread(placement: dict[str, Any], names: list[str], available: dict[str, int]) -> list[str]:
        for constraint in placement.get("spreadConstraints") or []:
            if constraint.get("spreadByField") != "cluster":
                continue
            if len(names) < int(constraint.get("minGroups") or 1):
                raise Unschedulable("NoClusterFit", f"the number of feasible clusters is less than "
                                                    f"spreadConstraint.MinGroups ({constraint.get('minGroups')})")
            scheduling = placement.get("replicaScheduling") or {}
            static = scheduling.get("replicaSchedulingType") == "Divided" and \
                scheduling.get("replicaDivisionPreference", "Weighted") == "Weighted" and \
                not (scheduling.get("weightPreference") or {}).get("dynamicWeight")
            if constraint.get("maxGroups") and not static:  # §2.1: ignored for static weights
                names = sorted(sorted(names, key=lambda n: (-available[n], n))[:int(constraint["maxGroups"])])
        return names
