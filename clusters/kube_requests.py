"""The kubeconfig proxy's requests as audit events: the hub hands them over in batches
(`cceone.hub.audit`, `DatabaseDirectory.kube_requests`) and they join the console's own
events in one timeline (R1.3, issue 19): action `kubernetes:<verb>` on the cluster, by the
console user the kubeconfig belongs to, with the request's attributes and answer in
`details`. Kept `CCEONE_AUDIT_KUBE_REQUEST_RETENTION_DAYS` (`cceone.audit.tasks`)."""
import ipaddress
from datetime import datetime
from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model

from cceone.audit.models import AuditEvent
from cceone.audit.services import KUBERNETES_PREFIX, record_many

from .models import RegisteredCluster

USER_PREFIX = "cceone:"  # cceone.kube.gateway.identity_for
DETAIL_FIELDS = ("verb", "api_group", "api_version", "resource", "subresource", "namespace", "name", "path",
                 "status", "latency_ms")


def result_of(status) -> str:
    """The audit result of an HTTP status: a refusal is denied, an error failed."""
    status = int(status or 0)
    if 100 <= status < 400:
        return AuditEvent.Result.SUCCESS
    if status in (401, 403):
        return AuditEvent.Result.DENIED
    return AuditEvent.Result.FAILED


def _when(epoch) -> datetime:
    return datetime.fromtimestamp(float(epoch), tz=dt_timezone.utc)


def _ip(value) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def _region(instance) -> str:
    region = getattr(instance, "region", None)
    return region.code if region is not None else ""


def record_requests(records: list[dict], dropped: dict[str, int], other_target=lambda key: None) -> int:
    """Store one batch: three queries (clusters, users, one insert) whatever its size, and one
    per other target named (`other_target("federation-12")`: the hub directory's registry)."""
    keys = {str(r.get("cluster", "")) for r in records} | {str(c) for c in dropped}
    pks = {int(k) for k in keys if k.isdigit()}
    clusters = {str(c.pk): c for c in RegisteredCluster.objects.filter(pk__in=pks).select_related("region")}
    for key in keys - set(clusters):
        if not key.isdigit() and (target := other_target(key)) is not None:
            clusters[key] = target
    names = {str(r.get("user", "")).removeprefix(USER_PREFIX) for r in records
             if str(r.get("user", "")).startswith(USER_PREFIX)}
    users = {(u.account_id, u.username): u for u in get_user_model().objects.filter(username__in=names)}
    events = []
    for r in records:
        cluster = clusters.get(str(r.get("cluster")))
        if cluster is None:
            continue  # deleted meanwhile
        kube_user = str(r.get("user", ""))
        actor = users.get((cluster.account_id, kube_user.removeprefix(USER_PREFIX))) if kube_user.startswith(
            USER_PREFIX) else None
        details = {key: r.get(key, "") for key in DETAIL_FIELDS}
        details["kubernetes_user"] = kube_user
        events.append(AuditEvent(
            time=_when(r["time"]), account_id=cluster.account_id, actor=actor,
            actor_name=actor.get_username() if actor is not None else kube_user[:150],
            action=f"{KUBERNETES_PREFIX}{str(r.get('verb') or 'unknown')[:40]}", target_type=cluster.audit_type,
            target_id=str(cluster.pk), target_name=cluster.name[:200], region=_region(cluster),
            result=result_of(r.get("status")), source_ip=_ip(r.get("source_ip")),
            user_agent=str(r.get("user_agent", ""))[:255], details=details,
        ))
    for cluster_id, count in dropped.items():
        cluster = clusters.get(str(cluster_id))
        if cluster is not None and count:
            events.append(AuditEvent(
                account_id=cluster.account_id, action=f"{KUBERNETES_PREFIX}unrecorded",
                target_type=cluster.audit_type, target_id=str(cluster.pk), target_name=cluster.name[:200],
                region=_region(cluster), result=AuditEvent.Result.FAILED, details={"count": int(count)}))
    record_many(events)
    return len(events)
