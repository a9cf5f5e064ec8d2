"""Which clusters a Karmada ClusterAffinity, label selector or toleration lets through.

Inputs are API objects as plain dicts (a ``cluster.karmada.io/v1alpha1``
Cluster as the API returns it), so the same code serves objects read from a
real Karmada and from the sandbox. Semantics: karmada SPEC §2.1 and §6.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

Cluster = Mapping[str, Any]


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches everything (a nil one too)."""
    if not selector:
        return True
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _name(cluster: Cluster) -> str:
    return (cluster.get("metadata") or {}).get("name", "")


def _zones(spec: Mapping[str, Any]) -> list[str]:
    zones = list(spec.get("zones") or [])
    if not zones and spec.get("zone"):
        zones = [spec["zone"]]
    return zones


def _field_matches(expr: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if key == "zone":
        present = [z for z in _zones(spec) if z in values]
        return bool(present) if op == "In" else (not present if op == "NotIn" else False)
    actual = spec.get(key, "") if key in ("provider", "region") else None
    if actual is None:
        return False
    if op == "In":
        return actual in values
    if op == "NotIn":
        return actual not in values
    return False


def affinity_matches(affinity: Mapping[str, Any] | None, cluster: Cluster) -> bool:
    """ClusterAffinity: not excluded, labelSelector, fieldSelector and clusterNames all hold."""
    if not affinity:
        return True
    name = _name(cluster)
    if name in (affinity.get("exclude") or []):
        return False
    if affinity.get("labelSelector") is not None and not label_selector_matches(
            affinity["labelSelector"], (cluster.get("metadata") or {}).get("labels")):
        return False
    spec = cluster.get("spec") or {}
    for expr in (affinity.get("fieldSelector") or {}).get("matchExpressions") or []:
        if not _field_matches(expr, spec):
            return False
    names = affinity.get("clusterNames") or []
    return not names or name in names


def toleration_tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """corev1 Toleration.ToleratesTaint: an empty effect tolerates every effect, Exists any value."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if not toleration.get("key") and op == "Equal":
        return False
    return op == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taints(cluster: Cluster, tolerations: Iterable[Mapping[str, Any]],
                       effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> list[Mapping[str, Any]]:
    """The cluster's taints of these effects that no toleration covers."""
    tolerations = list(tolerations or [])
    return [t for t in (cluster.get("spec") or {}).get("taints") or []
            if t.get("effect") in effects and not any(toleration_tolerates(tol, t) for tol in tolerations)]


# How precisely a ResourceSelector matches (Karmada's ImplicitPriority): policies are chosen and
# overrides ordered by it.
PRIORITY_NONE = 0
PRIORITY_MATCH_ALL = 1
PRIORITY_LABEL_SELECTOR = 2
PRIORITY_NAME = 3


def selector_priority(selector: Mapping[str, Any], resource: Mapping[str, Any]) -> int:
    """How precisely one ResourceSelector matches a resource (PRIORITY_NONE: it does not). apiVersion and
    kind must be equal, a namespace if given; then the name if given (labels ignored), else the label
    selector if given, else any object of that kind."""
    m = resource.get("metadata") or {}
    if selector.get("apiVersion") != resource.get("apiVersion") or selector.get("kind") != resource.get("kind"):
        return PRIORITY_NONE
    if selector.get("namespace") and selector["namespace"] != m.get("namespace", ""):
        return PRIORITY_NONE
    if selector.get("name"):
        return PRIORITY_NAME if selector["name"] == m.get("name") else PRIORITY_NONE
    if selector.get("labelSelector") is not None:
        return PRIORITY_LABEL_SELECTOR if label_selector_matches(selector["labelSelector"], m.get("labels")) \
            else PRIORITY_NONE
    return PRIORITY_MATCH_ALL
