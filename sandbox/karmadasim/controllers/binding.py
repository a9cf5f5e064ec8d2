"""The binding controller: a scheduled binding becomes one Work per cluster (karmada SPEC §3, §6, §8).

Each Work in ``karmada-es-<cluster>`` holds the template as that cluster should get it:
its share of the replicas, then the override policies (``cceone_karmada.overrides``).
Works of clusters no longer in ``spec.clusters`` are deleted, except while a graceful
eviction task keeps the old copy until the new placement is healthy (or times out).
The Works' status is aggregated onto the binding and, summed, onto the template.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from cceone_karmada.overrides import OverrideError, apply_policies

from sandbox.kubesim.util import fnv32a, parse_time, safe_encode

from .. import constants as k
from .kube import JSON_PATCH, ApiFailure, Controller
from .scheduler import BINDING_KINDS, set_condition

if TYPE_CHECKING:
    from . import ControllerManager

_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "ownerReferences",
                  "finalizers", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")
# Status fields the template gets as sums over members (the default interpreter's AggregateStatus).
_SUMMED = {"Deployment": ("replicas", "readyReplicas", "updatedReplicas", "availableReplicas",
                          "unavailableReplicas"),
           "StatefulSet": ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"),
           "DaemonSet": ("currentNumberScheduled", "desiredNumberScheduled", "numberAvailable", "numberMisscheduled",
                         "numberReady", "updatedNumberScheduled", "numberUnavailable"),
           "Job": ("active", "succeeded", "failed")}


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def work_name(namespace: str, name: str, kind: str) -> str:
    """names.GenerateWorkName: the binding's template name and a hash of namespace/name/kind."""
    key = (f"{namespace}-{name}-{kind}" if namespace else f"{name}-{kind}").lower()
    return f"{name}-{safe_encode(str(fnv32a(key.encode())))}"


def id_label(binding: dict[str, Any]) -> str:
    return k.RB_ID_LABEL if binding["kind"] == "ResourceBinding" else k.CRB_ID_LABEL


class BindingController(Controller):
    name = "binding-controller"
    workers = 2

    def __init__(self, manager: "ControllerManager") -> None:
        super().__init__()
        self.m = manager
        for kind in BINDING_KINDS:
            manager.informer(k.BINDING_API, kind).handlers.append(self._on_binding)
        manager.informer(k.WORK_API, "Work").handlers.append(self._on_work)
        for kind in ("OverridePolicy", "ClusterOverridePolicy"):
            manager.informer(k.POLICY_API, kind).handlers.append(self._on_override)
        for api_version, kind in k.TEMPLATE_KINDS:
            manager.informer(api_version, kind)

    def _on_binding(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        self.queue.add((obj["kind"], _meta(obj).get("namespace", ""), _meta(obj)["name"]))

    def _on_work(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        annotations = _meta(obj).get("annotations") or {}
        if annotations.get(k.RB_NAME_ANNOTATION):
            self.queue.add(("ResourceBinding", annotations.get(k.RB_NAMESPACE_ANNOTATION, ""),
                            annotations[k.RB_NAME_ANNOTATION]))
        elif annotations.get(k.CRB_NAME_ANNOTATION):
            self.queue.add(("ClusterResourceBinding", "", annotations[k.CRB_NAME_ANNOTATION]))

    def _on_override(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        for kind in BINDING_KINDS:
            for binding in self.m.informer(k.BINDING_API, kind).items():
                self.queue.add((kind, _meta(binding).get("namespace", ""), _meta(binding)["name"]))

    # ------------------------------------------------------------ reconcile

    def works_of(self, binding: dict[str, Any]) -> list[dict[str, Any]]:
        label = id_label(binding)
        value = (_meta(binding).get("labels") or {}).get(label)
        return [w for w in self.m.informer(k.WORK_API, "Work").items()
                if value and (_meta(w).get("labels") or {}).get(label) == value]

    def reconcile(self, key: tuple[str, str, str]) -> float | None:
        kind, namespace, name = key
        binding = self.m.informer(k.BINDING_API, kind).get(namespace, name)
        if binding is None:
            return None
        works = self.works_of(binding)
        if _meta(binding).get("deletionTimestamp"):
            return self._finalize(binding, works)
        spec = binding.get("spec") or {}
        resource = spec.get("resource") or {}
        template = self.m.informer(resource.get("apiVersion", ""), resource.get("kind", "")).get(
            resource.get("namespace", ""), resource.get("name", ""))
        if template is None:
            return None
        again = self._expire_evictions(binding, works)
        targets = {t["name"]: t for t in spec.get("clusters") or []}
        keep = set(targets) | {t.get("fromCluster") for t in spec.get("gracefulEvictionTasks") or []}
        suspended = spec.get("suspension") or {}
        for cluster_name, target in targets.items():
            cluster = self.m.informer(k.CLUSTER_API, "Cluster").get("", cluster_name)
            if cluster is None or _meta(cluster).get("deletionTimestamp"):
                continue  # a leaving member gets nothing new; the scheduler moves its share
            self._ensure_work(binding, template, cluster, target, works, suspended)
        for work in works:
            cluster_name = k.cluster_of_space(_meta(work).get("namespace", ""))
            if cluster_name not in keep and not _meta(work).get("deletionTimestamp"):
                self.m.karmada.delete(k.WORK_API, "Work", _meta(work)["name"], _meta(work)["namespace"])
        self._aggregate(binding, template, [w for w in works if k.cluster_of_space(_meta(w)["namespace"]) in targets])
        return again

    def _finalize(self, binding: dict[str, Any], works: list[dict[str, Any]]) -> float | None:
        """The binding is going: its Works go first (their members' copies with them), then its finalizer."""
        for work in works:
            if not _meta(work).get("deletionTimestamp"):
                self.m.karmada.delete(k.WORK_API, "Work", _meta(work)["name"], _meta(work)["namespace"])
        if works:
            return 0.5
        finalizers = _meta(binding).get("finalizers") or []
        if k.BINDING_FINALIZER in finalizers:
            index = finalizers.index(k.BINDING_FINALIZER)
            m = _meta(binding)
            self.m.karmada.patch(k.BINDING_API, binding["kind"], m["name"], [
                {"op": "test", "path": f"/metadata/finalizers/{index}", "value": k.BINDING_FINALIZER},
                {"op": "remove", "path": f"/metadata/finalizers/{index}"}], m.get("namespace") or None,
                content_type=JSON_PATCH)
        return None

    # ------------------------------------------------------------ works

    def render(self, binding: dict[str, Any], template: dict[str, Any], cluster: dict[str, Any],
               target: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        manifest = copy.deepcopy(template)
        manifest.pop("status", None)
        m = manifest["metadata"] = {key: v for key, v in _meta(template).items() if key not in _SERVER_FIELDS}
        if template["kind"] in k.REPLICA_KINDS and "replicas" in target:
            manifest.setdefault("spec", {})["replicas"] = target["replicas"]
        cops = self.m.informer(k.POLICY_API, "ClusterOverridePolicy").items()
        ops = self.m.informer(k.POLICY_API, "OverridePolicy").items()
        manifest, applied = apply_policies(manifest, cluster, cops, ops)
        m = manifest["metadata"]
        binding_meta = _meta(binding)
        name = work_name(binding_meta.get("namespace", ""), _meta(template)["name"], template["kind"])
        m["labels"] = {**(m.get("labels") or {}), k.MANAGED_LABEL: "true"}
        annotations = {**(m.get("annotations") or {}), k.WORK_NAME_ANNOTATION: name,
                       k.WORK_NAMESPACE_ANNOTATION: k.execution_space(_meta(cluster)["name"]),
                       k.TEMPLATE_UID_ANNOTATION: _meta(template)["uid"],
                       k.CONFLICT_RESOLUTION_ANNOTATION:
                           (m.get("annotations") or {}).get(k.CONFLICT_RESOLUTION_ANNOTATION)
                           or ((binding.get("spec") or {}).get("conflictResolution") or "Abort").lower()}
        if binding["kind"] == "ResourceBinding":
            annotations[k.RB_NAME_ANNOTATION] = binding_meta["name"]
            annotations[k.RB_NAMESPACE_ANNOTATION] = binding_meta["namespace"]
        else:
            annotations[k.CRB_NAME_ANNOTATION] = binding_meta["name"]
        if applied:
            annotations[k.APPLIED_OVERRIDES_ANNOTATION] = json.dumps(applied)
        m["annotations"] = annotations
        return manifest, applied

    def _ensure_work(self, binding: dict[str, Any], template: dict[str, Any], cluster: dict[str, Any],
                     target: dict[str, Any], works: list[dict[str, Any]], suspension: dict[str, Any]) -> None:
        cluster_name = _meta(cluster)["name"]
        space = k.execution_space(cluster_name)
        try:
            manifest, _ = self.render(binding, template, cluster, target)
        except OverrideError as e:
            self.m.karmada.request("POST", "/api/v1/namespaces/default/events", {
                "apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "override-failed-"},
                "involvedObject": {"apiVersion": binding["apiVersion"], "kind": binding["kind"],
                                   "name": _meta(binding)["name"], "namespace": _meta(binding).get("namespace", ""),
                                   "uid": _meta(binding)["uid"]},
                "reason": "OverridePolicyFailed", "message": f"cluster {cluster_name}: {e}", "type": "Warning"})
            return
        name = manifest["metadata"]["annotations"][k.WORK_NAME_ANNOTATION]
        spec: dict[str, Any] = {"workload": {"manifests": [manifest]}}
        on = (suspension.get("dispatchingOnClusters") or {}).get("clusterNames") or []
        if suspension.get("dispatching") or cluster_name in on:
            spec["suspendDispatching"] = True
        if (binding.get("spec") or {}).get("preserveResourcesOnDeletion"):
            spec["preserveResourcesOnDeletion"] = True
        label = id_label(binding)
        labels = {label: _meta(binding)["labels"][label]}
        annotations = {key: v for key, v in manifest["metadata"]["annotations"].items()
                       if key in (k.RB_NAME_ANNOTATION, k.RB_NAMESPACE_ANNOTATION, k.CRB_NAME_ANNOTATION)}
        existing = next((w for w in works if _meta(w)["namespace"] == space and _meta(w)["name"] == name), None)
        if existing is None:
            existing = self.m.karmada.get(k.WORK_API, "Work", name, space)
        if existing is None:
            self.m.karmada.create({
                "apiVersion": k.WORK_API, "kind": "Work",
                "metadata": {"name": name, "namespace": space, "labels": labels, "annotations": annotations,
                             "finalizers": [k.EXECUTION_FINALIZER]},
                "spec": spec})
            return
        if _meta(existing).get("deletionTimestamp"):
            return  # being removed from the member; recreated after
        if existing.get("spec") == spec and all((_meta(existing).get("labels") or {}).get(a) == b
                                                for a, b in labels.items()):
            return
        updated = copy.deepcopy(existing)
        updated["spec"] = spec
        updated["metadata"]["labels"] = {**(_meta(existing).get("labels") or {}), **labels}
        updated["metadata"]["annotations"] = {**(_meta(existing).get("annotations") or {}), **annotations}
        updated.pop("status", None)
        self.m.karmada.replace(updated)

    # ------------------------------------------------------------ graceful eviction

    def _expire_evictions(self, binding: dict[str, Any], works: list[dict[str, Any]]) -> float | None:
        """Drop eviction tasks whose new placement is healthy, that purge directly, or that timed out."""
        spec = binding.get("spec") or {}
        tasks = spec.get("gracefulEvictionTasks") or []
        if not tasks:
            return None
        healthy = self._new_placement_healthy(binding, works)
        keep, again = [], None
        now = dt.datetime.now(dt.timezone.utc)
        for task in tasks:
            created = parse_time(task.get("creationTimestamp")) or now
            timeout = task.get("gracePeriodSeconds") or self.m.settings.graceful_eviction_timeout
            elapsed = (now - created).total_seconds()
            if task.get("purgeMode") in ("Directly", "Immediately") or healthy or elapsed >= timeout:
                continue
            keep.append(task)
            again = min(again or timeout, max(0.2, timeout - elapsed), 1.0)
        if len(keep) != len(tasks):
            updated = copy.deepcopy(binding)
            updated["spec"]["gracefulEvictionTasks"] = keep
            updated.pop("status", None)
            self.m.karmada.replace(updated)
        return again

    def _new_placement_healthy(self, binding: dict[str, Any], works: list[dict[str, Any]]) -> bool:
        targets = {t["name"] for t in (binding.get("spec") or {}).get("clusters") or []}
        if not targets:
            return False
        by_cluster = {k.cluster_of_space(_meta(w)["namespace"]): w for w in works}
        for name in targets:
            work = by_cluster.get(name)
            statuses = ((work or {}).get("status") or {}).get("manifestStatuses") or []
            if not statuses or any(s.get("health") != "Healthy" for s in statuses):
                return False
        return True

    # ------------------------------------------------------------ status

    def _aggregate(self, binding: dict[str, Any], template: dict[str, Any], works: list[dict[str, Any]]) -> None:
        entries = []
        for work in sorted(works, key=lambda w: _meta(w)["namespace"]):
            status = work.get("status") or {}
            applied = next((c for c in status.get("conditions") or [] if c.get("type") == "Applied"), None)
            entry: dict[str, Any] = {"clusterName": k.cluster_of_space(_meta(work)["namespace"])}
            if applied is not None:
                entry["applied"] = applied.get("status") == "True"
                if applied.get("status") != "True":
                    entry["appliedMessage"] = applied.get("message", "")
            manifests = status.get("manifestStatuses") or []
            if manifests:
                entry["health"] = manifests[0].get("health", "Unknown")
                if manifests[0].get("status"):
                    entry["status"] = manifests[0]["status"]
            elif applied is not None:
                entry["health"] = "Unknown"
            entries.append(entry)
        status = copy.deepcopy(binding.get("status") or {})
        new = dict(status)
        new["aggregatedStatus"] = entries
        targets = (binding.get("spec") or {}).get("clusters") or []
        if entries and len(entries) == len(targets) and all(e.get("applied") for e in entries):
            condition = {"type": "FullyApplied", "status": "True", "reason": "FullyAppliedSuccess",
                         "message": "All works have been successfully applied"}
        else:
            condition = {"type": "FullyApplied", "status": "False", "reason": "FullyAppliedFailed",
                         "message": "Failed to apply all works, see status.aggregatedStatus for details"}
        new["conditions"] = set_condition(status.get("conditions"), condition)
        if new != status:
            self.m.karmada.update_status(binding, new)
        self._aggregate_template(template, entries)

    def _aggregate_template(self, template: dict[str, Any], entries: list[dict[str, Any]]) -> None:
        fields = _SUMMED.get(template["kind"])
        if not fields:
            return
        current = template.get("status") or {}
        new = {key: v for key, v in current.items() if key not in fields}
        for field in fields:
            total = sum(int((e.get("status") or {}).get(field) or 0) for e in entries)
            if total or field in current:
                new[field] = total
        if entries and all(e.get("applied") for e in entries):
            new["observedGeneration"] = _meta(template).get("generation", 1)
        if new == current:
            return
        try:
            self.m.karmada.update_status(template, new)
        except ApiFailure as e:
            if e.status != 404:  # a template deleted meanwhile has nothing to aggregate onto
                raise
