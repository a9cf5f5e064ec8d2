"""What the console reads from a federation's Karmada API server beyond the generic resource
pages: its members (Cluster objects) for the overview and the division preview, and which
division algorithm it runs (karmada SPEC §10: the Karmada release is read from the
controller-gen annotation of its PropagationPolicy CRD, not from `/version`, which reports
the Kubernetes version of its API server)."""
import json
from decimal import Decimal

from django.core.cache import cache
from kubernetes.utils import parse_quantity

from cceone.kube.gateway import KubeError, system_client_for
from cceone_karmada import division
from resources import registry
from resources.formatting import condition
from resources.kube import Api

# controller-gen of the CRDs → the oldest Karmada release generated with it (karmada SPEC §10).
CONTROLLER_GEN = {"v0.16.5": (1, 12), "v0.17.3": (1, 14), "v0.18.0": (1, 15), "v0.19.0": (1, 16),
                  "v0.20.0": (1, 17), "v0.21.0": (1, 19)}
VERSION_CACHE_SECONDS = 600


def karmada_release(controller_gen: str) -> tuple[int, int]:
    """The Karmada release a CRD annotation names; anything before v0.16.5 is an old release
    (floor and leftover), anything newer than the table the newest behaviour."""
    if controller_gen in CONTROLLER_GEN:
        return CONTROLLER_GEN[controller_gen]
    try:
        found = division.parse_version(controller_gen.removeprefix("v0."))
    except ValueError:
        return division.LATEST
    return (1, 11) if found < (16, 5) else division.LATEST


def division_version(federation) -> tuple[int, int]:
    """The Karmada release whose division rule the preview imitates (cached for ten minutes)."""
    key = f"federation-{federation.pk}-division-version"
    found = cache.get(key)
    if found is None:
        try:
            crd = json.loads(system_client_for(federation, timeout=(5, 10)).request(
                "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/propagationpolicies.policy.karmada.io",
                serialize=False).data)
            annotation = ((crd or {}).get("metadata") or {}).get("annotations", {}).get(
                "controller-gen.kubebuilder.io/version", "")
            found = list(karmada_release(annotation)) if annotation else list(division.LATEST)
        except Exception:  # noqa: BLE001 - unreadable: the newest rule, said on the page as an assumption
            return division.LATEST
        cache.set(key, found, VERSION_CACHE_SECONDS)
    return tuple(found)


def members(api: Api) -> list[dict]:
    """The federation's Cluster objects, as the user may read them."""
    return api.list_all(registry.get("clusters"))


def _rate(used: Decimal, total: Decimal):
    return float(used / total) if total else None


def member_rows(clusters: list[dict]) -> tuple[list[dict], dict]:
    """Each member's Ready status, nodes, vCPU and CPU/memory allocation (requests over
    allocatable, from its resourceSummary), and the federation's totals (R1.2 for a federation)."""
    rows = []
    totals = {"members": len(clusters), "ready": 0, "nodes_ready": 0, "nodes_total": 0, "cpu": Decimal(0),
              "cpu_allocated": Decimal(0), "memory": Decimal(0), "memory_allocated": Decimal(0)}
    for cluster in sorted(clusters, key=lambda c: c["metadata"]["name"]):
        status = cluster.get("status") or {}
        ready = condition(cluster, "Ready") or {}
        nodes = status.get("nodeSummary") or {}
        summary = status.get("resourceSummary") or {}
        allocatable, allocated = summary.get("allocatable") or {}, summary.get("allocated") or {}
        cpu, cpu_used = parse_quantity(allocatable.get("cpu", 0)), parse_quantity(allocated.get("cpu", 0))
        memory, memory_used = parse_quantity(allocatable.get("memory", 0)), parse_quantity(allocated.get("memory", 0))
        is_ready = ready.get("status") == "True"
        rows.append({"name": cluster["metadata"]["name"], "ready": is_ready,
                     "ready_reason": ready.get("reason") or "", "ready_message": ready.get("message") or "",
                     "version": status.get("kubernetesVersion") or "--",
                     "nodes_ready": nodes.get("readyNum", 0), "nodes_total": nodes.get("totalNum", 0),
                     "vcpu": cpu, "cpu_rate": _rate(cpu_used, cpu), "memory_rate": _rate(memory_used, memory),
                     "taints": [f"{t.get('key')}:{t.get('effect')}" for t in (cluster.get("spec") or {}).get("taints")
                                or []],
                     "labels": {k: v for k, v in ((cluster.get("metadata") or {}).get("labels") or {}).items()}})
        totals["ready"] += is_ready
        totals["nodes_ready"] += nodes.get("readyNum", 0)
        totals["nodes_total"] += nodes.get("totalNum", 0)
        totals["cpu"] += cpu
        totals["cpu_allocated"] += cpu_used
        totals["memory"] += memory
        totals["memory_allocated"] += memory_used
    totals["cpu_rate"] = _rate(totals["cpu_allocated"], totals["cpu"])
    totals["memory_rate"] = _rate(totals["memory_allocated"], totals["memory"])
    return rows, totals


def overview(federation, user) -> dict:
    """The overview's members block: rows and totals, or the API server's refusal in words."""
    try:
        rows, totals = member_rows(members(Api(federation, user)))
    except KubeError as error:
        return {"members_error": error.message}
    return {"members": rows, "totals": totals}


__all__ = ["KubeError", "division_version", "member_rows", "members", "overview"]
