"""Small readers of Kubernetes objects (plain dicts, as the API returns them) for tables
and detail pages: ages, quantities, selectors, conditions."""
import re
from datetime import datetime, timezone
from decimal import Decimal

from kubernetes.utils import parse_quantity

# A Kubernetes object or namespace name (DNS subdomain): what an object page's URL can hold.
OBJECT_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def is_object_name(name) -> bool:
    return isinstance(name, str) and OBJECT_NAME.fullmatch(name) is not None


def meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def status(obj: dict) -> dict:
    return obj.get("status") or {}


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(value: str | None, now: datetime | None = None) -> str:
    """kubectl's age: 45s, 3m, 5h12m, 3d4h, 120d."""
    when = parse_time(value)
    if when is None:
        return "--"
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - when).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h{minutes % 60}m" if hours < 10 and minutes % 60 else f"{hours}h"
    days = hours // 24
    return f"{days}d{hours % 24}h" if days < 10 and hours % 24 else f"{days}d"


def cpu(quantity) -> str:
    """A CPU quantity for people: 3800m → 3.8, 250m → 250m."""
    if quantity in (None, ""):
        return "--"
    value = parse_quantity(quantity)
    if value < 1:
        return f"{int(value * 1000)}m"
    return f"{value.normalize():f}"


def memory(quantity) -> str:
    """Bytes in binary units: 16Gi → 16 GiB, 15728640Ki → 15 GiB."""
    if quantity in (None, ""):
        return "--"
    value = parse_quantity(quantity)
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            amount = (value / Decimal(size)).quantize(Decimal("0.1"))
            return f"{amount.normalize():f} {unit}"
    return f"{value.normalize():f} B"


def selector_string(selector: dict | None) -> str:
    """A LabelSelector (matchLabels + matchExpressions) as the labelSelector query string."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def labels_string(labels: dict | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def condition(obj: dict, kind: str) -> dict | None:
    return next((c for c in status(obj).get("conditions") or [] if c.get("type") == kind), None)


def is_true(obj: dict, kind: str) -> bool:
    found = condition(obj, kind)
    return bool(found) and found.get("status") == "True"


def parse_pairs(text: str, separator: str = "=", commas: bool = True) -> dict[str, str]:
    """`key=value` lines (or comma-separated ones) into a dict; raises ValueError naming the bad entry."""
    result = {}
    for raw in (text.replace(",", "\n") if commas else text).splitlines():
        entry = raw.strip()
        if not entry:
            continue
        key, sep, value = entry.partition(separator)
        if not sep or not key.strip():
            raise ValueError(entry)
        result[key.strip()] = value.strip()
    return result
