"""Node diagnosis (DIAGNOSIS.md §2)."""
import re

from django.utils.translation import gettext_noop as N_

from cceone.kube.gateway import KubeError
from kubernetes.utils import parse_quantity

from ..findings import Evidence, Finding
from .common import CannotVerify, check, event_evidence, parse_time

PRESSURES = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")
HEARTBEAT_GRACE_SECONDS = 50
OVERCOMMIT = 0.9
AUTOMATIC_TAINTS = ("node.kubernetes.io/",)


def _conditions(ctx):
    return ctx.status.get("conditions") or []


def _condition_finding(condition):
    return Finding(N_("%(node)s has condition of type %(type)s, reason %(reason)s: %(message)s"),
                   {"node": "", "type": condition.get("type"), "reason": condition.get("reason") or "--",
                    "message": condition.get("message") or ""},
                   [Evidence(f"status.conditions[{condition.get('type')}]", condition)])


def _named(ctx, finding):
    finding.params["node"] = ctx.name
    return finding


@check("nodes", "NODE-NOTREADY", N_("Ready"), "critical",
       N_("On the node, check that kubelet and the container runtime run, the kubelet's connection to the API server, "
          "the kubelet client certificate's expiry, free disk in the kubelet and runtime directories, and the CNI."))
def not_ready(ctx):
    ready = next((c for c in _conditions(ctx) if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        return _named(ctx, _condition_finding(ready or {"type": "Ready", "reason": "NoReadyCondition"}))


@check("nodes", "NODE-PRESSURE", N_("Resource pressure"), "warning",
       N_("Memory: find large consumers and set limits. Disk: prune images and logs, grow the disk; the image garbage "
          "collection thresholds matter. PID: find the process leak and set pidsLimit. Network: check the CNI and its "
          "route controller."))
def pressure(ctx):
    return [_named(ctx, _condition_finding(c)) for c in _conditions(ctx)
            if c.get("type") in PRESSURES and c.get("status") in ("True", "Unknown")]


@check("nodes", "NODE-CUSTOM-CONDITION", N_("Other conditions"), "warning",
       N_("Follow the problem type: kernel logs, a filesystem remount, container runtime restarts."))
def custom_condition(ctx):
    # Only True or Unknown (k8sgpt reports every status, issue #1461); "…Ready" types True are healthy.
    found = []
    for c in _conditions(ctx):
        kind = c.get("type") or ""
        if kind in PRESSURES or kind == "Ready" or kind == "EtcdIsVoter":
            continue
        if c.get("status") not in ("True", "Unknown") or (kind.endswith("Ready") and c.get("status") == "True"):
            continue
        found.append(_named(ctx, _condition_finding(c)))
    return found


@check("nodes", "NODE-CORDONED", N_("Schedulable"), "warning",
       N_("Uncordon the node after maintenance, or drain it completely."))
def cordoned(ctx):
    if ctx.spec.get("unschedulable"):
        return Finding(N_("Node is cordoned (SchedulingDisabled)"), {}, [Evidence("spec.unschedulable", True)])


@check("nodes", "NODE-TAINTS", N_("Taints"), "info",
       N_("Automatic taints clear when their condition clears. Remove manual taints, or add tolerations to the "
          "workloads meant to run there."))
def taints(ctx):
    found = []
    for taint in ctx.spec.get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if taint.get("key", "").startswith("node-role.kubernetes.io/"):
            continue  # the control plane's own, expected
        automatic = taint.get("key", "").startswith(AUTOMATIC_TAINTS)
        found.append(Finding(N_("Taint %(taint)s prevents scheduling"),
                             {"taint": f"{taint.get('key')}={taint.get('value', '')}:{taint.get('effect')}"},
                             [Evidence("spec.taints", taint)], severity="warning" if automatic else None))
    return found


@check("nodes", "NODE-HEARTBEAT-STALE", N_("Kubelet heartbeat"), "critical",
       N_("As for NotReady: the kubelet is down, or the network between the node and the API server is broken."))
def heartbeat(ctx):
    ready = next((c for c in _conditions(ctx) if c.get("type") == "Ready"), {})
    lease = ctx.get("leases", ctx.name, "kube-node-lease")
    times = [("status.conditions[Ready].lastHeartbeatTime", parse_time(ready.get("lastHeartbeatTime")))]
    if lease:
        times.append((f"Lease kube-node-lease/{ctx.name} spec.renewTime",
                      parse_time((lease.get("spec") or {}).get("renewTime"))))
    known = [(field, when) for field, when in times if when]
    if not known:
        return None
    field, newest = max(known, key=lambda item: item[1])
    age = (ctx.now - newest).total_seconds()
    if age > HEARTBEAT_GRACE_SECONDS:
        return Finding(N_("Kubelet heartbeat is %(seconds)s s old"), {"seconds": int(age)},
                       [Evidence(field, newest.isoformat())])


@check("nodes", "NODE-KUBELET-HEALTH", N_("Kubelet health endpoint"), "warning",
       N_("Restart the kubelet and read its journal."))
def kubelet_health(ctx):
    try:
        response = ctx.api.raw("GET", f"/api/v1/nodes/{ctx.name}/proxy/healthz")
        body = response.data.decode(errors="replace")[:200]
    except KubeError as error:
        if error.status in (403, 404, 405, 501):
            raise CannotVerify(N_("Cannot verify: the kubelet's health endpoint is not reachable through the API "
                                  "server (%(message)s)"), {"message": error.message}) from None
        return Finding(N_("Kubelet health endpoint failed: %(message)s"), {"message": error.message},
                       [Evidence(f"GET /api/v1/nodes/{ctx.name}/proxy/healthz", error.message)])
    if body.strip() != "ok":
        return Finding(N_("Kubelet health endpoint failed: %(message)s"), {"message": body},
                       [Evidence(f"GET /api/v1/nodes/{ctx.name}/proxy/healthz", body)])


def _minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)", version or "")
    return (int(match[1]), int(match[2])) if match else None


@check("nodes", "NODE-VERSION-SKEW", N_("Kubelet version skew"), "warning", N_("Upgrade the kubelet."))
def version_skew(ctx):
    kubelet = (ctx.status.get("nodeInfo") or {}).get("kubeletVersion", "")
    try:
        server = ctx.api.call("GET", "/version").get("gitVersion", "")
    except KubeError:
        server = ""
    k, s = _minor(kubelet), _minor(server)
    if not k or not s:
        return None
    # Kubernetes ≥1.28 allows the kubelet three minors older; never newer than the API server.
    if k > s or (s[1] - k[1]) > 3 or k[0] != s[0]:
        return Finding(N_("Kubelet %(kubelet)s is outside the supported skew of API server %(server)s"),
                       {"kubelet": kubelet, "server": server},
                       [Evidence("status.nodeInfo.kubeletVersion", kubelet), Evidence("GET /version gitVersion", server)])


@check("nodes", "NODE-RUNTIME", N_("Container runtime"), "warning",
       N_("Migrate to containerd or CRI-O, or install cri-dockerd."))
def runtime(ctx):
    value = (ctx.status.get("nodeInfo") or {}).get("containerRuntimeVersion", "")
    kubelet = _minor((ctx.status.get("nodeInfo") or {}).get("kubeletVersion", ""))
    if value.startswith("docker://") and kubelet and kubelet >= (1, 24):
        return Finding(N_("Container runtime %(runtime)s"), {"runtime": value},
                       [Evidence("status.nodeInfo.containerRuntimeVersion", value)])


def _requests(pods):
    total = {"cpu": 0.0, "memory": 0.0}
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for resource in total:
                value = ((container.get("resources") or {}).get("requests") or {}).get(resource)
                if value:
                    total[resource] += float(parse_quantity(value))
    return total


@check("nodes", "NODE-OVERCOMMIT", N_("Allocation"), "warning",
       N_("Add nodes, rebalance the workloads, or right-size their requests."))
def overcommit(ctx):
    allocatable = ctx.status.get("allocatable") or {}
    pods = [p for p in ctx.list("pods", None, field_selector=f"spec.nodeName={ctx.name}")
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    used = _requests(pods)
    found = []
    for resource in ("cpu", "memory"):
        capacity = float(parse_quantity(allocatable[resource])) if allocatable.get(resource) else 0
        if capacity and used[resource] / capacity >= OVERCOMMIT:
            found.append(Finding(N_("%(resource)s requests %(percent)s%% of allocatable"),
                                 {"resource": resource, "percent": round(100 * used[resource] / capacity)},
                                 [Evidence(f"status.allocatable.{resource}", allocatable[resource])]))
    if allocatable.get("pods") and len(pods) / int(allocatable["pods"]) >= OVERCOMMIT:
        found.append(Finding(N_("%(count)s of %(max)s pods"), {"count": len(pods), "max": allocatable["pods"]},
                             [Evidence("status.allocatable.pods", allocatable["pods"])]))
    return found


@check("nodes", "NODE-WARNING-EVENTS", N_("Warning events"), "warning",
       N_("Read the events together with the other findings; they usually name the cause."))
def warning_events(ctx):
    grouped: dict[str, list] = {}
    for event in ctx.warning_events():
        grouped.setdefault(event.get("reason", ""), []).append(event)
    return [Finding(N_("%(count)s× %(reason)s: %(message)s"),
                    {"count": sum(e.get("count") or 1 for e in events), "reason": reason,
                     "message": events[0].get("message", "")}, [event_evidence(events[0])])
            for reason, events in grouped.items()]
