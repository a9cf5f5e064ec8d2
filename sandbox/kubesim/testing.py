"""Helpers for tests that use kubesim (manifest builders, polling, Status bodies)."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def pod_manifest(name: str, labels: dict[str, str] | None = None, containers: int = 1,
                 image: str = "nginx:1.25") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": "demo"}},
            "spec": {"containers": [{"name": f"c{i}" if containers > 1 else "main", "image": image}
                                    for i in range(containers)]}}


def deployment_manifest(name: str, replicas: int = 2, image: str = "nginx:1.25") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def status_body(exc: Any) -> dict[str, Any]:
    """The ``Status`` of a ``kubernetes.client.ApiException``."""
    return json.loads(exc.body)


def wait_for(check: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll until ``check()`` is truthy; returns its value or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)
