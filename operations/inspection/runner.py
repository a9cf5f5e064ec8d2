"""One inspection: paged lists of each kind the checks read (API calls grow with pages, not
objects), every check over every object, waivers applied, a score, and the diff against the
previous run."""
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone

from django.utils.translation import gettext_noop as N_

from cceone.kube.gateway import KubeError

from ..reader import any_kind
from .registry import CHECKS, DANGER, IGNORE, WARNING

# What is listed, and which of its objects are left to their controller's check.
LISTED = [("Deployment", "deployments"), ("StatefulSet", "statefulsets"), ("DaemonSet", "daemonsets"),
          ("Job", "jobs"), ("CronJob", "cronjobs"), ("Pod", "pods"), ("Role", "roles"),
          ("ClusterRole", "clusterroles"), ("Node", "nodes"), ("Event", "events")]
AUDITED_OWNERS = {"ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
# Polaris's default exemptions: the control plane's own namespaces.
EXEMPT_NAMESPACES = {"kube-system", "kube-public", "kube-node-lease"}
EXEMPT = "polaris.fairwinds.com/exempt"
WEIGHTS = {DANGER: 3, WARNING: 1, IGNORE: 0}


@dataclass
class Context:
    now: datetime
    leases: dict = field(default_factory=dict)


def _meta(obj):
    return obj.get("metadata") or {}


def controlled_by_audited(obj) -> bool:
    """A Job of a CronJob, a Pod of a ReplicaSet …: its controller's finding covers it."""
    return any(ref.get("controller") and ref.get("kind") in AUDITED_OWNERS for ref in _meta(obj).get("ownerReferences") or [])


def exempt(obj, check_id: str, namespaces: dict) -> bool:
    for annotations in ((_meta(obj).get("annotations") or {}), namespaces.get(_meta(obj).get("namespace"), {})):
        if annotations.get(EXEMPT) == "true" or annotations.get(f"polaris.fairwinds.com/{check_id}-exempt") == "true":
            return True
    return False


def collect(api, on_page=None) -> dict[str, list[dict]]:
    """Every object the checks read, by kind, in pages of 500."""
    objects = {}
    for kind, plural in LISTED:
        items = api.list_all(any_kind(plural))
        for item in items:
            item.setdefault("kind", kind)
        objects[kind] = items
        if on_page:
            on_page(kind)
    return objects


def evaluate(objects: dict, context: Context, namespaces: dict, on_check=None) -> tuple[list[dict], int, list]:
    """(findings, weighted evaluations, notes): one finding per failing (check, object)."""
    findings, weight, notes = [], 0, []
    events: dict[tuple, dict] = {}
    for check in CHECKS.values():
        for kind in check.kinds:
            for obj in objects.get(kind, []):
                meta = _meta(obj)
                namespace = meta.get("namespace", "")
                if kind not in ("Node", "Event", "ClusterRole", "Cluster") and (
                        namespace in EXEMPT_NAMESPACES or controlled_by_audited(obj)):
                    continue
                if exempt(obj, check.id, namespaces):
                    continue
                weight += WEIGHTS.get(check.severity, 0)
                try:
                    outcome = check.rule(obj, context)
                except (OSError, socket.timeout, ValueError) as error:
                    notes.append({"check": check.id, "message": N_("Could not be evaluated: %(message)s"),
                                  "params": {"message": str(error)[:200]}})
                    continue
                if outcome is None:
                    continue
                message, params = outcome
                if kind == "Event":  # grouped: one finding per object and reason, with the count
                    involved = obj.get("involvedObject") or {}
                    key = (namespace, involved.get("kind"), involved.get("name"), obj.get("reason"))
                    if key in events:
                        events[key]["params"]["count"] += obj.get("count") or 1
                        continue
                    entry = {"check": check.id, "severity": check.severity, "kind": involved.get("kind", ""),
                             "namespace": namespace, "name": involved.get("name", ""), "message": message,
                             "params": dict(params), "reason": obj.get("reason", "")}
                    events[key] = entry
                    findings.append(entry)
                    continue
                findings.append({"check": check.id, "severity": check.severity, "kind": kind,
                                 "namespace": namespace, "name": meta.get("name", ""), "message": message,
                                 "params": params})
        if on_check:
            on_check(check)
    return findings, weight, notes


def key(finding: dict) -> str:
    return "|".join([finding["check"], finding.get("kind", ""), finding.get("namespace", ""),
                     finding.get("name", ""), finding.get("reason", "")])


def score(findings: list[dict], weight: int) -> int:
    """100 × the weighted share of (check, object) evaluations that passed; waived and
    informational findings do not count against it."""
    if not weight:
        return 100
    failed = sum(WEIGHTS.get(f["severity"], 0) for f in findings if not f.get("waived"))
    return max(0, round(100 * (1 - failed / weight)))


def diff(current: list[dict], previous: list[dict] | None) -> dict:
    if previous is None:
        return {}
    # A waived finding still fails: waiving is not fixing.
    now = {key(f) for f in current}
    before = {key(f) for f in previous}
    return {"new": sorted(now - before), "fixed": sorted(before - now), "still": len(now & before)}


def certificate_target(cluster, api) -> dict:
    """The API server to read the certificate from: a direct connection's endpoint, else the
    address in default/kubernetes Endpoints (port 6443) when this process can reach it."""
    endpoint = cluster.kube_endpoint()
    if endpoint.token:  # a direct connection: the URL is the API server (or its load balancer)
        return {"endpoint": endpoint.host}
    try:
        found = api.get(any_kind("endpoints"), "kubernetes", "default")
    except KubeError:
        found = {}
    for subset in found.get("subsets") or []:
        port = next((p.get("port") for p in subset.get("ports") or [] if p.get("name") == "https"), 6443)
        for address in subset.get("addresses") or []:
            try:
                socket.create_connection((address["ip"], port), timeout=1).close()
            except OSError:
                continue
            return {"endpoint": f"https://{address['ip']}:{port}"}
    return {"unverifiable": True}


def run(cluster, api, namespaces_annotations=None, on_progress=None, now=None):
    """(findings, weight, notes, objects inspected)."""
    total = len(LISTED) + len(CHECKS)
    done = 0

    def step(*_):
        nonlocal done
        done += 1
        if on_progress:
            on_progress(done, total)

    objects = collect(api, step)
    namespaces = {_meta(n).get("name"): _meta(n).get("annotations") or {}
                  for n in api.list_all(any_kind("namespaces"))}
    leases = {_meta(lease).get("name"): lease for lease in api.list_all(any_kind("leases"), "kube-node-lease")}
    context = Context(now=now or datetime.now(timezone.utc), leases=leases)
    cert = certificate_target(cluster, api)
    objects["Cluster"] = [{"kind": "Cluster", "metadata": {"name": cluster.name}, **cert}]
    findings, weight, notes = evaluate(objects, context, namespaces, step)
    if cert.get("unverifiable"):
        notes.append({"check": "CertificateExpiredPeriod",
                      "message": N_("Not verified: the API server is reachable only through the cluster's agent."),
                      "params": {}})
    inspected = sum(len(v) for k, v in objects.items() if k != "Cluster")
    return findings, weight, notes, inspected


