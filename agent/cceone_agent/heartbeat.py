"""Facts the agent reports in every heartbeat (schema: docs/agent-protocol.md).

Lists are paged (limit=500) so a big cluster never needs one huge response
in memory, and quantities are normalised here (millicores, bytes) so the
product never has to parse Kubernetes quantity strings.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from cceone_tunnel.quantity import cpu_millicores, memory_bytes, parse_quantity

from . import __version__

PAGE = 500
ACTIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"


def _resources(d: dict | None) -> dict:
    d = d or {}
    out = {}
    try:
        if "cpu" in d:
            out["cpu_millicores"] = cpu_millicores(d["cpu"])
        if "memory" in d:
            out["memory_bytes"] = memory_bytes(d["memory"])
        if "pods" in d:
            out["pods"] = int(parse_quantity(d["pods"]))
    except ValueError:
        pass
    return out


def node_facts(node: dict) -> dict:
    meta, spec, status = node.get("metadata", {}), node.get("spec", {}), node.get("status", {})
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    info = status.get("nodeInfo") or {}
    return {
        "name": meta.get("name"),
        "ready": ready,
        "unschedulable": bool(spec.get("unschedulable", False)),
        "capacity": _resources(status.get("capacity")),
        "allocatable": _resources(status.get("allocatable")),
        "labels": meta.get("labels") or {},
        "taints": [
            {k: t[k] for k in ("key", "value", "effect") if k in t} for t in spec.get("taints") or []
        ],
        "kubelet_version": info.get("kubeletVersion"),
        "architecture": info.get("architecture"),
    }


def _req(container: dict) -> tuple[int, int]:
    r = ((container.get("resources") or {}).get("requests")) or {}
    try:
        return (cpu_millicores(r["cpu"]) if "cpu" in r else 0, memory_bytes(r["memory"]) if "memory" in r else 0)
    except ValueError:
        return 0, 0


def pod_requests(pod: dict) -> tuple[int, int]:
    """Effective (cpu millicores, memory bytes) the scheduler reserves for a pod.

    Mirrors the scheduler: app containers and restartable (sidecar) init
    containers run together and add up; ordinary init containers run one at
    a time, so only the largest (plus sidecars started before it) counts;
    pod overhead is added on top.
    """
    spec = pod.get("spec") or {}
    pod_level = ((spec.get("resources") or {}).get("requests")) or None
    if pod_level:
        cpu, mem = _req({"resources": {"requests": pod_level}})
    else:
        cpu = mem = 0
        for c in spec.get("containers") or []:
            a, b = _req(c)
            cpu, mem = cpu + a, mem + b
        side_cpu = side_mem = init_cpu = init_mem = 0
        for c in spec.get("initContainers") or []:
            a, b = _req(c)
            if c.get("restartPolicy") == "Always":
                side_cpu, side_mem = side_cpu + a, side_mem + b
            else:
                init_cpu, init_mem = max(init_cpu, a + side_cpu), max(init_mem, b + side_mem)
        cpu, mem = max(cpu + side_cpu, init_cpu), max(mem + side_mem, init_mem)
    over = _resources(spec.get("overhead"))
    return cpu + over.get("cpu_millicores", 0), mem + over.get("memory_bytes", 0)


def summarize_pods(pods) -> dict:
    def bucket():
        return {"cpu_millicores": 0, "memory_bytes": 0, "pods": 0}

    total, unscheduled, per_node, per_namespace = bucket(), bucket(), {}, {}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue  # client-side filter when the server ignored the selector
        cpu, mem = pod_requests(pod)
        node = (pod.get("spec") or {}).get("nodeName")
        namespace = (pod.get("metadata") or {}).get("namespace") or ""
        for b in (total, per_node.setdefault(node, bucket()) if node else unscheduled,
                  per_namespace.setdefault(namespace, bucket())):
            b["cpu_millicores"] += cpu
            b["memory_bytes"] += mem
            b["pods"] += 1
    return {"total": total, "per_node": per_node, "unscheduled": unscheduled, "per_namespace": per_namespace}


class _ApiError(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status


async def _get_json(pool, kube, path: str) -> dict:
    headers = [("Accept", "application/json")]
    auth = kube.auth_header()
    if auth:
        headers.append(("Authorization", auth))
    resp = await pool.request("GET", path, headers)
    try:
        body = await resp.read()
    except BaseException:
        resp.close()
        raise
    if resp.status != 200:
        raise _ApiError(resp.status, body.decode("utf-8", "replace"))
    return json.loads(body)


async def _list_all(pool, kube, path: str, query: str = ""):
    cont = ""
    while True:
        q = f"limit={PAGE}" + (f"&{query}" if query else "") + (f"&continue={cont}" if cont else "")
        page = await _get_json(pool, kube, f"{path}?{q}")
        for item in page.get("items") or []:
            yield item
        cont = (page.get("metadata") or {}).get("continue")
        if not cont:
            return


async def collect(pool, kube) -> dict:
    """Gather one heartbeat's facts; partial failures land in `errors`."""
    from urllib.parse import quote

    facts: dict = {
        "agent_version": __version__,
        "collected_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "kubernetes": None,
        "nodes": None,
        "pod_requests": None,
        "errors": [],
    }
    try:
        v = await _get_json(pool, kube, "/version")
        facts["kubernetes"] = {k: v.get(k) for k in ("gitVersion", "major", "minor", "platform")}
    except Exception as exc:  # report, never crash the heartbeat
        facts["errors"].append(f"version: {_describe(exc)}")
    try:
        facts["nodes"] = [node_facts(n) async for n in _list_all(pool, kube, "/api/v1/nodes")]
    except Exception as exc:
        facts["errors"].append(f"nodes: {_describe(exc)}")
    try:
        try:
            pods = [p async for p in _list_all(pool, kube, "/api/v1/pods", "fieldSelector=" + quote(ACTIVE_PODS, safe=""))]
        except _ApiError as exc:
            if exc.status != 400:
                raise
            pods = [p async for p in _list_all(pool, kube, "/api/v1/pods")]  # no != support: filter here
        facts["pod_requests"] = summarize_pods(pods)
    except Exception as exc:
        facts["errors"].append(f"pods: {_describe(exc)}")
    return facts


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"[:300]
