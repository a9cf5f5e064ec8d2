"""Just enough of kube-controller-manager, the scheduler and the kubelet.

A console is mostly looked at after someone changed something: scaled a
Deployment, deleted a pod, drained a node. Without controllers nothing
would happen and the emulator would feel dead, so these keep the obvious
consequences real: Deployments own ReplicaSets that own Running pods on
Ready nodes, StatefulSets get ``name-0..n-1`` with bound PVCs, DaemonSets
get one pod per eligible node, Jobs complete, PDB status follows the pods,
and unowned pods are scheduled.

Deliberately simple: rollouts are instant (new ReplicaSet to full size, old
ones to zero), pods start Ready at once, and everything runs synchronously
at the end of the API call that caused it (``Operations.transaction``), so
tests need no sleeps. Objects loaded from seeds are left exactly as written
until something changes them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import math
import secrets
from typing import Any, Callable

from . import disruption, kinds
from .errors import ApiError
from .rbac import User
from .store import Event
from .util import (controller_ref, controller_uid, fnv32a, meta, node_ready, pod_ready, random_suffix,
                   safe_encode, terminating, timestamp)

log = logging.getLogger("sandbox.kubesim.controllers")

DEPLOYMENTS = ("apps", "deployments")
REPLICASETS = ("apps", "replicasets")
STATEFULSETS = ("apps", "statefulsets")
DAEMONSETS = ("apps", "daemonsets")
JOBS = ("batch", "jobs")
PODS = ("", "pods")
NODES = ("", "nodes")
NAMESPACES = ("", "namespaces")
PVCS = ("", "persistentvolumeclaims")
PVS = ("", "persistentvolumes")
PDBS = ("policy", "poddisruptionbudgets")
STORAGECLASSES = ("storage.k8s.io", "storageclasses")
SECRETS = ("", "secrets")
SERVICEACCOUNTS = ("", "serviceaccounts")
CONFIGMAPS = ("", "configmaps")
SERVICES = ("", "services")
ENDPOINTS = ("", "endpoints")
ENDPOINT_SLICES = ("discovery.k8s.io", "endpointslices")
EVENTS = ("", "events")
# Who reports "created pod" for which owner (the Events' source.component).
_CREATORS = {"ReplicaSet": "replicaset-controller", "DaemonSet": "daemonset-controller", "Job": "job-controller",
             "StatefulSet": "statefulset-controller"}
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
ROOT_CA_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
                       "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
                       "guaranteed across distributions of Kubernetes clusters.")
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"

_OWNER_KINDS = {"ReplicaSet": "replicaset", "StatefulSet": "statefulset", "DaemonSet": "daemonset", "Job": "job"}
# Tolerations the DaemonSet controller adds to every daemon pod.
_DAEMON_TOLERATIONS = [{"key": k, "operator": "Exists", "effect": e} for k, e in (
    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule"))]


def template_hash(template: dict[str, Any]) -> str:
    return safe_encode(str(fnv32a(json.dumps(template, sort_keys=True).encode())))


def revision_hash(template: dict[str, Any]) -> str:
    """A StatefulSet's or DaemonSet's revision of `template`, over its defaulted form (see
    `_without_hash`): the same whether a client wrote the defaults or the API server did."""
    return template_hash({**template, "spec": kinds.default_pod_spec(template.get("spec") or {})})


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    """The template as the deployment controller compares it: without the hash label and with
    the API server's defaults (seeds are stored as written; a real API server has defaulted
    both sides, so a client writing the defaulted template back changes nothing)."""
    tmeta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (tmeta.get("labels") or {}).items() if k != "pod-template-hash"}
    tmeta["labels"] = labels
    return {**template, "metadata": tmeta, "spec": kinds.default_pod_spec(template.get("spec") or {})}


def _tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _merge_conditions(old: list[dict[str, Any]] | None, new: list[dict[str, Any]],
                      update_times: bool = False) -> list[dict[str, Any]]:
    """Keep timestamps of unchanged conditions, so a resync with no news is a no-op write."""
    now = timestamp()
    previous = {c.get("type"): c for c in old or []}
    out = []
    for c in new:
        prev = previous.get(c["type"])
        same = prev is not None and prev.get("status") == c["status"]
        c["lastTransitionTime"] = prev.get("lastTransitionTime", now) if same and prev else now
        if update_times:
            unchanged = same and prev and prev.get("reason") == c.get("reason") and prev.get("message") == c.get("message")
            c["lastUpdateTime"] = prev.get("lastUpdateTime", now) if unchanged and prev else now
        out.append(c)
    return out


def _nonzero(status: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """The real API omits zero counters (omitempty); consoles see them as absent."""
    return {k: v for k, v in status.items() if v not in (0, None) or k in keep}


_STARTUP_LINES = {
    "nginx": ["/docker-entrypoint.sh: Configuration complete; ready for start up",
              "[notice] 1#1: using the \"epoll\" event method", "[notice] 1#1: start worker processes"],
    "redis": ["* Server initialized", "* Ready to accept connections tcp"],
    "postgres": ["LOG:  starting PostgreSQL", "LOG:  database system is ready to accept connections"],
    "busybox": [],
}


def _endpoint_port(port: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
    """A Service port as its endpoints carry it: the target port, a named one looked up in the pods."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, str):
        for pod in pods:
            for c in (pod.get("spec") or {}).get("containers") or []:
                for cp in c.get("ports") or []:
                    if cp.get("name") == target:
                        target = cp.get("containerPort")
                        break
    out: dict[str, Any] = {"port": target if isinstance(target, int) else port.get("port"),
                           "protocol": port.get("protocol", "TCP")}
    if port.get("name"):
        out["name"] = port["name"]
    return out


def startup_lines(image: str) -> list[str]:
    base = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    return _STARTUP_LINES.get(base, [f"starting {base}", "listening on :8080"])


class Controllers:
    def __init__(self, ops: Any) -> None:
        self.ops = ops
        self.store = ops.store
        self.pending: dict[tuple[str, ...], None] = {}  # an ordered set of work items
        self._next_node = 0
        self._events: dict[tuple[str, ...], str] = {}  # (ns, uid, reason, message, component) → Event name
        self.store.listeners.append(self._on_event)

    def _rt(self, rkey: tuple[str, str]) -> Any:
        return self.ops.registry.get(*rkey)

    # ------------------------------------------------------------ event routing

    def _enqueue(self, *key: str) -> None:
        self.pending[key] = None

    def _on_event(self, ev: Event) -> None:
        if self.ops.quiet:
            return
        m = meta(ev.obj)
        ns, name = m.get("namespace") or "", m.get("name") or ""
        if ev.rkey == DEPLOYMENTS:
            self._enqueue("deployment", ns, name)
        elif ev.rkey == REPLICASETS:
            self._enqueue("replicaset", ns, name)
            for ref in m.get("ownerReferences") or []:
                if ref.get("kind") == "Deployment":
                    self._enqueue("deployment", ns, ref.get("name", ""))
        elif ev.rkey == STATEFULSETS:
            self._enqueue("statefulset", ns, name)
        elif ev.rkey == DAEMONSETS:
            self._enqueue("daemonset", ns, name)
        elif ev.rkey == JOBS:
            self._enqueue("job", ns, name)
        elif ev.rkey == PODS:
            owned = False
            for ref in m.get("ownerReferences") or []:
                if ref.get("controller") and ref.get("kind") in _OWNER_KINDS:
                    self._enqueue(_OWNER_KINDS[ref["kind"]], ns, ref.get("name", ""))
                    owned = True
            if ev.type == "ADDED" and not owned:
                self._enqueue("pod", ns, name)
            for svc in self.store.iter(SERVICES, ns):
                if (svc.get("spec") or {}).get("selector"):
                    self._enqueue("endpoints", ns, meta(svc)["name"])
            if self.store.count(PDBS, ns):
                self._enqueue("budgets", ns)
        elif ev.rkey == NODES:
            self._enqueue("nodes")
        elif ev.rkey == PVCS and ev.type == "ADDED":
            self._enqueue("claim", ns, name)
        elif ev.rkey == PDBS and ev.type != "DELETED":
            self._enqueue("budgets", ns)
        elif ev.rkey == SECRETS and ev.obj.get("type") == SA_TOKEN_TYPE:
            self._enqueue("token", ns, name)
        elif ev.rkey == SERVICES:
            self._enqueue("endpoints", ns, name)
        elif ev.rkey == NAMESPACES and ev.type == "ADDED":
            self._enqueue("namespace", name)
        elif ev.rkey == SERVICEACCOUNTS:
            if ev.type == "DELETED" and name == "default":
                self._enqueue("namespace", ns)
            for secret in self.store.iter(SECRETS, ns):
                if secret.get("type") == SA_TOKEN_TYPE and \
                        (meta(secret).get("annotations") or {}).get(SA_NAME_ANNOTATION) == name:
                    self._enqueue("token", ns, meta(secret)["name"])

    def drain(self) -> None:
        budget = 50_000  # a guard against a controller bug looping forever inside an API call
        while self.pending and budget:
            key = next(iter(self.pending))
            del self.pending[key]
            budget -= 1
            handler: Callable[..., None] = getattr(self, "_sync_" + key[0])
            try:
                handler(*key[1:])
            except ApiError as e:
                log.warning("controller %s: %s", key, e.message)
            except Exception:  # a controller bug must not fail the API call that triggered it
                log.exception("controller %s failed", key)

    # ------------------------------------------------------------ helpers

    def _namespace_alive(self, ns: str) -> bool:
        obj = self.store.get(NAMESPACES, "", ns)
        return obj is not None and not terminating(obj)

    def _live(self, rkey: tuple[str, str], ns: str, name: str) -> dict[str, Any] | None:
        obj = self.store.get(rkey, ns, name)
        if obj is None or terminating(obj) or (ns and not self._namespace_alive(ns)):
            return None
        return obj

    def _owned(self, owner: dict[str, Any], rkey: tuple[str, str]) -> list[dict[str, Any]]:
        uid = meta(owner)["uid"]
        return [o for rk, o in self.store.owned_by(uid) if rk == rkey and controller_uid(o) == uid]

    def _set_status(self, rkey: tuple[str, str], obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        return self.ops._replace(self._rt(rkey), obj, {**obj, "status": status}, subresource="status", system=True)

    def _set_spec(self, rkey: tuple[str, str], obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
        new = {**obj, "spec": {**(obj.get("spec") or {}), **changes}}
        new["metadata"] = {k: v for k, v in meta(obj).items() if k != "resourceVersion"}
        return self.ops._replace(self._rt(rkey), obj, new, system=True)

    def _delete(self, rkey: tuple[str, str], obj: dict[str, Any]) -> None:
        try:
            self.ops.delete(self._rt(rkey), meta(obj).get("namespace"), meta(obj)["name"])
        except ApiError as e:
            if e.code != 404:
                raise

    # ------------------------------------------------------------ Events

    def _record(self, obj: dict[str, Any], reason: str, message: str, component: str, event_type: str = "Normal",
                host: str = "") -> None:
        """A core/v1 Event about ``obj``, as client-go's EventRecorder writes it: a repeat of the same
        reason and message from the same component counts up the existing Event."""
        m = meta(obj)
        ns = m.get("namespace") or "default"
        if not self._namespace_alive(ns):
            return
        now = timestamp()
        key = (ns, m.get("uid", ""), reason, message, component)
        name = self._events.get(key)
        old = self.store.get(EVENTS, ns, name) if name else None
        if old is not None:
            new = {**old, "count": (old.get("count") or 1) + 1, "lastTimestamp": now}
            new["metadata"] = {k: v for k, v in meta(old).items() if k != "resourceVersion"}
            self.ops._replace(self._rt(EVENTS), old, new, system=True)
            return
        involved = {"kind": obj.get("kind"), "namespace": m.get("namespace"), "name": m.get("name"),
                    "uid": m.get("uid"), "apiVersion": obj.get("apiVersion"),
                    "resourceVersion": m.get("resourceVersion")}
        source = {"component": component, **({"host": host} if host else {})}
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": f"{m.get('name')}.{secrets.token_hex(8)}", "namespace": ns},
                 "involvedObject": {k: v for k, v in involved.items() if v},
                 "reason": reason, "message": message, "source": source, "type": event_type,
                 "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                 "eventTime": now.replace("Z", ".000000Z"),
                 "reportingComponent": component, "reportingInstance": host}
        self._events[key] = self.ops.create(self._rt(EVENTS), ns, event, system=True)["metadata"]["name"]

    def _placed(self, pod: dict[str, Any], node: dict[str, Any] | None, why: str = "", scheduled: bool = True) -> None:
        """The scheduler's verdict on a pod (when it chose) and the kubelet's start of its containers."""
        m = meta(pod)
        if node is None:
            if why:
                self._record(pod, "FailedScheduling", why, "default-scheduler", "Warning")
            return
        node_name = meta(node)["name"]
        if scheduled:
            self._record(pod, "Scheduled", f"Successfully assigned {m['namespace']}/{m['name']} to {node_name}",
                         "default-scheduler")
        if (pod.get("status") or {}).get("phase") not in ("Running", "Succeeded"):
            return
        for c in (pod.get("spec") or {}).get("containers") or []:
            self._record(pod, "Pulled", f'Container image "{c.get("image", "")}" already present on machine',
                         "kubelet", host=node_name)
            self._record(pod, "Created", f"Created container: {c.get('name', '')}", "kubelet", host=node_name)
            self._record(pod, "Started", f"Started container {c.get('name', '')}", "kubelet", host=node_name)

    # ------------------------------------------------------------ endpoints

    def _sync_endpoints(self, ns: str, name: str) -> None:
        """The endpoints and EndpointSlice controllers: a Service with a selector lists the IPs and
        ports of its pods, ready ones as addresses, the others as not ready."""
        svc = self._live(SERVICES, ns, name)
        if svc is None and self.store.get(SERVICES, ns, name) is None:
            stale = self.store.get(ENDPOINTS, ns, name)
            if stale is not None:
                self._delete(ENDPOINTS, stale)
            return
        selector = ((svc or {}).get("spec") or {}).get("selector")
        if svc is None or not selector:
            return
        pods = [p for p in self.store.iter(PODS, ns)
                if all((meta(p).get("labels") or {}).get(k) == v for k, v in selector.items())
                and (p.get("status") or {}).get("podIP") and not terminating(p)]
        ports = [_endpoint_port(port, pods) for port in (svc.get("spec") or {}).get("ports") or []]
        ready = [p for p in pods if pod_ready(p)]
        unready = [p for p in pods if not pod_ready(p)]

        def address(pod: dict[str, Any]) -> dict[str, Any]:
            out = {"ip": pod["status"]["podIP"], "targetRef": {"kind": "Pod", "namespace": ns,
                                                             "name": meta(pod)["name"], "uid": meta(pod)["uid"]}}
            if (pod.get("spec") or {}).get("nodeName"):
                out["nodeName"] = pod["spec"]["nodeName"]
            return out

        subset: dict[str, Any] = {}
        if ready:
            subset["addresses"] = [address(p) for p in ready]
        if unready:
            subset["notReadyAddresses"] = [address(p) for p in unready]
        if subset and ports:
            subset["ports"] = [{k: v for k, v in port.items() if k in ("name", "port", "protocol")} for port in ports]
        labels = {k: v for k, v in (meta(svc).get("labels") or {}).items()}
        ref = [{"apiVersion": "v1", "kind": "Service", "name": name, "uid": meta(svc)["uid"],
                "controller": True, "blockOwnerDeletion": True}]
        endpoints: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints",
                                     "metadata": {"name": name, "namespace": ns, "labels": labels}}
        endpoints["subsets"] = [subset] if subset and ports else []
        self._ensure(ENDPOINTS, ns, name, endpoints)
        slice_name = f"{name}-kubesim"
        self._ensure(ENDPOINT_SLICES, ns, slice_name, {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": slice_name, "namespace": ns, "ownerReferences": ref,
                         "labels": {**labels, "kubernetes.io/service-name": name,
                                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
            "endpoints": [{"addresses": [p["status"]["podIP"]],
                           "conditions": {"ready": pod_ready(p), "serving": pod_ready(p), "terminating": False},
                           "targetRef": address(p)["targetRef"],
                           **({"nodeName": p["spec"]["nodeName"]} if (p.get("spec") or {}).get("nodeName") else {})}
                          for p in pods],
            "ports": ports})

    def _ensure(self, rkey: tuple[str, str], ns: str, name: str, want: dict[str, Any]) -> None:
        """Create the object, or bring its content (all but metadata's server fields) to ``want``."""
        have = self.store.get(rkey, ns, name)
        rt = self._rt(rkey)
        if have is None:
            self.ops.create(rt, ns, {k: v for k, v in want.items() if v != []}, system=True)
            return
        merged = {**have, **{k: v for k, v in want.items() if k != "metadata"}}
        merged["metadata"] = {**{k: v for k, v in meta(have).items() if k != "resourceVersion"},
                              **{k: v for k, v in want["metadata"].items()}}
        if "subsets" in want and not want["subsets"]:
            merged.pop("subsets", None)
        if merged != have:
            self.ops._replace(rt, have, merged, system=True)

    # ------------------------------------------------------------ new namespaces

    def _sync_namespace(self, name: str) -> None:
        """The service account controller and the root CA publisher: every namespace has a
        ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap."""
        if not self._namespace_alive(name):
            return
        wanted = [(SERVICEACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                     "metadata": {"name": "default", "namespace": name}}),
                  (CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": name,
                                             "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                                "data": {"ca.crt": self.ops.ca_pem}})]
        for rkey, obj in wanted:
            if self.store.get(rkey, name, obj["metadata"]["name"]) is None:
                self.ops.create(self._rt(rkey), name, obj, system=True)

    # ------------------------------------------------------------ service account tokens

    def _sync_token(self, ns: str, name: str) -> None:
        """The token controller: a service-account-token Secret gets a token that authenticates as
        its ServiceAccount (what ``karmadactl join`` polls for); it stops working with the Secret."""
        tokens = self.ops.tokens
        secret = self.store.get(SECRETS, ns, name)
        stale = [t for t, key in self.ops.secret_tokens.items() if key == (ns, name)]
        if secret is None or terminating(secret):
            for token in stale:
                tokens.pop(token, None)
                del self.ops.secret_tokens[token]
            return
        annotations = meta(secret).get("annotations") or {}
        sa = self.store.get(SERVICEACCOUNTS, ns, annotations.get(SA_NAME_ANNOTATION, ""))
        data = secret.get("data") or {}
        if sa is None:
            return  # the real controller waits for the account too
        token_b64 = data.get("token")
        if token_b64:
            token = base64.b64decode(token_b64).decode()
        else:
            token = secrets.token_urlsafe(32)
            ca = self.ops.ca_pem.encode()
            data = {**data, "token": base64.b64encode(token.encode()).decode(),
                    "ca.crt": base64.b64encode(ca).decode(), "namespace": base64.b64encode(ns.encode()).decode()}
            new = {**secret, "data": data}
            new["metadata"] = {**{k: v for k, v in meta(secret).items() if k != "resourceVersion"},
                               "annotations": {**annotations, SA_UID_ANNOTATION: meta(sa)["uid"]}}
            self.ops._replace(self._rt(SECRETS), secret, new, system=True)
        tokens[token] = User.service_account(ns, meta(sa)["name"])
        self.ops.secret_tokens[token] = (ns, name)

    # ------------------------------------------------------------ scheduling and "kubelet"

    def _eligible_nodes(self, spec: dict[str, Any], daemon: bool = False) -> tuple[list[dict[str, Any]], str]:
        nodes = list(self.store.iter(NODES))
        selector = spec.get("nodeSelector") or {}
        tolerations = list(spec.get("tolerations") or []) + (_DAEMON_TOLERATIONS if daemon else [])
        ok, reasons = [], {}
        for n in nodes:
            labels = meta(n).get("labels") or {}
            taints = [t for t in (n.get("spec") or {}).get("taints") or []
                      if t.get("effect") in ("NoSchedule", "NoExecute")]
            if not daemon and (n.get("spec") or {}).get("unschedulable"):
                why = "node(s) were unschedulable"
            elif not daemon and not node_ready(n):
                why = "node(s) were not ready"
            elif any(labels.get(k) != v for k, v in selector.items()):
                why = "node(s) didn't match Pod's node affinity/selector"
            elif any(not _tolerates(tolerations, t) for t in taints):
                why = "node(s) had untolerated taint"
            else:
                ok.append(n)
                continue
            reasons[why] = reasons.get(why, 0) + 1
        if not nodes:
            return [], "no nodes available to schedule pods"
        detail = ", ".join(f"{count} {why}" for why, count in sorted(reasons.items()))
        return ok, f"0/{len(nodes)} nodes are available: {detail}."

    def _pick_node(self, spec: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        nodes, why = self._eligible_nodes(spec)
        if not nodes:
            return None, why
        self._next_node += 1  # round robin spreads replicas like the default scheduler's scoring tends to
        return nodes[self._next_node % len(nodes)], ""

    def _pod_status(self, pod: dict[str, Any], node: dict[str, Any] | None, why: str = "",
                    finished: bool = False) -> dict[str, Any]:
        spec = pod.get("spec") or {}
        qos = kinds.qos_class(spec)
        now = timestamp()
        if node is None:
            return {"phase": "Pending", "qosClass": qos, "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why,
                 "lastProbeTime": None, "lastTransitionTime": now}]}
        addresses = (node.get("status") or {}).get("addresses") or []
        host_ip = next((a["address"] for a in addresses if a.get("type") == "InternalIP"), "")
        running = node_ready(node)
        pod_ip = host_ip if spec.get("hostNetwork") else self.ops.alloc.pod_ip()
        statuses = []
        for c in spec.get("containers") or []:
            digest = hashlib.sha256(c.get("image", "").encode()).hexdigest()
            cid = "containerd://" + hashlib.sha256(f"{meta(pod).get('name')}/{c.get('name')}/{now}".encode()).hexdigest()
            status: dict[str, Any] = {"name": c.get("name"), "image": c.get("image"),
                                      "imageID": f"{c.get('image', '').split(':')[0]}@sha256:{digest}",
                                      "restartCount": 0, "ready": running and not finished, "started": running and not finished}
            if finished:
                status["containerID"] = cid
                status["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now,
                                                  "finishedAt": now, "containerID": cid}}
            elif running:
                status["containerID"] = cid
                status["state"] = {"running": {"startedAt": now}}
            else:
                status["state"] = {"waiting": {"reason": "ContainerCreating"}}
            statuses.append(status)
        ready = "True" if running and not finished else "False"
        conditions = [
            {"type": "PodReadyToStartContainers", "status": "True" if running else "False"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready},
            {"type": "ContainersReady", "status": ready},
            {"type": "PodScheduled", "status": "True"},
        ]
        for c in conditions:
            c.update({"lastProbeTime": None, "lastTransitionTime": now})
            if c["status"] == "False" and c["type"] in ("Ready", "ContainersReady"):
                c["reason"] = "PodCompleted" if finished else "ContainersNotReady"
        phase = "Succeeded" if finished else ("Running" if running else "Pending")
        return {"phase": phase, "conditions": conditions, "hostIP": host_ip,
                "hostIPs": [{"ip": host_ip}] if host_ip else [], "podIP": pod_ip,
                "podIPs": [{"ip": pod_ip}], "startTime": now, "containerStatuses": statuses, "qosClass": qos}

    def _start_logs(self, pod: dict[str, Any], finished: bool = False) -> None:
        if (pod.get("status") or {}).get("phase") not in ("Running", "Succeeded"):
            return
        m = meta(pod)
        for c in (pod.get("spec") or {}).get("containers") or []:
            lines = startup_lines(c.get("image", ""))
            if finished:
                lines = lines + ["completed successfully"]
            for line in lines:
                self.ops.logs.append(m["namespace"], m["name"], c.get("name", ""), line)

    def _create_pod(self, owner: dict[str, Any], template: dict[str, Any], name: str,
                    labels: dict[str, str] | None = None, node: dict[str, Any] | None = None,
                    spec_changes: dict[str, Any] | None = None, finished: bool = False) -> dict[str, Any]:
        tmeta = template.get("metadata") or {}
        spec = {**copy.deepcopy(template.get("spec") or {}), **(spec_changes or {})}
        pod: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": meta(owner)["namespace"],
                         "labels": {**(tmeta.get("labels") or {}), **(labels or {})},
                         "ownerReferences": [controller_ref(owner)]},
            "spec": spec,
        }
        if tmeta.get("annotations"):
            pod["metadata"]["annotations"] = dict(tmeta["annotations"])
        why = ""
        scheduled = not spec.get("nodeName")  # DaemonSet pods too: the default scheduler binds them
        if node is None and not spec.get("nodeName"):
            node, why = self._pick_node(spec)
        elif node is None:
            node = self.store.get(NODES, "", spec["nodeName"])
        if node is not None:
            spec["nodeName"] = meta(node)["name"]
        pod["status"] = self._pod_status(pod, node, why, finished=finished)
        created = self.ops.create(self._rt(PODS), meta(owner)["namespace"], pod, system=True)
        kind = owner.get("kind", "")
        if kind == "StatefulSet":
            self._record(owner, "SuccessfulCreate", f"create Pod {name} in StatefulSet {meta(owner)['name']} successful",
                         _CREATORS[kind])
        elif kind in _CREATORS:
            self._record(owner, "SuccessfulCreate", f"Created pod: {name}", _CREATORS[kind])
        self._placed(created, node, why, scheduled)
        self._start_logs(created, finished)
        return created

    def _unique_name(self, rkey: tuple[str, str], ns: str, prefix: str) -> str:
        name = prefix + random_suffix()
        while self.store.get(rkey, ns, name) is not None:
            name = prefix + random_suffix()
        return name

    # ------------------------------------------------------------ Deployment

    def _sync_deployment(self, ns: str, name: str) -> None:
        dep = self._live(DEPLOYMENTS, ns, name)
        if dep is None:
            return
        spec = dep.get("spec") or {}
        replicas = spec.get("replicas", 1)
        template = spec.get("template") or {}
        owned = self._owned(dep, REPLICASETS)
        current = next((rs for rs in owned
                        if _without_hash((rs.get("spec") or {}).get("template") or {}) == _without_hash(template)),
                       None)
        revision = max([int((meta(rs).get("annotations") or {}).get("deployment.kubernetes.io/revision", 0) or 0)
                        for rs in owned] + [0])
        if not spec.get("paused"):
            if current is None:
                current = self._new_replicaset(dep, template, replicas, revision + 1)
            else:
                annotations = dict(meta(current).get("annotations") or {})
                current_rev = int(annotations.get("deployment.kubernetes.io/revision", 0) or 0)
                if current_rev != revision:  # rolled back to an older template: it becomes the newest revision
                    annotations["deployment.kubernetes.io/revision"] = str(revision + 1)
                annotations["deployment.kubernetes.io/desired-replicas"] = str(replicas)
                before = (current.get("spec") or {}).get("replicas", 1)
                if before != replicas or annotations != meta(current).get("annotations"):
                    new = {**current, "metadata": {**meta(current), "annotations": annotations},
                           "spec": {**current["spec"], "replicas": replicas}}
                    new["metadata"].pop("resourceVersion", None)
                    current = self.ops._replace(self._rt(REPLICASETS), current, new, system=True)
                    self._scaled(dep, current, before, replicas)
            for rs in owned:
                before = (rs.get("spec") or {}).get("replicas")
                if meta(rs)["name"] != meta(current)["name"] and before:
                    self._scaled(dep, self._set_spec(REPLICASETS, rs, replicas=0), before, 0)
        self._deployment_status(dep, current)

    def _scaled(self, dep: dict[str, Any], rs: dict[str, Any], before: int, after: int) -> None:
        if before != after:
            self._record(dep, "ScalingReplicaSet", f"Scaled {'up' if after > before else 'down'} replica set "
                         f"{meta(rs)['name']} from {before} to {after}", "deployment-controller")

    def _new_replicaset(self, dep: dict[str, Any], template: dict[str, Any], replicas: int,
                        revision: int) -> dict[str, Any]:
        ns, name = meta(dep)["namespace"], meta(dep)["name"]
        h = template_hash(template)
        tmeta = dict(template.get("metadata") or {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), "pod-template-hash": h}
        selector = copy.deepcopy((dep.get("spec") or {}).get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), "pod-template-hash": h}
        rs = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{name}-{h}", "namespace": ns, "labels": dict(tmeta["labels"]),
                         "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                         "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                                         "deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [controller_ref(dep)]},
            "spec": {"replicas": replicas, "selector": selector, "template": {**template, "metadata": tmeta}},
        }
        if self.store.get(REPLICASETS, ns, rs["metadata"]["name"]) is not None:
            rs["metadata"]["name"] = self._unique_name(REPLICASETS, ns, f"{name}-{h}")
        created = self.ops.create(self._rt(REPLICASETS), ns, rs, system=True)
        self._scaled(dep, created, 0, replicas)
        return created

    def _deployment_status(self, dep: dict[str, Any], current: dict[str, Any] | None) -> None:
        dep = self.store.get(DEPLOYMENTS, meta(dep)["namespace"], meta(dep)["name"]) or dep
        spec = dep.get("spec") or {}
        want = spec.get("replicas", 1)
        owned = self._owned(dep, REPLICASETS)
        total = sum((rs.get("status") or {}).get("replicas", 0) for rs in owned)
        ready = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in owned)
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in owned)
        updated = ((current or {}).get("status") or {}).get("replicas", 0) if current else 0
        max_unavailable = ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%")
        if isinstance(max_unavailable, str) and max_unavailable.endswith("%"):
            max_unavailable = math.floor(want * int(max_unavailable[:-1]) / 100)
        minimum = available >= want - int(max_unavailable)
        rs_name = meta(current)["name"] if current else ""
        done = current is not None and updated == want and available >= want and total == want
        old = dep.get("status") or {}
        conditions = _merge_conditions(old.get("conditions"), [
            {"type": "Available", "status": "True" if minimum else "False",
             "reason": "MinimumReplicasAvailable" if minimum else "MinimumReplicasUnavailable",
             "message": "Deployment has minimum availability." if minimum
             else "Deployment does not have minimum availability."},
            {"type": "Progressing", "status": "True",
             "reason": "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
             "message": f'ReplicaSet "{rs_name}" has successfully progressed.' if done
             else f'ReplicaSet "{rs_name}" is progressing.'},
        ], update_times=True)
        status = _nonzero({"observedGeneration": meta(dep).get("generation", 1), "replicas": total,
                           "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available,
                           "unavailableReplicas": max(0, want - available)})
        status["conditions"] = conditions
        self._set_status(DEPLOYMENTS, dep, status)

    # ------------------------------------------------------------ ReplicaSet

    def _sync_replicaset(self, ns: str, name: str) -> None:
        rs = self._live(REPLICASETS, ns, name)
        if rs is None:
            return
        spec = rs.get("spec") or {}
        want = spec.get("replicas", 1)
        template = spec.get("template") or {}
        active = [p for p in self._owned(rs, PODS)
                  if not terminating(p) and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        if len(active) < want:
            for _ in range(want - len(active)):
                self._create_pod(rs, template, self._unique_name(PODS, ns, f"{name}-"))
        elif len(active) > want:
            # Delete the least useful pods first: unscheduled, pending, not ready, newest.
            victims = sorted(active, key=lambda p: meta(p).get("creationTimestamp", ""), reverse=True)
            victims.sort(key=lambda p: (bool((p.get("spec") or {}).get("nodeName")),
                                        (p.get("status") or {}).get("phase") == "Running", pod_ready(p)))
            for pod in victims[:len(active) - want]:
                self._delete(PODS, pod)
                self._record(rs, "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}", "replicaset-controller")
        pods = [p for p in self._owned(rs, PODS)
                if not terminating(p) and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        ready = sum(1 for p in pods if pod_ready(p))
        status = _nonzero({"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                           "availableReplicas": ready, "observedGeneration": meta(rs).get("generation", 1)},
                          keep=("replicas",))
        self._set_status(REPLICASETS, rs, status)

    # ------------------------------------------------------------ StatefulSet

    def _sync_statefulset(self, ns: str, name: str) -> None:
        sts = self._live(STATEFULSETS, ns, name)
        if sts is None:
            return
        spec = sts.get("spec") or {}
        want = spec.get("replicas", 1)
        template = spec.get("template") or {}
        revision = f"{name}-{revision_hash(template)}"
        uid = meta(sts)["uid"]
        for i in range(want):
            pod_name = f"{name}-{i}"
            pod = self.store.get(PODS, ns, pod_name)
            if pod is not None and controller_uid(pod) == uid and not terminating(pod) \
                    and (meta(pod).get("labels") or {}).get("controller-revision-hash") != revision:
                self._delete(PODS, pod)  # template changed: recreate with the new revision
                pod = None
            if pod is None:
                self._create_stateful_pod(sts, template, i, revision)
        for pod in self._owned(sts, PODS):
            ordinal = meta(pod)["name"].rsplit("-", 1)[-1]
            if not ordinal.isdigit() or int(ordinal) >= want:
                self._delete(PODS, pod)
        pods = [p for p in self._owned(sts, PODS) if not terminating(p)]
        ready = sum(1 for p in pods if pod_ready(p))
        current = sum(1 for p in pods if (meta(p).get("labels") or {}).get("controller-revision-hash") == revision)
        status = _nonzero({"observedGeneration": meta(sts).get("generation", 1), "replicas": len(pods),
                           "readyReplicas": ready, "currentReplicas": current, "updatedReplicas": current,
                           "availableReplicas": ready, "collisionCount": 0},
                          keep=("replicas", "availableReplicas"))
        status.update({"currentRevision": revision, "updateRevision": revision})
        self._set_status(STATEFULSETS, sts, status)

    def _create_stateful_pod(self, sts: dict[str, Any], template: dict[str, Any], i: int, revision: str) -> None:
        ns, name = meta(sts)["namespace"], meta(sts)["name"]
        spec = sts.get("spec") or {}
        pod_name = f"{name}-{i}"
        volumes = list((template.get("spec") or {}).get("volumes") or [])
        for claim_tpl in spec.get("volumeClaimTemplates") or []:
            tpl_name = (claim_tpl.get("metadata") or {}).get("name", "data")
            claim = f"{tpl_name}-{pod_name}"
            if self.store.get(PVCS, ns, claim) is None:
                pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": claim, "namespace": ns,
                                    "labels": dict(((spec.get("selector") or {}).get("matchLabels")) or {})},
                       "spec": copy.deepcopy(claim_tpl.get("spec") or {})}
                self.ops.create(self._rt(PVCS), ns, pvc, system=True)
            if not any(v.get("name") == tpl_name for v in volumes):
                volumes.append({"name": tpl_name, "persistentVolumeClaim": {"claimName": claim}})
        changes: dict[str, Any] = {"hostname": pod_name}
        if spec.get("serviceName"):
            changes["subdomain"] = spec["serviceName"]
        if volumes:
            changes["volumes"] = volumes
        self._create_pod(sts, template, pod_name, spec_changes=changes, labels={
            "controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name,
            "apps.kubernetes.io/pod-index": str(i)})

    # ------------------------------------------------------------ DaemonSet

    def _sync_daemonset(self, ns: str, name: str) -> None:
        ds = self._live(DAEMONSETS, ns, name)
        if ds is None:
            return
        template = (ds.get("spec") or {}).get("template") or {}
        revision = revision_hash(template)
        eligible, _ = self._eligible_nodes(template.get("spec") or {}, daemon=True)
        wanted = {meta(n)["name"]: n for n in eligible}
        placed: dict[str, dict[str, Any]] = {}
        for pod in self._owned(ds, PODS):
            if terminating(pod):
                continue
            node = (pod.get("spec") or {}).get("nodeName")
            stale = (meta(pod).get("labels") or {}).get("controller-revision-hash") != revision
            if node not in wanted or node in placed or stale:
                self._delete(PODS, pod)
            else:
                placed[node] = pod
        for node_name, node in wanted.items():
            if node_name not in placed:
                spec = dict(template.get("spec") or {})
                tolerations = list(spec.get("tolerations") or [])
                tolerations += [t for t in _DAEMON_TOLERATIONS if t not in tolerations]
                placed[node_name] = self._create_pod(
                    ds, template, self._unique_name(PODS, ns, f"{name}-"), node=node,
                    labels={"controller-revision-hash": revision,
                            "pod-template-generation": str(meta(ds).get("generation", 1))},
                    spec_changes={"tolerations": tolerations})
        ready = sum(1 for p in placed.values() if pod_ready(p))
        status = _nonzero({"desiredNumberScheduled": len(wanted), "currentNumberScheduled": len(placed),
                           "numberReady": ready, "numberAvailable": ready,
                           "numberUnavailable": max(0, len(wanted) - ready),
                           "updatedNumberScheduled": len(placed), "numberMisscheduled": 0,
                           "observedGeneration": meta(ds).get("generation", 1)},
                          keep=("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                "numberMisscheduled"))
        self._set_status(DAEMONSETS, ds, status)

    # ------------------------------------------------------------ Job

    def _sync_job(self, ns: str, name: str) -> None:
        job = self._live(JOBS, ns, name)
        if job is None:
            return
        spec = job.get("spec") or {}
        old = job.get("status") or {}
        if spec.get("suspend") or any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                                      for c in old.get("conditions") or []):
            return
        completions = spec.get("completions", 1)
        pods = [p for p in self._owned(job, PODS) if not terminating(p)]
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        active = [p for p in pods if (p.get("status") or {}).get("phase") in ("Pending", "Running")]
        template = spec.get("template") or {}
        for _ in range(max(0, completions - succeeded - len(active))):
            node, why = self._pick_node(template.get("spec") or {})
            pod = self._create_pod(job, template, self._unique_name(PODS, ns, f"{name}-"), node=node,
                                   finished=node is not None)
            if node is None:
                self.ops._replace(self._rt(PODS), pod, {**pod, "status": self._pod_status(pod, None, why)},
                                  subresource="status", system=True)
        pods = [p for p in self._owned(job, PODS) if not terminating(p)]
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        running = sum(1 for p in pods if (p.get("status") or {}).get("phase") in ("Pending", "Running"))
        now = timestamp()
        status: dict[str, Any] = _nonzero({"active": running, "succeeded": succeeded, "ready": 0, "terminating": 0},
                                          keep=("ready", "terminating"))
        status["startTime"] = old.get("startTime") or now
        status["uncountedTerminatedPods"] = {}
        if succeeded >= completions:
            status["completionTime"] = now
            self._record(job, "Completed", "Job completed", "job-controller")
            status["conditions"] = _merge_conditions(old.get("conditions"), [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": now},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": now}])
        self._set_status(JOBS, job, status)

    # ------------------------------------------------------------ bare pods, nodes, volumes, budgets

    def _sync_pod(self, ns: str, name: str) -> None:
        pod = self._live(PODS, ns, name)
        if pod is None or (pod.get("status") or {}).get("phase", "Pending") != "Pending" \
                or (pod.get("status") or {}).get("containerStatuses"):
            return
        spec = pod.get("spec") or {}
        if spec.get("nodeName"):
            node, why = self.store.get(NODES, "", spec["nodeName"]), ""
            if node is None or not node_ready(node):
                return  # bound to a missing or dead node: stays Pending, like on a real cluster
        else:
            node, why = self._pick_node(spec)
        new = {**pod, "spec": {**spec, "nodeName": meta(node)["name"]} if node else spec}
        new["status"] = self._pod_status(pod, node, why)
        new["metadata"] = {k: v for k, v in meta(pod).items() if k != "resourceVersion"}
        if node is None:
            old_cond = ((pod.get("status") or {}).get("conditions") or [])
            if old_cond and old_cond[0].get("message") == why:
                return
        stored = self.ops._replace(self._rt(PODS), pod, new, system=True)
        self._placed(stored, node, why, scheduled=not spec.get("nodeName"))
        self._start_logs(stored)

    def _sync_nodes(self) -> None:
        for ds in list(self.store.iter(DAEMONSETS)):
            self._enqueue("daemonset", meta(ds)["namespace"], meta(ds)["name"])
        for pod in list(self.store.iter(PODS)):
            status = pod.get("status") or {}
            if status.get("phase", "Pending") == "Pending" and not (pod.get("spec") or {}).get("nodeName"):
                if controller_uid(pod) is None:
                    self._enqueue("pod", meta(pod)["namespace"], meta(pod)["name"])
                else:
                    self._schedule_owned(pod)

    def _schedule_owned(self, pod: dict[str, Any]) -> None:
        node, _ = self._pick_node(pod.get("spec") or {})
        if node is None:
            return
        new = {**pod, "spec": {**pod["spec"], "nodeName": meta(node)["name"]}}
        new["status"] = self._pod_status(pod, node)
        new["metadata"] = {k: v for k, v in meta(pod).items() if k != "resourceVersion"}
        stored = self.ops._replace(self._rt(PODS), pod, new, system=True)
        self._placed(stored, node)
        self._start_logs(stored)

    def _sync_claim(self, ns: str, name: str) -> None:
        """Dynamic provisioning: bind a pending claim to a new volume of its (or the default) class."""
        pvc = self._live(PVCS, ns, name)
        if pvc is None or (pvc.get("spec") or {}).get("volumeName"):
            return
        spec = pvc.get("spec") or {}
        classes = list(self.store.iter(STORAGECLASSES))
        sc_name = spec.get("storageClassName")
        if sc_name is None:
            sc_name = next((meta(c)["name"] for c in classes if (meta(c).get("annotations") or {}).get(
                "storageclass.kubernetes.io/is-default-class") == "true"), None)
        sc = next((c for c in classes if meta(c)["name"] == sc_name), None)
        if sc is None:
            return
        size = (((spec.get("resources") or {}).get("requests")) or {}).get("storage", "1Gi")
        modes = spec.get("accessModes") or ["ReadWriteOnce"]
        pv_name = f"pvc-{meta(pvc)['uid']}"
        provisioner = sc.get("provisioner", "kubesim.io/hostpath")
        pv = {"apiVersion": "v1", "kind": "PersistentVolume",
              "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
              "spec": {"accessModes": modes, "capacity": {"storage": size}, "storageClassName": sc_name,
                       "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                       "volumeMode": spec.get("volumeMode", "Filesystem"),
                       "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns,
                                    "name": name, "uid": meta(pvc)["uid"]},
                       "csi": {"driver": provisioner, "volumeHandle": pv_name, "fsType": "ext4"}},
              "status": {"phase": "Bound"}}
        self.ops.create(self._rt(PVS), None, pv, system=True)
        annotations = {**(meta(pvc).get("annotations") or {}), "pv.kubernetes.io/bind-completed": "yes",
                       "pv.kubernetes.io/bound-by-controller": "yes",
                       "volume.kubernetes.io/storage-provisioner": provisioner}
        new = {**pvc, "metadata": {k: v for k, v in meta(pvc).items() if k != "resourceVersion"},
               "spec": {**spec, "volumeName": pv_name, "storageClassName": sc_name},
               "status": {"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}}}
        new["metadata"]["annotations"] = annotations
        self.ops._replace(self._rt(PVCS), pvc, new, system=True)

    def _sync_budgets(self, ns: str) -> None:
        pods = list(self.store.iter(PODS, ns))
        names = {meta(p)["name"] for p in pods if not terminating(p)}
        for pdb in list(self.store.iter(PDBS, ns)):
            status = disruption.budget(pdb, pods)
            if status.get("disruptedPods"):
                kept = {k: v for k, v in status["disruptedPods"].items() if k in names}
                if kept:
                    status["disruptedPods"] = kept
                else:
                    del status["disruptedPods"]
            self._set_status(PDBS, pdb, status)
