"""Kubernetes resource quantities, as much as capacity estimates need."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_SUFFIX = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
           "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
           "P": Decimal(10**15), "E": Decimal(10**18),
           "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
           "Pi": Decimal(2**50), "Ei": Decimal(2**60)}


def parse(value: Any) -> Decimal:
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    text = str(value).strip()
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            return Decimal(text[: -len(suffix)] or "0") * _SUFFIX[suffix]
    return Decimal(text or "0")


def format_quantity(name: str, value: Decimal) -> str:
    if name == "cpu":
        millis = int(value * 1000)
        return f"{millis // 1000}" if millis % 1000 == 0 else f"{millis}m"
    if name in ("memory", "ephemeral-storage") and value >= 2**20 and value % 2**20 == 0:
        return f"{int(value // 2**20)}Mi"
    return str(int(value))


def add(total: dict[str, Decimal], resources: dict[str, Any] | None) -> None:
    for name, value in (resources or {}).items():
        total[name] = total.get(name, Decimal(0)) + parse(value)


def pod_requests(pod_spec: dict[str, Any]) -> dict[str, str]:
    """The sum of the containers' requests (limits stand in for missing requests, as the API defaults)."""
    total: dict[str, Decimal] = {}
    for container in pod_spec.get("containers") or []:
        resources = container.get("resources") or {}
        add(total, {**(resources.get("limits") or {}), **(resources.get("requests") or {})})
    return {name: format_quantity(name, value) for name, value in total.items()}


def max_replicas(available: dict[str, Decimal], request: dict[str, Any] | None) -> int:
    """How many replicas of ``request`` fit into ``available`` (pods count too)."""
    fits = [int(available.get("pods", Decimal(0)))]
    for name, value in (request or {}).items():
        need = parse(value)
        if need > 0:
            fits.append(int(available.get(name, Decimal(0)) // need))
    return max(0, min(fits))
