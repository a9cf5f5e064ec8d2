"""Server-side printing (``meta.k8s.io/v1 Table``) for ``kubectl get``.

kubectl asks for Tables and only falls back to NAME/AGE when it gets a plain
list, so these columns are what makes ``kubectl get pods`` against a sandbox
cluster look like the real thing (READY 1/1, STATUS, RESTARTS, AGE ...).
Column names and cell formats follow k8s.io/kubernetes/pkg/printers/internalversion.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

from .registry import ResourceType
from .selectors import LabelSelector
from .util import meta, node_ready, parse_time

Row = Callable[[dict[str, Any]], list[Any]]


def human_duration(seconds: float) -> str:
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(value: str | None) -> str:
    when = parse_time(value)
    if when is None:
        return "<unknown>"
    return human_duration((dt.datetime.now(dt.timezone.utc) - when).total_seconds())


def _spec(o: dict[str, Any]) -> dict[str, Any]:
    return o.get("spec") or {}


def _status(o: dict[str, Any]) -> dict[str, Any]:
    return o.get("status") or {}


def _none(value: Any) -> Any:
    return "<none>" if value in (None, "", []) else value


def _pod_status(pod: dict[str, Any]) -> str:
    status = _status(pod)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif state.get("terminated"):
            reason = f"ExitCode:{state['terminated'].get('exitCode', 0)}"
    if meta(pod).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod(pod: dict[str, Any]) -> list[Any]:
    statuses = _status(pod).get("containerStatuses") or []
    total = len(_spec(pod).get("containers") or [])
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    gates = _spec(pod).get("readinessGates")
    return [meta(pod)["name"], f"{ready}/{total}", _pod_status(pod), restarts,
            age(meta(pod).get("creationTimestamp")), _none(_status(pod).get("podIP")),
            _none(_spec(pod).get("nodeName")), _none(_status(pod).get("nominatedNodeName")),
            f"{len(gates)}/{len(gates)}" if gates else "<none>"]


def _containers(o: dict[str, Any]) -> tuple[str, str]:
    cs = ((_spec(o).get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _selector(o: dict[str, Any]) -> str:
    sel = _spec(o).get("selector") or {}
    if isinstance(sel, dict) and ("matchLabels" in sel or "matchExpressions" in sel):
        return str(LabelSelector.from_spec(sel)) or "<none>"
    return ",".join(f"{k}={v}" for k, v in sel.items()) if isinstance(sel, dict) and sel else "<none>"


def _deployment(o: dict[str, Any]) -> list[Any]:
    s = _status(o)
    names, images = _containers(o)
    return [meta(o)["name"], f"{s.get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}",
            s.get("updatedReplicas", 0), s.get("availableReplicas", 0), age(meta(o).get("creationTimestamp")),
            names, images, _selector(o)]


def _replicaset(o: dict[str, Any]) -> list[Any]:
    s = _status(o)
    names, images = _containers(o)
    return [meta(o)["name"], _spec(o).get("replicas", 1), s.get("replicas", 0), s.get("readyReplicas", 0),
            age(meta(o).get("creationTimestamp")), names, images, _selector(o)]


def _statefulset(o: dict[str, Any]) -> list[Any]:
    names, images = _containers(o)
    return [meta(o)["name"], f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}",
            age(meta(o).get("creationTimestamp")), names, images]


def _daemonset(o: dict[str, Any]) -> list[Any]:
    s = _status(o)
    selector = ((_spec(o).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    names, images = _containers(o)
    return [meta(o)["name"], s.get("desiredNumberScheduled", 0), s.get("currentNumberScheduled", 0),
            s.get("numberReady", 0), s.get("updatedNumberScheduled", 0), s.get("numberAvailable", 0),
            _none(",".join(f"{k}={v}" for k, v in selector.items())), age(meta(o).get("creationTimestamp")),
            names, images, _selector(o)]


def _ports(svc: dict[str, Any]) -> str:
    out = []
    for p in _spec(svc).get("ports") or []:
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        out.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _service(o: dict[str, Any]) -> list[Any]:
    spec = _spec(o)
    ingress = (_status(o).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or \
        ",".join(spec.get("externalIPs") or []) or ("<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    if spec.get("type") == "ExternalName":
        external = spec.get("externalName", "<none>")
    selector = spec.get("selector") or {}
    return [meta(o)["name"], spec.get("type", "ClusterIP"), _none(spec.get("clusterIP")), external, _ports(o),
            age(meta(o).get("creationTimestamp")), _none(",".join(f"{k}={v}" for k, v in selector.items()))]


def _node(o: dict[str, Any]) -> list[Any]:
    labels = meta(o).get("labels") or {}
    status = "Ready" if node_ready(o) else ("NotReady" if any(
        c.get("type") == "Ready" for c in _status(o).get("conditions") or []) else "Unknown")
    if _spec(o).get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    if labels.get("kubernetes.io/role"):
        roles.append(labels["kubernetes.io/role"])
    info = _status(o).get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in _status(o).get("addresses") or []}
    return [meta(o)["name"], status, ",".join(roles) or "<none>", age(meta(o).get("creationTimestamp")),
            info.get("kubeletVersion", ""), _none(addresses.get("InternalIP")), _none(addresses.get("ExternalIP")),
            info.get("osImage", "<unknown>"), info.get("kernelVersion", "<unknown>"),
            info.get("containerRuntimeVersion", "<unknown>")]


def _job(o: dict[str, Any]) -> list[Any]:
    s = _status(o)
    conditions = {c.get("type"): c.get("status") for c in s.get("conditions") or []}
    state = "Complete" if conditions.get("Complete") == "True" else (
        "Failed" if conditions.get("Failed") == "True" else ("Suspended" if _spec(o).get("suspend") else "Running"))
    start, end = parse_time(s.get("startTime")), parse_time(s.get("completionTime"))
    duration = human_duration(((end or dt.datetime.now(dt.timezone.utc)) - start).total_seconds()) if start else ""
    names, images = _containers(o)
    return [meta(o)["name"], state, f"{s.get('succeeded', 0)}/{_spec(o).get('completions', 1)}", duration,
            age(meta(o).get("creationTimestamp")), names, images, _selector(o)]


def _cronjob(o: dict[str, Any]) -> list[Any]:
    s = _status(o)
    last = s.get("lastScheduleTime")
    return [meta(o)["name"], _spec(o).get("schedule", ""), _none(_spec(o).get("timeZone")),
            str(bool(_spec(o).get("suspend"))), len(s.get("active") or []), age(last) if last else "<none>",
            age(meta(o).get("creationTimestamp"))]


def _event(o: dict[str, Any]) -> list[Any]:
    # core/v1, or events.k8s.io/v1 (regarding, note, deprecatedLastTimestamp)
    inv = o.get("involvedObject") or o.get("regarding") or {}
    last = o.get("lastTimestamp") or o.get("deprecatedLastTimestamp") or o.get("eventTime") \
        or meta(o).get("creationTimestamp")
    return [age(last), o.get("type", ""), o.get("reason", ""), f"{(inv.get('kind') or '').lower()}/{inv.get('name', '')}",
            o.get("message", o.get("note", ""))]


def _pvc(o: dict[str, Any]) -> list[Any]:
    s = _status(o)
    return [meta(o)["name"], s.get("phase", ""), _spec(o).get("volumeName", ""),
            (s.get("capacity") or {}).get("storage", ""), _modes(s.get("accessModes")),
            _spec(o).get("storageClassName", ""), "<unset>", age(meta(o).get("creationTimestamp"))]


def _modes(modes: list[str] | None) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(m, m) for m in modes or [])


def _pv(o: dict[str, Any]) -> list[Any]:
    spec = _spec(o)
    ref = spec.get("claimRef") or {}
    return [meta(o)["name"], (spec.get("capacity") or {}).get("storage", ""), _modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), _status(o).get("phase", ""),
            f"{ref['namespace']}/{ref['name']}" if ref else "", spec.get("storageClassName", ""), "<unset>",
            _status(o).get("reason", ""), age(meta(o).get("creationTimestamp"))]


def _ingress(o: dict[str, Any]) -> list[Any]:
    spec = _spec(o)
    hosts = ",".join(r.get("host", "*") for r in spec.get("rules") or []) or "*"
    lb = (_status(o).get("loadBalancer") or {}).get("ingress") or []
    ports = "80, 443" if spec.get("tls") else "80"
    return [meta(o)["name"], _none(spec.get("ingressClassName")), hosts,
            ",".join(i.get("ip") or i.get("hostname", "") for i in lb), ports, age(meta(o).get("creationTimestamp"))]


def _simple(*extra: Callable[[dict[str, Any]], Any]) -> Row:
    return lambda o: [meta(o)["name"], *[f(o) for f in extra], age(meta(o).get("creationTimestamp"))]


def _hpa(o: dict[str, Any]) -> list[Any]:
    spec, s = _spec(o), _status(o)
    ref = spec.get("scaleTargetRef") or {}
    targets = []
    if spec.get("targetCPUUtilizationPercentage") is not None:  # autoscaling/v1
        have = s.get("currentCPUUtilizationPercentage")
        targets.append(f"cpu: {'<unknown>' if have is None else f'{have}%'}/{spec['targetCPUUtilizationPercentage']}%")
    for metric in spec.get("metrics") or []:
        name = (metric.get("resource") or {}).get("name", "")
        want = ((metric.get("resource") or {}).get("target") or {}).get("averageUtilization")
        have = next((((m.get("resource") or {}).get("current") or {}).get("averageUtilization")
                     for m in s.get("currentMetrics") or [] if (m.get("resource") or {}).get("name") == name), None)
        targets.append(f"{name}: {'<unknown>' if have is None else f'{have}%'}/{want}%")
    return [meta(o)["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}", ", ".join(targets) or "<none>",
            spec.get("minReplicas", 1), spec.get("maxReplicas", 0), s.get("currentReplicas", 0),
            age(meta(o).get("creationTimestamp"))]


_S, _I = "string", "integer"
_COLUMNS: dict[str, tuple[list[tuple[str, str, int]], Row]] = {
    "Pod": ([("Name", _S, 0), ("Ready", _S, 0), ("Status", _S, 0), ("Restarts", _S, 0), ("Age", _S, 0),
             ("IP", _S, 1), ("Node", _S, 1), ("Nominated Node", _S, 1), ("Readiness Gates", _S, 1)], _pod),
    "Deployment": ([("Name", _S, 0), ("Ready", _S, 0), ("Up-to-date", _I, 0), ("Available", _I, 0),
                    ("Age", _S, 0), ("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1)], _deployment),
    "ReplicaSet": ([("Name", _S, 0), ("Desired", _I, 0), ("Current", _I, 0), ("Ready", _I, 0), ("Age", _S, 0),
                    ("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1)], _replicaset),
    "StatefulSet": ([("Name", _S, 0), ("Ready", _S, 0), ("Age", _S, 0), ("Containers", _S, 1),
                     ("Images", _S, 1)], _statefulset),
    "DaemonSet": ([("Name", _S, 0), ("Desired", _I, 0), ("Current", _I, 0), ("Ready", _I, 0),
                   ("Up-to-date", _I, 0), ("Available", _I, 0), ("Node Selector", _S, 0), ("Age", _S, 0),
                   ("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1)], _daemonset),
    "Service": ([("Name", _S, 0), ("Type", _S, 0), ("Cluster-IP", _S, 0), ("External-IP", _S, 0),
                 ("Port(s)", _S, 0), ("Age", _S, 0), ("Selector", _S, 1)], _service),
    "Node": ([("Name", _S, 0), ("Status", _S, 0), ("Roles", _S, 0), ("Age", _S, 0), ("Version", _S, 0),
              ("Internal-IP", _S, 1), ("External-IP", _S, 1), ("OS-Image", _S, 1), ("Kernel-Version", _S, 1),
              ("Container-Runtime", _S, 1)], _node),
    "Namespace": ([("Name", _S, 0), ("Status", _S, 0), ("Age", _S, 0)],
                  _simple(lambda o: _status(o).get("phase", "Active"))),
    "Job": ([("Name", _S, 0), ("Status", _S, 0), ("Completions", _S, 0), ("Duration", _S, 0), ("Age", _S, 0),
             ("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1)], _job),
    "CronJob": ([("Name", _S, 0), ("Schedule", _S, 0), ("Timezone", _S, 0), ("Suspend", _S, 0),
                 ("Active", _I, 0), ("Last Schedule", _S, 0), ("Age", _S, 0)], _cronjob),
    "Event": ([("Last Seen", _S, 0), ("Type", _S, 0), ("Reason", _S, 0), ("Object", _S, 0),
               ("Message", _S, 0)], _event),
    "ConfigMap": ([("Name", _S, 0), ("Data", _I, 0), ("Age", _S, 0)],
                  _simple(lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
    "Secret": ([("Name", _S, 0), ("Type", _S, 0), ("Data", _I, 0), ("Age", _S, 0)],
               _simple(lambda o: o.get("type", "Opaque"), lambda o: len(o.get("data") or {}))),
    "ServiceAccount": ([("Name", _S, 0), ("Secrets", _I, 0), ("Age", _S, 0)],
                       _simple(lambda o: len(o.get("secrets") or []))),
    "Endpoints": ([("Name", _S, 0), ("Endpoints", _S, 0), ("Age", _S, 0)], _simple(lambda o: _none(",".join(
        f"{a.get('ip')}:{p.get('port')}" for s in o.get("subsets") or [] for a in s.get("addresses") or []
        for p in s.get("ports") or [{}])))),
    "PersistentVolumeClaim": ([("Name", _S, 0), ("Status", _S, 0), ("Volume", _S, 0), ("Capacity", _S, 0),
                               ("Access Modes", _S, 0), ("StorageClass", _S, 0), ("VolumeAttributesClass", _S, 0),
                               ("Age", _S, 0)], _pvc),
    "PersistentVolume": ([("Name", _S, 0), ("Capacity", _S, 0), ("Access Modes", _S, 0),
                          ("Reclaim Policy", _S, 0), ("Status", _S, 0), ("Claim", _S, 0), ("StorageClass", _S, 0),
                          ("VolumeAttributesClass", _S, 0), ("Reason", _S, 0), ("Age", _S, 0)], _pv),
    "Ingress": ([("Name", _S, 0), ("Class", _S, 0), ("Hosts", _S, 0), ("Address", _S, 0), ("Ports", _S, 0),
                 ("Age", _S, 0)], _ingress),
    "StorageClass": ([("Name", _S, 0), ("Provisioner", _S, 0), ("ReclaimPolicy", _S, 0),
                      ("VolumeBindingMode", _S, 0), ("AllowVolumeExpansion", _S, 0), ("Age", _S, 0)],
                     _simple(lambda o: o.get("provisioner", ""), lambda o: o.get("reclaimPolicy", "Delete"),
                             lambda o: o.get("volumeBindingMode", "Immediate"),
                             lambda o: str(bool(o.get("allowVolumeExpansion"))).lower())),
    "PodDisruptionBudget": ([("Name", _S, 0), ("Min Available", _S, 0), ("Max Unavailable", _S, 0),
                             ("Allowed Disruptions", _I, 0), ("Age", _S, 0)],
                            _simple(lambda o: str(_spec(o)["minAvailable"]) if
                                    _spec(o).get("minAvailable") is not None else "N/A",
                                    lambda o: str(_spec(o)["maxUnavailable"]) if
                                    _spec(o).get("maxUnavailable") is not None else "N/A",
                                    lambda o: _status(o).get("disruptionsAllowed", 0))),
    "HorizontalPodAutoscaler": ([("Name", _S, 0), ("Reference", _S, 0), ("Targets", _S, 0), ("MinPods", _S, 0),
                                 ("MaxPods", _I, 0), ("Replicas", _I, 0), ("Age", _S, 0)], _hpa),
    "RoleBinding": ([("Name", _S, 0), ("Role", _S, 0), ("Age", _S, 0)],
                    _simple(lambda o: f"{(o.get('roleRef') or {}).get('kind')}/{(o.get('roleRef') or {}).get('name')}")),
    "ClusterRoleBinding": ([("Name", _S, 0), ("Role", _S, 0), ("Age", _S, 0)],
                           _simple(lambda o: f"{(o.get('roleRef') or {}).get('kind')}/"
                                             f"{(o.get('roleRef') or {}).get('name')}")),
}


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


_FILTER = re.compile(r"""\[\?\(@\.([\w-]+)==["']([^"']*)["']\)\]""")


def _json_path(obj: Any, path: str) -> Any:
    """The JSONPath subset printer columns use: ``.a.b[0]`` and ``.conditions[?(@.type=="Ready")].status``."""
    cur = obj
    path = path.strip().lstrip("{").rstrip("}")
    pos = 0
    for m in [*_FILTER.finditer(path), None]:
        segment = path[pos:m.start()] if m else path[pos:]
        for name, index in _PATH_PART.findall(segment.lstrip(".")):
            if name:
                cur = cur.get(name) if isinstance(cur, dict) else None
            else:
                cur = cur[int(index)] if isinstance(cur, list) and int(index) < len(cur) else None
            if cur is None:
                return None
        if m:
            key, value = m.group(1), m.group(2)
            cur = next((x for x in cur if isinstance(x, dict) and x.get(key) == value), None) \
                if isinstance(cur, list) else None
            pos = m.end()
        if cur is None:
            return None
    return cur


def _custom(rt: ResourceType) -> tuple[list[tuple[str, str, int]], Row]:
    columns = [("Name", _S, 0)]
    getters: list[Callable[[dict[str, Any]], Any]] = []
    for col in rt.printer_columns:
        columns.append((col.get("name", ""), col.get("type", _S), int(col.get("priority", 0))))
        path, kind = col.get("jsonPath", ""), col.get("type")

        def get(o: dict[str, Any], path: str = path, kind: Any = kind) -> Any:
            value = _json_path(o, path)
            if kind == "date" and isinstance(value, str):
                return age(value)
            return "<none>" if value is None else value
        getters.append(get)
    columns.append(("Age", _S, 0))
    return columns, lambda o: [meta(o)["name"], *[g(o) for g in getters], age(meta(o).get("creationTimestamp"))]


def table(rt: ResourceType, items: list[dict[str, Any]], list_meta: dict[str, Any],
          include_object: str = "Metadata") -> dict[str, Any]:
    if rt.printer_columns:  # CRD columns, or an aggregated API that declares its own
        columns, row = _custom(rt)
    elif not rt.custom and rt.kind in _COLUMNS:
        columns, row = _COLUMNS[rt.kind]
    else:
        columns, row = [("Name", _S, 0), ("Created At", "date", 0)], \
            (lambda o: [meta(o)["name"], meta(o).get("creationTimestamp", "")])
    rows = []
    for obj in items:
        entry: dict[str, Any] = {"cells": row(obj)}
        if include_object == "Object":
            entry["object"] = obj
        elif include_object != "None":
            entry["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                               "metadata": meta(obj)}
        rows.append(entry)
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
        "columnDefinitions": [{"name": n, "type": t, "format": "name" if n == "Name" else "", "description": "",
                               "priority": p} for n, t, p in columns],
        "rows": rows,
    }
