"""The taint manager (karmada SPEC §6): bindings leave clusters whose NoExecute taints they do not tolerate.

An untolerated NoExecute taint evicts at once; a toleration with ``tolerationSeconds``
evicts that long after the taint's ``timeAdded``; one without tolerates for ever.
Eviction removes the cluster from ``spec.clusters`` and records a graceful eviction
task, so the scheduler places the replicas elsewhere and the binding controller keeps
the old copy until the new one is healthy.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import TYPE_CHECKING, Any

from cceone_karmada.affinity import toleration_tolerates

from sandbox.kubesim.util import parse_time

from .. import constants as k
from .kube import Controller
from .scheduler import BINDING_KINDS, now

if TYPE_CHECKING:
    from . import ControllerManager


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def eviction_delay(cluster: dict[str, Any], tolerations: list[dict[str, Any]]) -> float | None:
    """Seconds until the binding must leave the cluster (0: now), or None to stay."""
    delays = []
    current = dt.datetime.now(dt.timezone.utc)
    for taint in (cluster.get("spec") or {}).get("taints") or []:
        if taint.get("effect") != "NoExecute":
            continue
        matching = [t for t in tolerations if toleration_tolerates(t, taint)]
        if not matching:
            return 0.0
        if any(t.get("tolerationSeconds") is None for t in matching):
            continue
        seconds = min(int(t["tolerationSeconds"]) for t in matching)
        added = parse_time(taint.get("timeAdded")) or current
        delays.append(max(0.0, seconds - (current - added).total_seconds()))
    return min(delays) if delays else None


class TaintManager(Controller):
    name = "taint-manager"

    def __init__(self, manager: "ControllerManager") -> None:
        super().__init__()
        self.m = manager
        manager.informer(k.CLUSTER_API, "Cluster").handlers.append(self._on_cluster)
        for kind in BINDING_KINDS:
            manager.informer(k.BINDING_API, kind).handlers.append(self._on_binding)

    def _on_cluster(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if event == "DELETED" or (old is not None and (old.get("spec") or {}).get("taints") ==
                                  (obj.get("spec") or {}).get("taints")):
            return
        name = _meta(obj)["name"]
        for kind in BINDING_KINDS:
            for binding in self.m.informer(k.BINDING_API, kind).items():
                if any(t.get("name") == name for t in (binding.get("spec") or {}).get("clusters") or []):
                    self.queue.add((kind, _meta(binding).get("namespace", ""), _meta(binding)["name"]))

    def _on_binding(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if event != "DELETED" and (old is None or (old.get("spec") or {}).get("clusters") !=
                                   (obj.get("spec") or {}).get("clusters")):
            self.queue.add((obj["kind"], _meta(obj).get("namespace", ""), _meta(obj)["name"]))

    def reconcile(self, key: tuple[str, str, str]) -> float | None:
        if not self.m.settings.failover:
            return None
        kind, namespace, name = key
        binding = self.m.informer(k.BINDING_API, kind).get(namespace, name)
        if binding is None or _meta(binding).get("deletionTimestamp"):
            return None
        spec = binding.get("spec") or {}
        tolerations = (spec.get("placement") or {}).get("clusterTolerations") or []
        evict, again = [], None
        for target in spec.get("clusters") or []:
            cluster = self.m.informer(k.CLUSTER_API, "Cluster").get("", target.get("name", ""))
            if cluster is None:
                continue
            delay = eviction_delay(cluster, tolerations)
            if delay is None:
                continue
            if delay <= 0:
                evict.append(target)
            else:
                again = delay if again is None else min(again, delay)
        if evict:
            self._evict(binding, evict)
        return again

    def _evict(self, binding: dict[str, Any], targets: list[dict[str, Any]]) -> None:
        updated = copy.deepcopy(binding)
        spec = updated["spec"]
        gone = {t["name"] for t in targets}
        spec["clusters"] = [t for t in spec.get("clusters") or [] if t.get("name") not in gone]
        purge = ((spec.get("failover") or {}).get("cluster") or {}).get("purgeMode") or "Gracefully"
        tasks = [t for t in spec.get("gracefulEvictionTasks") or [] if t.get("fromCluster") not in gone]
        for target in targets:
            task = {"fromCluster": target["name"], "purgeMode": purge, "reason": "TaintUntolerated",
                    "producer": "TaintManager", "creationTimestamp": now(),
                    "clustersBeforeFailover": sorted(t.get("name") for t in (binding.get("spec") or {}).get(
                        "clusters") or [])}
            if "replicas" in target:
                task["replicas"] = target["replicas"]
            tasks.append(task)
        spec["gracefulEvictionTasks"] = tasks
        updated.pop("status", None)
        self.m.karmada.replace(updated)
