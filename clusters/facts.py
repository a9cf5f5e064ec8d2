"""Reading the facts agents report (docs/agent-protocol.md §6)."""
from decimal import Decimal


def is_virtual_kubelet(node: dict) -> bool:
    return (node.get("labels") or {}).get("type") == "virtual-kubelet"


# Stored with an agent's facts: what the platform itself read through the tunnel
# ({"vcpu": "12", "at": iso time}); the agent's word never bills more than that.
PLATFORM_READ = "platform_read"


def billable_vcpu(facts: dict) -> Decimal:
    """R7.2: capacity CPU of Ready nodes, virtual-kubelet nodes excluded, in vCPU; capped
    by the platform's own read when there is one."""
    millicores = sum(
        int((node.get("capacity") or {}).get("cpu_millicores") or 0)
        for node in facts.get("nodes") or []
        if node.get("ready") and not is_virtual_kubelet(node)
    )
    claimed = Decimal(millicores) / 1000
    platform = facts.get(PLATFORM_READ)
    if isinstance(platform, dict):
        return min(claimed, Decimal(str(platform.get("vcpu") or 0)))
    return claimed


def from_nodes(version: str, nodes: list[dict]) -> dict:
    """The heartbeat fact shape (docs/agent-protocol.md §6) from a Node list read by the platform."""
    from .quantity import cpu_millicores, memory_bytes

    out = []
    for node in nodes:
        status = node.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        cap, alloc = status.get("capacity") or {}, status.get("allocatable") or {}
        out.append({
            "name": node["metadata"]["name"], "ready": ready,
            "labels": node["metadata"].get("labels") or {},
            "capacity": {"cpu_millicores": cpu_millicores(cap.get("cpu")), "memory_bytes": memory_bytes(cap.get("memory"))},
            "allocatable": {"cpu_millicores": cpu_millicores(alloc.get("cpu")),
                            "memory_bytes": memory_bytes(alloc.get("memory"))},
        })
    return {"kubernetes": {"gitVersion": version}, "nodes": out, "pod_requests": None, "errors": []}


def node_counts(facts: dict) -> tuple[int, int]:
    """(ready, total) nodes."""
    nodes = facts.get("nodes") or []
    return sum(1 for n in nodes if n.get("ready")), len(nodes)


def allocation(facts: dict) -> dict:
    """CPU and memory requests against the allocatable of Ready nodes (R1.2, R4.6)."""
    ready = [n for n in facts.get("nodes") or [] if n.get("ready")]
    alloc_cpu = sum(int((n.get("allocatable") or {}).get("cpu_millicores") or 0) for n in ready)
    alloc_mem = sum(int((n.get("allocatable") or {}).get("memory_bytes") or 0) for n in ready)
    total = ((facts.get("pod_requests") or {}).get("total")) or {}
    req_cpu, req_mem = int(total.get("cpu_millicores") or 0), int(total.get("memory_bytes") or 0)
    return {
        "cpu_requested_millicores": req_cpu, "cpu_allocatable_millicores": alloc_cpu,
        "memory_requested_bytes": req_mem, "memory_allocatable_bytes": alloc_mem,
        "cpu_rate": (req_cpu / alloc_cpu) if alloc_cpu else None,
        "memory_rate": (req_mem / alloc_mem) if alloc_mem else None,
        "pods": int(total.get("pods") or 0),
    }


def namespace_cpu(facts: dict) -> dict[str, int]:
    """CPU requests per namespace in millicores, as the agent reports them
    (`pod_requests.per_namespace`); namespaces requesting nothing are left out."""
    per_namespace = ((facts.get("pod_requests") or {}).get("per_namespace")) or {}
    out = {}
    for namespace, bucket in per_namespace.items():
        try:
            millicores = int((bucket or {}).get("cpu_millicores") or 0)
        except (TypeError, ValueError, AttributeError):
            continue
        if millicores > 0 and isinstance(namespace, str) and namespace:
            out[namespace[:253]] = millicores
    return out


def kubernetes_version(facts: dict) -> str:
    return ((facts.get("kubernetes") or {}).get("gitVersion")) or ""
