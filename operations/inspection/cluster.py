"""Cluster, node and event checks (INSPECTION.md §5, §7)."""
import socket
import ssl
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from django.utils.translation import gettext_noop as N_

from ..diagnosis.common import event_time, parse_time
from .registry import DANGER, WARNING, inspection_check

PRESSURES = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")
LEASE_GRACE_SECONDS = 50
EVENT_WINDOW = timedelta(hours=24)
CERT_DAYS = 30
DOCKER_TROUBLE = ("container runtime is down", "PLEG is not healthy")
DOCKER_CONDITIONS = ("DockerHung", "CorruptDockerOverlay2", "FrequentDockerRestart")


def _conditions(node):
    return (node.get("status") or {}).get("conditions") or []


def _ready(node) -> dict:
    return next((c for c in _conditions(node) if c.get("type") == "Ready"), {})


@inspection_check("NodeStatus", N_("Node status"), WARNING, ("Node",),
                  N_("See the node's diagnosis: kubelet, container runtime, disk, memory and network."))
def node_status(obj, ctx):
    bad = []
    for c in _conditions(obj):
        kind, status = c.get("type") or "", c.get("status")
        if kind == "Ready":
            failing = status != "True"
        elif kind in PRESSURES:
            failing = status in ("True", "Unknown")
        else:
            failing = status == "True" and not kind.endswith("Ready")
        if failing:
            bad.append(f"{kind}={status} ({c.get('reason') or '--'})")
    if not _ready(obj):
        bad.append("Ready=missing")
    if bad:
        return N_("Conditions: %(conditions)s"), {"conditions": "; ".join(bad)}
    return None


@inspection_check("KubeletStatus", N_("Kubelet status"), WARNING, ("Node",),
                  N_("Restart the kubelet on the node and read its journal."))
def kubelet_status(obj, ctx):
    name = (obj.get("metadata") or {}).get("name")
    ready = _ready(obj)
    if ready.get("reason") == "NodeStatusUnknown" or ready.get("status") == "Unknown":
        return N_("Kubelet stopped posting node status: %(message)s"), {"message": ready.get("message") or "--"}
    lease = ctx.leases.get(name)
    renewed = parse_time(((lease or {}).get("spec") or {}).get("renewTime"))
    if renewed and (ctx.now - renewed).total_seconds() > LEASE_GRACE_SECONDS:
        return N_("The kubelet's lease was last renewed %(seconds)s s ago"), {
            "seconds": int((ctx.now - renewed).total_seconds())}
    return None


@inspection_check("DockerStatus", N_("Docker status"), WARNING, ("Node",),
                  N_("Restart the container runtime on the node; migrate off Docker (dockershim) when possible."))
def docker_status(obj, ctx):
    runtime = ((obj.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion", "")
    if not runtime.startswith("docker://"):
        return None  # not applicable: containerd or CRI-O
    message = _ready(obj).get("message") or ""
    troubles = [t for t in DOCKER_TROUBLE if t in message]
    troubles += [c["type"] for c in _conditions(obj) if c.get("type") in DOCKER_CONDITIONS and c.get("status") == "True"]
    if troubles:
        return N_("Docker is unhealthy: %(signs)s"), {"signs": ", ".join(troubles)}
    return None


@inspection_check("EventAudit", N_("Warning events"), WARNING, ("Event",),
                  N_("Read the events of the object and diagnose it."))
def event_audit(obj, ctx):
    # Grouped by the runner: one finding per (namespace, object, reason) with the count.
    if obj.get("type") != "Warning":
        return None
    when = event_time(obj)
    if when is None or ctx.now - when > EVENT_WINDOW:
        return None
    return N_("%(count)s× %(reason)s: %(message)s"), {"count": obj.get("count") or 1, "reason": obj.get("reason", ""),
                                                     "message": obj.get("message", "")}


def leaf_certificate(host: str, port: int, timeout: float = 5.0):
    """The server's leaf certificate (verification disabled: we only read its dates)."""
    from cryptography import x509

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


@inspection_check("CertificateExpiredPeriod", N_("API server certificate expiry"), DANGER, ("Cluster",),
                  N_("Renew the API server's certificate (kubeadm certs renew, or your provider's rotation)."))
def certificate_expiry(obj, ctx):
    """`obj` is {"endpoint": url} or {"unverifiable": reason}; the runner decides which."""
    if obj.get("unverifiable"):
        return None
    url = urlparse(obj["endpoint"])
    cert = leaf_certificate(url.hostname, url.port or 443)
    left = cert.not_valid_after_utc - datetime.now(timezone.utc)
    obj["facts"] = {"notAfter": cert.not_valid_after_utc.isoformat(), "subject": cert.subject.rfc4514_string(),
                    "endpoint": obj["endpoint"]}
    if left < timedelta(days=CERT_DAYS):
        return N_("Certificate of %(endpoint)s (%(subject)s) expires on %(date)s"), {
            "endpoint": obj["endpoint"], "subject": cert.subject.rfc4514_string(),
            "date": cert.not_valid_after_utc.date().isoformat()}
    return None
