"""Small helpers shared by the API layer and the controllers."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

# The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def timestamp(when: dt.datetime | None = None) -> str:
    when = when or dt.datetime.now(dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def new_uid() -> str:
    return str(uuid.uuid4())


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(NAME_ALPHABET) for _ in range(n))


def safe_encode(text: str) -> str:
    return "".join(NAME_ALPHABET[ord(c) % len(NAME_ALPHABET)] for c in text)


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def get_path(obj: Any, path: str) -> Any:
    """Value at a dotted JSON path like ``.spec.replicas`` (None when absent)."""
    cur = obj
    for part in path.strip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def set_path(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with ``path`` set; intermediate maps are copied, never mutated."""
    parts = path.strip(".").split(".")
    out = dict(obj)
    cur = out
    for part in parts[:-1]:
        nxt = dict(cur.get(part) or {})
        cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value
    return out


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def controller_uid(obj: dict[str, Any]) -> str | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def controller_ref(owner: dict[str, Any]) -> dict[str, Any]:
    m = meta(owner)
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": m["name"], "uid": m["uid"],
            "controller": True, "blockOwnerDeletion": True}


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


def pod_ready(pod: dict[str, Any]) -> bool:
    c = condition(pod, "Ready")
    return (pod.get("status") or {}).get("phase") == "Running" and bool(c) and c.get("status") == "True"


def node_ready(node: dict[str, Any]) -> bool:
    c = condition(node, "Ready")
    return bool(c) and c.get("status") == "True"


def terminating(obj: dict[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))
