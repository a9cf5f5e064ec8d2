"""The cluster and cluster-status controllers (karmada SPEC §4, §6).

For each Cluster: the finalizer and the execution namespace ``karmada-es-<cluster>``;
every ``cluster_status_interval`` a probe of the member through its ``apiEndpoint``
(``/healthz``, version, nodes and pods for ``nodeSummary``/``resourceSummary``,
discovery for ``apiEnablements``) written to ``status``; the ``not-ready`` NoSchedule
taint while it is not Ready and, with failover on, the NoExecute one too (what a
ClusterTaintPolicy on ``Ready != True`` does from v1.14, the cluster controller itself
before), whose ``timeAdded`` the taint manager counts tolerations from.
"""

from __future__ import annotations

import copy
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import constants as k
from .kube import JSON_PATCH, ApiFailure, Controller, Kube, log
from .quantity import add, format_quantity
from .scheduler import now, set_condition

if TYPE_CHECKING:
    from . import ControllerManager

APIS_REFRESH = 30.0  # seconds between two discoveries of a member's API enablements


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


class ClusterController(Controller):
    name = "cluster-controller"
    workers = 4

    def __init__(self, manager: "ControllerManager") -> None:
        super().__init__()
        self.m = manager
        self._probe_failures: dict[str, int] = {}
        self._apis: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        manager.informer(k.CLUSTER_API, "Cluster").handlers.append(self._on_cluster)
        manager.informer("v1", "Secret").handlers.append(self._on_secret)

    def _on_secret(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        """A cluster's credentials changed (or arrived after the Cluster): probe it again now."""
        ref = {"namespace": _meta(obj).get("namespace"), "name": _meta(obj).get("name")}
        for cluster in self.m.informer(k.CLUSTER_API, "Cluster").items():
            spec = cluster.get("spec") or {}
            if ref in ({key: (spec.get(r) or {}).get(key) for key in ("namespace", "name")}
                       for r in ("secretRef", "impersonatorSecretRef")):
                self.queue.add(_meta(cluster)["name"])

    def _on_cluster(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if event == "DELETED":
            self.m.forget_member(_meta(obj)["name"])
            return
        if event == "ADDED" or old is None or old.get("spec") != obj.get("spec") or \
                _meta(old).get("deletionTimestamp") != _meta(obj).get("deletionTimestamp"):
            self.queue.add(_meta(obj)["name"])

    # ------------------------------------------------------------ reconcile

    def reconcile(self, name: str) -> float | None:
        cluster = self.m.informer(k.CLUSTER_API, "Cluster").get("", name)
        if cluster is None:
            return None
        if _meta(cluster).get("deletionTimestamp"):
            return self._remove(cluster)
        if k.CLUSTER_FINALIZER not in (_meta(cluster).get("finalizers") or []):
            cluster = self.m.karmada.patch(k.CLUSTER_API, "Cluster", name, {
                "metadata": {"finalizers": [*(_meta(cluster).get("finalizers") or []), k.CLUSTER_FINALIZER],
                             "resourceVersion": _meta(cluster)["resourceVersion"]}})
        space = k.execution_space(name)
        if self.m.karmada.get("v1", "Namespace", space) is None:
            try:
                self.m.karmada.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": space}})
            except ApiFailure as e:
                if e.status != 409:
                    raise
        status, reachable = self._probe(cluster)
        self._write_status(cluster, status)
        self._taint(cluster, reachable)
        return self.m.settings.cluster_status_interval

    def _probe(self, cluster: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        name = _meta(cluster)["name"]
        old = copy.deepcopy(cluster.get("status") or {})
        new = dict(old)
        try:
            kube = self.m.member(cluster)
            healthy = self._healthz(kube)
            version = kube.request("GET", "/version")
            nodes = kube.list("v1", "Node").get("items") or []
            pods = kube.list("v1", "Pod").get("items") or []
            apis = self._api_enablements(name, kube)
        except ApiFailure as e:
            log.debug("cluster %s: probe failed: %s", name, e.message)
            self._probe_failures[name] = self._probe_failures.get(name, 0) + 1
            if self._probe_failures[name] < self.m.settings.cluster_failure_threshold and old.get("conditions"):
                return old, True  # one failed probe is not yet an outage
            new["conditions"] = set_condition(old.get("conditions"), {
                "type": "Ready", "status": "False", "reason": "ClusterNotReachable",
                "message": "cluster is not reachable"})
            return new, False
        self._probe_failures.pop(name, None)
        new["kubernetesVersion"] = version.get("gitVersion", "")
        new["apiEnablements"] = apis
        new["nodeSummary"] = {"totalNum": len(nodes), "readyNum": sum(1 for n in nodes if _node_ready(n))}
        new["resourceSummary"] = _resource_summary(nodes, pods)
        new["conditions"] = set_condition(old.get("conditions"), {
            "type": "Ready", "status": "True" if healthy else "False",
            "reason": "ClusterReady" if healthy else "ClusterNotReady",
            "message": "cluster is healthy and ready to accept workloads" if healthy else
            "cluster is reachable but health endpoint responded without ok"})
        new["conditions"] = set_condition(new["conditions"], {
            "type": "CompleteAPIEnablements", "status": "True" if apis else "False",
            "reason": "Complete" if apis else "Empty",
            "message": "collected complete APIs from member cluster" if apis else "collected no APIs"})
        return new, True

    @staticmethod
    def _healthz(kube: Kube) -> bool:
        try:
            response = kube.dyn.request("GET", "/healthz", serialize=False, _request_timeout=kube.timeout)
        except Exception as e:  # any failure to answer is unreachability
            raise ApiFailure(getattr(e, "status", 0) or 0, str(e)) from None
        return response.data.strip() == b"ok"

    def _api_enablements(self, name: str, kube: Kube) -> list[dict[str, Any]]:
        cached = self._apis.get(name)
        if cached is not None and time.monotonic() - cached[0] < APIS_REFRESH and cached[1]:
            return cached[1]
        enablements = []
        core = kube.request("GET", "/api/v1")
        enablements.append({"groupVersion": "v1", "resources": _resources(core)})
        for group in kube.request("GET", "/apis").get("groups") or []:
            for version in group.get("versions") or []:
                listing = kube.request("GET", f"/apis/{version['groupVersion']}")
                enablements.append({"groupVersion": version["groupVersion"], "resources": _resources(listing)})
        enablements.sort(key=lambda e: e["groupVersion"])
        self._apis[name] = (time.monotonic(), enablements)
        return enablements

    def _write_status(self, cluster: dict[str, Any], status: dict[str, Any]) -> None:
        if status == (cluster.get("status") or {}):
            return
        self.m.karmada.update_status(cluster, status)

    def _taint(self, cluster: dict[str, Any], reachable: bool) -> None:
        current = self.m.karmada.get(k.CLUSTER_API, "Cluster", _meta(cluster)["name"]) or cluster
        conditions = (current.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        taints = [t for t in (current.get("spec") or {}).get("taints") or []
                  if t.get("key") not in (k.TAINT_NOT_READY, k.TAINT_UNREACHABLE)]
        kept = {(t.get("key"), t.get("effect")): t for t in (current.get("spec") or {}).get("taints") or []}
        if ready is None or ready.get("status") != "True":
            key = k.TAINT_UNREACHABLE if ready is not None and ready.get("status") == "Unknown" else k.TAINT_NOT_READY
            effects = ["NoSchedule"] + (["NoExecute"] if self.m.settings.failover and ready is not None else [])
            for effect in effects:
                taints.append(kept.get((key, effect)) or {"key": key, "effect": effect, "timeAdded": now()})
        if taints == ((current.get("spec") or {}).get("taints") or []):
            return
        self.m.karmada.patch(k.CLUSTER_API, "Cluster", _meta(current)["name"],
                             {"metadata": {"resourceVersion": _meta(current)["resourceVersion"]},
                              "spec": {"taints": taints}})

    def _remove(self, cluster: dict[str, Any]) -> float | None:
        """Unjoin: the Works of the member go first (a ready member loses the objects they put there),
        then its execution namespace, then the finalizer."""
        name = _meta(cluster)["name"]
        space = k.execution_space(name)
        works = [w for w in self.m.informer(k.WORK_API, "Work").items() if _meta(w).get("namespace") == space]
        for work in works:
            if not _meta(work).get("deletionTimestamp"):
                self.m.karmada.delete(k.WORK_API, "Work", _meta(work)["name"], space)
        if works:
            return 0.2
        self.m.karmada.delete("v1", "Namespace", space)
        finalizers = _meta(cluster).get("finalizers") or []
        if k.CLUSTER_FINALIZER in finalizers:
            index = finalizers.index(k.CLUSTER_FINALIZER)
            self.m.karmada.patch(k.CLUSTER_API, "Cluster", name, [
                {"op": "test", "path": f"/metadata/finalizers/{index}", "value": k.CLUSTER_FINALIZER},
                {"op": "remove", "path": f"/metadata/finalizers/{index}"}], content_type=JSON_PATCH)
        self._probe_failures.pop(name, None)
        self._apis.pop(name, None)
        return None


def _node_ready(node: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def _resources(listing: dict[str, Any]) -> list[dict[str, str]]:
    return sorted(({"name": r["name"], "kind": r["kind"]} for r in listing.get("resources") or []
                   if "/" not in r.get("name", "")), key=lambda r: r["name"])


def _resource_summary(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> dict[str, Any]:
    allocatable: dict[str, Decimal] = {}
    for node in nodes:
        if _node_ready(node):
            add(allocatable, (node.get("status") or {}).get("allocatable"))
    allocated: dict[str, Decimal] = {}
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed") or not (pod.get("spec") or {}).get("nodeName"):
            continue
        for container in (pod.get("spec") or {}).get("containers") or []:
            add(allocated, (container.get("resources") or {}).get("requests"))
        allocated["pods"] = allocated.get("pods", Decimal(0)) + 1
    return {"allocatable": {n: format_quantity(n, v) for n, v in sorted(allocatable.items())},
            "allocated": {n: format_quantity(n, v) for n, v in sorted(allocated.items())}}
