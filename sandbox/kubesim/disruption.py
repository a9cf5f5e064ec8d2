"""PodDisruptionBudget arithmetic, as the disruption controller computes it.

Used by the eviction subresource (which must refuse with 429 when a healthy
pod's eviction would break a budget) and by the controllers to keep
``status.disruptionsAllowed`` current for consoles.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from .selectors import LabelSelector
from .util import meta, pod_ready, terminating, timestamp


def _scaled(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        fraction = total * int(value[:-1]) / 100
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(value)


def matching_pods(pdb: dict[str, Any], pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    selector = LabelSelector.from_spec((pdb.get("spec") or {}).get("selector"))
    return [p for p in pods if selector.matches(meta(p).get("labels"))]


def budget(pdb: dict[str, Any], pods: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The PDB status for the pods it selects."""
    selected = [p for p in matching_pods(pdb, pods)
                if not terminating(p) and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    expected = len(selected)
    healthy = sum(1 for p in selected if pod_ready(p))
    spec = pdb.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected, round_up=True))
    elif spec.get("minAvailable") is not None:
        desired = _scaled(spec["minAvailable"], expected, round_up=True)
    else:
        desired = expected  # no budget given: nothing may be disrupted
    allowed = max(0, healthy - desired)
    old = pdb.get("status") or {}
    status: dict[str, Any] = {
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "disruptionsAllowed": allowed,
        "expectedPods": expected,
        "observedGeneration": meta(pdb).get("generation", 1),
    }
    ok = allowed > 0
    cond = {"type": "DisruptionAllowed", "status": "True" if ok else "False",
            "reason": "SufficientPods" if ok else "InsufficientPods", "message": "",
            "observedGeneration": status["observedGeneration"]}
    previous = next((c for c in old.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
    if previous and previous.get("status") == cond["status"]:
        cond["lastTransitionTime"] = previous.get("lastTransitionTime")
    else:
        cond["lastTransitionTime"] = timestamp()
    status["conditions"] = [cond]
    if old.get("disruptedPods"):
        status["disruptedPods"] = old["disruptedPods"]
    return status
