"""Per-kind behaviour of the API server: defaulting and validation.

Only what a console or a test would notice is reproduced: the defaults that
show up in ``kubectl get -o yaml`` (restartPolicy, clusterIP, strategy...) and
the validation errors people actually hit (bad names, pods without
containers, deployments whose selector does not match their template). The
messages are the real ones so that code showing them can be tested.
"""

from __future__ import annotations

import base64
import ipaddress
import itertools
import re
import threading
from typing import Any

from . import schema
from .registry import ResourceType
from .selectors import LabelSelector

Cause = tuple[str, str, str]  # field, reason, detail

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                  "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                  "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
              "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_LABEL1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                  "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                  "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


class _Raw(str):
    """A value Go prints without quotes (maps, structs, null)."""


def _invalid(field: str, value: Any, detail: str) -> Cause:
    shown = f'"{value}"' if isinstance(value, str) and not isinstance(value, _Raw) else str(value)
    return (field, "FieldValueInvalid", f"Invalid value: {shown}: {detail}")


def _required(field: str, detail: str = "") -> Cause:
    return (field, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def name_causes(rt: ResourceType, name: str, field: str = "metadata.name") -> list[Cause]:
    rule = rt.name_rule
    if rule == "path":
        for bad in (".", ".."):
            if name == bad:
                return [_invalid(field, name, f"may not be '{bad}'")]
        for bad in ("/", "%"):
            if bad in name:
                return [_invalid(field, name, f"may not contain '{bad}'")]
        return []
    if rule == "subdomain":
        if len(name) > 253:
            return [_invalid(field, name, "must be no more than 253 characters")]
        return [] if _SUBDOMAIN.match(name) else [_invalid(field, name, _SUBDOMAIN_MSG)]
    pattern, msg = (_LABEL, _LABEL_MSG) if rule == "label" else (_LABEL1035, _LABEL1035_MSG)
    if len(name) > 63:
        return [_invalid(field, name, "must be no more than 63 characters")]
    return [] if pattern.match(name) else [_invalid(field, name, msg)]


def _go_map(labels: dict[str, Any]) -> str:
    return _Raw("map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}")


def _validate_pod_spec(spec: Any, prefix: str) -> list[Cause]:
    containers = (spec or {}).get("containers") if isinstance(spec, dict) else None
    if not containers:
        return [_required(f"{prefix}.containers")]
    causes = []
    for i, c in enumerate(containers):
        if not c.get("name"):
            causes.append(_required(f"{prefix}.containers[{i}].name"))
        if not c.get("image"):
            causes.append(_required(f"{prefix}.containers[{i}].image"))
    return causes


def _selector_matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    return LabelSelector.from_spec(selector).matches(labels)


def validate(rt: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    """Kind-specific rules beyond the name; runs on create and update."""
    if rt.custom:
        return schema.validate(rt.schema, obj)
    spec = obj.get("spec") or {}
    kind = rt.kind
    if kind == "Pod":
        return _validate_pod_spec(spec, "spec")
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        causes = []
        selector = spec.get("selector")
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        if not selector:
            causes.append(_required("spec.selector"))
        elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
            causes.append(_invalid("spec.selector", _Raw("null"), "empty selector is invalid for deployment"))
        elif not _selector_matches(selector, labels):
            causes.append(_invalid("spec.template.metadata.labels", _go_map(labels),
                                   "`selector` does not match template `labels`"))
        causes += _validate_pod_spec(template.get("spec"), "spec.template.spec")
        if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
            causes.append(_invalid("spec.replicas", spec["replicas"],
                                   "must be greater than or equal to 0"))
        return causes
    if kind == "Job":
        return _validate_pod_spec((spec.get("template") or {}).get("spec"), "spec.template.spec")
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        ref = obj.get("roleRef") or {}
        causes = []
        if not ref.get("name"):
            causes.append(_required("roleRef.name"))
        if ref.get("kind") not in ("Role", "ClusterRole") or (kind == "ClusterRoleBinding" and ref.get("kind") != "ClusterRole"):
            causes.append(("roleRef.kind", "FieldValueNotSupported",
                           f'Unsupported value: "{ref.get("kind", "")}": supported values: "ClusterRole"'
                           + (', "Role"' if kind == "RoleBinding" else "")))
        return causes
    if kind == "CustomResourceDefinition":
        return _validate_crd(obj)
    return []


def _validate_crd(crd: dict[str, Any]) -> list[Cause]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes = []
    if not spec.get("group"):
        causes.append(_required("spec.group"))
    if not names.get("plural"):
        causes.append(_required("spec.names.plural"))
    if not names.get("kind"):
        causes.append(_required("spec.names.kind"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(("spec.scope", "FieldValueNotSupported",
                       f'Unsupported value: "{spec.get("scope", "")}": supported values: "Cluster", "Namespaced"'))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(_required("spec.versions", "must have exactly one version marked as storage version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(_invalid("spec.versions", _Raw("[...]"), "must have exactly one version marked as storage version"))
    name = (crd.get("metadata") or {}).get("name", "")
    if names.get("plural") and spec.get("group") and name != f"{names['plural']}.{spec['group']}":
        causes.append(_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    return causes


def spec_immutable_changes(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> list[Cause]:
    """Fields the real API refuses to change after creation."""
    if rt.custom:
        return []
    if rt.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
            return [_invalid("spec.selector", _Raw("v1.LabelSelector{...}"), "field is immutable")]
    if rt.kind == "CustomResourceDefinition":
        for field in ("group",):
            if (old.get("spec") or {}).get(field) != (new.get("spec") or {}).get(field):
                return [_invalid(f"spec.{field}", (new.get("spec") or {}).get(field, ""), "field is immutable")]
    return []


# ------------------------------------------------------------------ defaults

class Allocator:
    """Hands out cluster IPs, node ports and pod IPs the way a fresh cluster would."""

    def __init__(self, in_use: Any = None) -> None:
        self._lock = threading.Lock()
        self._service_ips = itertools.count(10)
        self._node_ports = itertools.count(30080)
        self._pod_ips = itertools.count(10)
        # ``in_use()``: the cluster IPs and node ports Services already hold (seeded ones too).
        self.in_use = in_use or (lambda: (set(), set()))

    def service_ip(self) -> str:
        taken = self.in_use()[0]
        with self._lock:
            while True:
                ip = str(ipaddress.IPv4Address("10.96.0.0") + next(self._service_ips))
                if ip not in taken:
                    return ip

    def node_port(self) -> int:
        taken = self.in_use()[1]
        with self._lock:
            while True:
                port = next(self._node_ports)
                if port not in taken:
                    return port

    def pod_ip(self) -> str:
        with self._lock:
            return str(ipaddress.IPv4Address("10.244.0.0") + next(self._pod_ips))


def _pull_policy(image: str) -> str:
    tail = image.rsplit("/", 1)[-1]
    if "@" in tail:
        return "IfNotPresent"
    tag = tail.split(":", 1)[1] if ":" in tail else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    spec = dict(spec)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = sa
    for field in ("initContainers", "containers"):
        if isinstance(spec.get(field), list):
            spec[field] = [_default_container(c) for c in spec[field]]
    return spec


def _default_container(c: dict[str, Any]) -> dict[str, Any]:
    c = dict(c)
    c.setdefault("imagePullPolicy", _pull_policy(c.get("image", "")))
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    if isinstance(c.get("ports"), list):
        c["ports"] = [{**p, "protocol": p.get("protocol", "TCP")} for p in c["ports"]]
    return c


def qos_class(spec: dict[str, Any]) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        r.get("limits") and all(k in r["limits"] for k in ("cpu", "memory"))
        and all((r.get("requests") or r["limits"]).get(k) == r["limits"].get(k) for k in ("cpu", "memory"))
        for r in resources)
    return "Guaranteed" if guaranteed else "Burstable"


def _default_template(spec: dict[str, Any]) -> None:
    template = dict(spec.get("template") or {})
    template["spec"] = default_pod_spec(template.get("spec") or {})
    spec["template"] = template


def apply_defaults(rt: ResourceType, obj: dict[str, Any], alloc: Allocator, old: dict[str, Any] | None) -> None:
    """Fill defaults in place on a freshly decoded (caller-owned) object."""
    if rt.custom:
        schema.default(rt.schema, obj)
        return
    kind = rt.kind
    spec = obj.get("spec")
    if kind == "Pod":
        obj["spec"] = default_pod_spec(spec or {})
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"):
        spec = obj["spec"] = dict(spec or {})
        if kind != "DaemonSet":
            spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        if kind == "Deployment":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        elif kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
            spec.setdefault("persistentVolumeClaimRetentionPolicy",
                            {"whenDeleted": "Retain", "whenScaled": "Retain"})
        elif kind == "DaemonSet":
            spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        _default_template(spec)
    elif kind == "Job":
        spec = obj["spec"] = dict(spec or {})
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        _default_template(spec)
        if old is None and not spec.get("selector") and not spec.get("manualSelector"):
            # Like the real Job API: select this job's pods by its uid.
            uid, name = obj["metadata"].get("uid", ""), obj["metadata"].get("name", "")
            job_labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                          "controller-uid": uid, "job-name": name}
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            template = spec["template"]
            template["metadata"] = {**(template.get("metadata") or {})}
            template["metadata"]["labels"] = {**(template["metadata"].get("labels") or {}), **job_labels}
    elif kind == "CronJob":
        spec = obj["spec"] = dict(spec or {})
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
    elif kind == "Service":
        _default_service(obj, alloc, old)
    elif kind == "Namespace":
        metadata = obj["metadata"]
        metadata["labels"] = {**(metadata.get("labels") or {}), "kubernetes.io/metadata.name": metadata["name"]}
        obj["spec"] = {"finalizers": ["kubernetes"], **(spec or {})}
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        # stringData is write-only: the API folds it into data.
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = dict(obj.get("data") or {})
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
    elif kind == "PersistentVolumeClaim":
        spec = obj["spec"] = dict(spec or {})
        spec.setdefault("volumeMode", "Filesystem")
    elif kind == "PersistentVolume":
        spec = obj["spec"] = dict(spec or {})
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
    elif kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")


def _default_service(obj: dict[str, Any], alloc: Allocator, old: dict[str, Any] | None) -> None:
    spec = obj["spec"] = dict(obj.get("spec") or {})
    old_spec = (old or {}).get("spec") or {}
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if not spec.get("clusterIP"):
            spec["clusterIP"] = old_spec.get("clusterIP") or alloc.service_ip()
        spec["clusterIPs"] = [spec["clusterIP"]]
    ports = []
    old_ports = {p.get("port"): p for p in old_spec.get("ports") or []}
    for p in spec.get("ports") or []:
        p = {"protocol": "TCP", **p}
        p.setdefault("targetPort", p.get("port"))
        if spec["type"] in ("NodePort", "LoadBalancer") and not p.get("nodePort"):
            p["nodePort"] = (old_ports.get(p.get("port")) or {}).get("nodePort") or alloc.node_port()
        ports.append(p)
    if ports:
        spec["ports"] = ports
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")


def initial_status(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any] | None:
    """What the API server itself puts into status on create (clients cannot set it)."""
    if rt.custom:
        return None
    if rt.kind == "Pod":
        return {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
    if rt.kind == "Namespace":
        return {"phase": "Active"}
    if rt.kind == "PersistentVolumeClaim":
        return {"phase": "Pending"}
    if rt.kind == "PersistentVolume":
        return {"phase": "Available"}
    if rt.kind == "Service":
        return {"loadBalancer": {}}
    if rt.kind == "CustomResourceDefinition":
        return None  # filled in by the server once the resource is served
    # Counters the Go types serialize even when zero (no omitempty); clients rely on their presence.
    return dict(_ZERO_STATUS.get(rt.kind, {}))


_ZERO_STATUS: dict[str, dict[str, int]] = {
    "StatefulSet": {"replicas": 0, "availableReplicas": 0},
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                  "numberReady": 0},
    "ReplicaSet": {"replicas": 0},
    "HorizontalPodAutoscaler": {"desiredReplicas": 0},
    "PodDisruptionBudget": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0},
}
