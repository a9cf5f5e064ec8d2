"""The execution and work-status controllers: Works applied to members, members' status read back.

Members are reached only through each Cluster's ``apiEndpoint`` with its ``secretRef``
token (in CCE One, the hub's proxy URL and a platform token). An object already in the
member that this Work does not manage is adopted in place under ``conflictResolution:
Overwrite`` (no recreation, so its pods stay) and left alone under ``Abort``. Each
(member, kind) the Works touch is watched (label ``karmada.io/managed``), so a member's
status changes reach the Work, the binding and the template within a watch event.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from .. import constants as k
from .kube import JSON_PATCH, ApiFailure, Controller, Informer, Kube
from .scheduler import set_condition

if TYPE_CHECKING:
    from . import ControllerManager

_KEEP_MEMBER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                     "ownerReferences", "finalizers", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def cluster_ready(cluster: dict[str, Any] | None) -> bool:
    conditions = ((cluster or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def health(obj: dict[str, Any]) -> str:
    """The default interpreter's InterpretHealth."""
    kind, spec, status = obj.get("kind"), obj.get("spec") or {}, obj.get("status") or {}
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        if (status.get("observedGeneration") or 0) < (_meta(obj).get("generation") or 0):
            return "Unhealthy"
        wanted = spec.get("replicas", 1)
        ready = status.get("availableReplicas", status.get("readyReplicas", 0)) or 0
        return "Healthy" if (status.get("updatedReplicas") or 0) >= wanted and ready >= wanted else "Unhealthy"
    if kind == "DaemonSet":
        return "Healthy" if (status.get("numberUnavailable") or 0) == 0 else "Unhealthy"
    if kind == "Job":
        return "Unhealthy" if any(c.get("type") == "Failed" and c.get("status") == "True"
                                  for c in status.get("conditions") or []) else "Healthy"
    if kind == "PersistentVolumeClaim":
        return "Healthy" if status.get("phase") == "Bound" else "Unhealthy"
    return "Healthy"


def reflected_status(obj: dict[str, Any]) -> dict[str, Any] | None:
    status = obj.get("status")
    if not status:
        return None
    if obj.get("kind") == "Deployment":  # what the default interpreter reflects
        reflected = {key: status[key] for key in ("replicas", "updatedReplicas", "readyReplicas",
                                                  "availableReplicas", "unavailableReplicas", "observedGeneration")
                     if key in status}
    else:
        reflected = copy.deepcopy(status)
    if obj.get("kind") in ("Deployment", "StatefulSet", "DaemonSet"):
        reflected["generation"] = _meta(obj).get("generation")
    return reflected


def merge_for_update(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The desired object over what the member has: its own metadata and status kept, as Karmada's
    retain rules do (a Service keeps its cluster IPs and node ports)."""
    merged = copy.deepcopy(desired)
    m = merged["metadata"]
    for field in _KEEP_MEMBER_META:
        if field in _meta(current):
            m[field] = _meta(current)[field]
    m["labels"] = {**(_meta(current).get("labels") or {}), **(m.get("labels") or {})}
    m["annotations"] = {**(_meta(current).get("annotations") or {}), **(m.get("annotations") or {})}
    if "status" in current:
        merged["status"] = current["status"]
    if desired.get("kind") == "Service":
        old_spec, spec = current.get("spec") or {}, merged.setdefault("spec", {})
        for field in ("clusterIP", "clusterIPs", "healthCheckNodePort", "ipFamilies", "ipFamilyPolicy"):
            if field in old_spec and field not in spec:
                spec[field] = old_spec[field]
        old_ports = {p.get("port"): p for p in old_spec.get("ports") or []}
        for port in spec.get("ports") or []:
            if "nodePort" not in port and (old_ports.get(port.get("port")) or {}).get("nodePort"):
                port["nodePort"] = old_ports[port["port"]]["nodePort"]
    if desired.get("kind") == "ServiceAccount" and "secrets" in current:
        merged.setdefault("secrets", current["secrets"])
    return merged


def _differs(current: dict[str, Any], merged: dict[str, Any]) -> bool:
    def view(obj: dict[str, Any]) -> dict[str, Any]:
        m = {key: v for key, v in _meta(obj).items() if key in ("labels", "annotations")}
        return {**{key: v for key, v in obj.items() if key not in ("metadata", "status")}, "metadata": m}
    return view(current) != view(merged)


class ExecutionController(Controller):
    name = "execution-controller"
    workers = 4

    def __init__(self, manager: "ControllerManager") -> None:
        super().__init__()
        self.m = manager
        self._member_watches: dict[tuple[str, str, str], tuple[Informer, threading.Event, Kube]] = {}
        self._watch_lock = threading.Lock()
        manager.informer(k.WORK_API, "Work").handlers.append(self._on_work)
        manager.informer(k.CLUSTER_API, "Cluster").handlers.append(self._on_cluster)

    def _on_work(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if event == "DELETED":
            return
        if event == "MODIFIED" and old is not None and old.get("spec") == obj.get("spec") and \
                _meta(old).get("deletionTimestamp") == _meta(obj).get("deletionTimestamp"):
            return  # our own status write
        self.queue.add((_meta(obj)["namespace"], _meta(obj)["name"]))

    def _on_cluster(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        name = _meta(obj)["name"]
        if event == "DELETED" or (old is not None and cluster_ready(old) and not cluster_ready(obj)):
            self.stop_member_watches(name)
            return
        if old is None or cluster_ready(old) != cluster_ready(obj) or old.get("spec") != obj.get("spec"):
            space = k.execution_space(name)
            for work in self.m.informer(k.WORK_API, "Work").items():
                if _meta(work).get("namespace") == space:
                    self.queue.add((space, _meta(work)["name"]))

    # ------------------------------------------------------------ member watches

    def _watch_member(self, cluster: dict[str, Any], kube: Kube, api_version: str, kind: str) -> None:
        key = (_meta(cluster)["name"], api_version, kind)
        with self._watch_lock:
            current = self._member_watches.get(key)
            if current is not None and current[2] is kube and not current[1].is_set():
                return
            if current is not None:
                current[1].set()
                current[0].halt()
            stop = threading.Event()
            informer = Informer(kube, api_version, kind, stop, label_selector=f"{k.MANAGED_LABEL}=true",
                                watch_timeout=self.m.settings.watch_timeout, name=f"{key[0]}-{kind}")
            informer.handlers.append(self._on_member_object)
            self._member_watches[key] = (informer, stop, kube)
        informer.start()

    def _on_member_object(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        annotations = _meta(obj).get("annotations") or {}
        if annotations.get(k.WORK_NAME_ANNOTATION) and annotations.get(k.WORK_NAMESPACE_ANNOTATION):
            self.queue.add((annotations[k.WORK_NAMESPACE_ANNOTATION], annotations[k.WORK_NAME_ANNOTATION]))

    def stop_member_watches(self, cluster: str | None = None) -> None:
        with self._watch_lock:
            for key in list(self._member_watches):
                if cluster is None or key[0] == cluster:
                    informer, stop, _ = self._member_watches.pop(key)
                    stop.set()
                    informer.halt()

    # ------------------------------------------------------------ reconcile

    def reconcile(self, key: tuple[str, str]) -> float | None:
        namespace, name = key
        work = self.m.informer(k.WORK_API, "Work").get(namespace, name)
        cluster_name = k.cluster_of_space(namespace)
        if work is None or cluster_name is None:
            return None
        cluster = self.m.informer(k.CLUSTER_API, "Cluster").get("", cluster_name)
        if _meta(work).get("deletionTimestamp"):
            return self._delete(work, cluster)
        if cluster is None or (work.get("spec") or {}).get("suspendDispatching"):
            return None
        if not cluster_ready(cluster):
            return None  # the cluster controller's next Ready brings this Work back (_on_cluster)
        kube = self.m.member(cluster)
        statuses, errors = [], []
        for ordinal, manifest in enumerate(((work.get("spec") or {}).get("workload") or {}).get("manifests") or []):
            try:
                applied = self._apply(kube, cluster_name, manifest)
                self._watch_member(cluster, kube, manifest["apiVersion"], manifest["kind"])
            except ApiFailure as e:
                errors.append(e.message)
                continue
            group, _, version = manifest["apiVersion"].rpartition("/")
            entry: dict[str, Any] = {"identifier": {
                "ordinal": ordinal, "group": group, "version": version, "kind": manifest["kind"],
                "resource": kube.resource(manifest["apiVersion"], manifest["kind"]).name,
                "namespace": _meta(manifest).get("namespace", ""), "name": _meta(manifest)["name"]},
                "health": health(applied)}
            reflected = reflected_status(applied)
            if reflected:
                entry["status"] = reflected
            statuses.append(entry)
        self._write_status(work, statuses, errors)
        return 2.0 if errors else None

    def _apply(self, kube: Kube, cluster_name: str, manifest: dict[str, Any]) -> dict[str, Any]:
        m = _meta(manifest)
        namespace = m.get("namespace")
        if namespace and kube.resource(manifest["apiVersion"], manifest["kind"]).namespaced:
            self._ensure_namespace(kube, namespace)
        current = kube.get(manifest["apiVersion"], manifest["kind"], m["name"], namespace)
        if current is None:
            return kube.create(manifest)
        ours = (_meta(current).get("annotations") or {}).get(k.WORK_NAME_ANNOTATION) == \
            (m.get("annotations") or {}).get(k.WORK_NAME_ANNOTATION)
        resolution = (m.get("annotations") or {}).get(k.CONFLICT_RESOLUTION_ANNOTATION, "abort")
        if not ours and resolution != "overwrite":
            raise ApiFailure(409, f"resource({manifest['kind']}/{namespace + '/' if namespace else ''}{m['name']}) "
                                  f"already exists in the cluster {cluster_name} and is not managed by Karmada; "
                                  "the conflict resolution is Abort (set conflictResolution: Overwrite to adopt it)")
        merged = merge_for_update(current, manifest)
        if not _differs(current, merged):
            return current
        return kube.replace(merged)

    @staticmethod
    def _ensure_namespace(kube: Kube, namespace: str) -> None:
        if kube.get("v1", "Namespace", namespace) is not None:
            return
        try:
            kube.create({"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": namespace, "labels": {k.MANAGED_LABEL: "true"}}})
        except ApiFailure as e:
            if e.status != 409:
                raise

    def _write_status(self, work: dict[str, Any], statuses: list[dict[str, Any]], errors: list[str]) -> None:
        status = copy.deepcopy(work.get("status") or {})
        new = dict(status)
        if errors:
            condition = {"type": "Applied", "status": "False", "reason": "AppliedFailed",
                         "message": "; ".join(errors)}
        else:
            condition = {"type": "Applied", "status": "True", "reason": "AppliedSuccessful",
                         "message": "Manifest has been successfully applied"}
        new["conditions"] = set_condition(status.get("conditions"), condition)
        new["manifestStatuses"] = statuses
        if new == status:
            return
        self.m.karmada.update_status(work, new)

    def _delete(self, work: dict[str, Any], cluster: dict[str, Any] | None) -> float | None:
        """Remove the Work's objects from the member, then its finalizer. A member that is not ready
        keeps the Work waiting, unless the member itself is leaving (then its copies stay there)."""
        leaving = cluster is None or bool(_meta(cluster).get("deletionTimestamp"))
        if not leaving and not cluster_ready(cluster):
            return 2.0
        if cluster_ready(cluster) and not (work.get("spec") or {}).get("preserveResourcesOnDeletion"):
            kube = self.m.member(cluster)
            for manifest in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []:
                m = _meta(manifest)
                current = kube.get(manifest["apiVersion"], manifest["kind"], m["name"], m.get("namespace"))
                if current is not None and (_meta(current).get("annotations") or {}).get(
                        k.WORK_NAME_ANNOTATION) == _meta(work)["name"]:
                    kube.delete(manifest["apiVersion"], manifest["kind"], m["name"], m.get("namespace"))
        finalizers = _meta(work).get("finalizers") or []
        if k.EXECUTION_FINALIZER in finalizers:
            index = finalizers.index(k.EXECUTION_FINALIZER)
            self.m.karmada.patch(k.WORK_API, "Work", _meta(work)["name"], [
                {"op": "test", "path": f"/metadata/finalizers/{index}", "value": k.EXECUTION_FINALIZER},
                {"op": "remove", "path": f"/metadata/finalizers/{index}"}], _meta(work)["namespace"],
                content_type=JSON_PATCH)
        return None
