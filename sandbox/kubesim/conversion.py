"""Conversion between the served versions of one kind (the API server's scheme conversions).

Every kind is stored at its first (storage) version, or as the kind whose storage it shares
(``stored_as``: events.k8s.io/v1 Events are core/v1 Events). A custom resource, and a built-in kind
whose versions share one shape, is served at another version by rewriting ``apiVersion``;
a built-in kind whose versions differ has a pair of functions here, like Kubernetes'
generated conversions: ``autoscaling/v1`` HorizontalPodAutoscalers (a single
``targetCPUUtilizationPercentage``) next to the ``autoscaling/v2`` storage version
(a list of ``metrics``). What v1 cannot say is kept in the annotations Kubernetes uses for
it, so a v2 object read and written back through v1 loses nothing.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

Converter = Callable[[dict[str, Any]], dict[str, Any]]

HPA = ("autoscaling", "horizontalpodautoscalers")
# Where Kubernetes keeps in a v1 object what only v2 can express.
METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
_V1_ANNOTATIONS = (METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION)


def _is_cpu_utilization(metric: dict[str, Any], target: str = "target") -> bool:
    res = metric.get("resource") or {}
    return (metric.get("type") == "Resource" and res.get("name") == "cpu"
            and (target != "target" or (res.get("target") or {}).get("type") == "Utilization"))


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _with_annotations(obj: dict[str, Any], annotations: dict[str, str]) -> None:
    m = dict(obj.get("metadata") or {})
    if annotations:
        m["annotations"] = annotations
    else:
        m.pop("annotations", None)
    obj["metadata"] = m


def hpa_v2_to_v1(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v1"
    spec = dict(out.get("spec") or {})
    annotations = _annotations(out)
    metrics = spec.pop("metrics", None) or []
    others = []
    for metric in metrics:
        if _is_cpu_utilization(metric) and "targetCPUUtilizationPercentage" not in spec:
            spec["targetCPUUtilizationPercentage"] = metric["resource"]["target"].get("averageUtilization")
        else:
            others.append(metric)
    if others:
        annotations[METRICS_ANNOTATION] = json.dumps(others, separators=(",", ":"))
    behavior = spec.pop("behavior", None)
    if behavior:
        annotations[BEHAVIOR_ANNOTATION] = json.dumps(behavior, separators=(",", ":"))
    out["spec"] = spec
    if "status" in out:
        status = dict(out.get("status") or {})
        # Not omitempty in v1 (they are in v2): a v1 client requires them.
        status.setdefault("currentReplicas", 0)
        status.setdefault("desiredReplicas", 0)
        current = status.pop("currentMetrics", None) or []
        rest = []
        for metric in current:
            utilization = ((metric.get("resource") or {}).get("current") or {}).get("averageUtilization")
            if _is_cpu_utilization(metric, "current") and utilization is not None \
                    and "currentCPUUtilizationPercentage" not in status:
                status["currentCPUUtilizationPercentage"] = utilization
            else:
                rest.append(metric)
        if rest:
            annotations[CURRENT_METRICS_ANNOTATION] = json.dumps(rest, separators=(",", ":"))
        conditions = status.pop("conditions", None)
        if conditions:
            annotations[CONDITIONS_ANNOTATION] = json.dumps(conditions, separators=(",", ":"))
        out["status"] = status
    _with_annotations(out, annotations)
    return out


def hpa_v1_to_v2(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v2"
    spec = dict(out.get("spec") or {})
    annotations = _annotations(out)
    metrics: list[dict[str, Any]] = []
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        metrics.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
    metrics.extend(_loads(annotations.get(METRICS_ANNOTATION), []))
    if metrics:
        spec["metrics"] = metrics
    behavior = _loads(annotations.get(BEHAVIOR_ANNOTATION), None)
    if behavior:
        spec["behavior"] = behavior
    out["spec"] = spec
    if "status" in out:
        status = dict(out.get("status") or {})
        current: list[dict[str, Any]] = []
        utilization = status.pop("currentCPUUtilizationPercentage", None)
        if utilization is not None:
            current.append({"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": utilization}}})
        current.extend(_loads(annotations.get(CURRENT_METRICS_ANNOTATION), []))
        if current:
            status["currentMetrics"] = current
        conditions = _loads(annotations.get(CONDITIONS_ANNOTATION), None)
        if conditions:
            status["conditions"] = conditions
        out["status"] = status
    for key in _V1_ANNOTATIONS:
        annotations.pop(key, None)
    _with_annotations(out, annotations)
    return out


def _loads(raw: str | None, default: Any) -> Any:
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return default


# core/v1 Event fields ↔ events.k8s.io/v1 (Kubernetes' events conversion).
_EVENT_RENAMES = (("involvedObject", "regarding"), ("message", "note"), ("source", "deprecatedSource"),
                  ("firstTimestamp", "deprecatedFirstTimestamp"), ("lastTimestamp", "deprecatedLastTimestamp"),
                  ("count", "deprecatedCount"), ("reportingComponent", "reportingController"))


def event_core_to_events(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "events.k8s.io/v1"
    for core, new in _EVENT_RENAMES:
        if core in out:
            out[new] = out.pop(core)
    if not out.get("eventTime"):
        # MicroTime is not omitempty in events.k8s.io/v1 and clients (the official Python one) require
        # it: an Event written through core/v1 without one is dated by its first occurrence.
        first = out.get("deprecatedFirstTimestamp") or (out.get("metadata") or {}).get("creationTimestamp")
        if first:
            out["eventTime"] = first.replace("Z", ".000000Z") if first.endswith("Z") and "." not in first else first
    series = out.get("series")
    if isinstance(series, dict) and "lastObservedTime" in series:
        out["series"] = {"count": series.get("count", 0), "lastObservedTime": series["lastObservedTime"]}
    return out


def event_events_to_core(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "v1"
    for core, new in _EVENT_RENAMES:
        if new in out:
            out[core] = out.pop(new)
    if not out.get("source") and out.get("reportingComponent"):
        out["source"] = {"component": out["reportingComponent"]}
    return out


# (kind, from apiVersion, to apiVersion) → the conversion
CONVERSIONS: dict[tuple[str, str, str], Converter] = {
    ("HorizontalPodAutoscaler", "autoscaling/v2", "autoscaling/v1"): hpa_v2_to_v1,
    ("HorizontalPodAutoscaler", "autoscaling/v1", "autoscaling/v2"): hpa_v1_to_v2,
    ("Event", "v1", "events.k8s.io/v1"): event_core_to_events,
    ("Event", "events.k8s.io/v1", "v1"): event_events_to_core,
}


def _convert(kind: str, obj: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    if source == target:
        return obj
    fn = CONVERSIONS.get((kind, source, target))
    return fn(obj) if fn is not None else {**obj, "apiVersion": target}


def to_version(rt: Any, obj: dict[str, Any], version: str | None) -> dict[str, Any]:
    """A stored object as served at ``version`` of ``rt`` (None: as stored)."""
    if not version or "apiVersion" not in obj:
        return obj
    return _convert(rt.kind, obj, obj["apiVersion"], rt.api_version(version))


def to_storage(rt: Any, obj: dict[str, Any], version: str | None) -> dict[str, Any]:
    """An object sent at ``version`` (None: already in storage form) as stored."""
    source = rt.api_version(version) if version else rt.storage_api_version
    obj = _convert(rt.kind, obj, source, rt.storage_api_version)
    obj["apiVersion"] = rt.storage_api_version
    return obj
