"""What agent connections do to a registered cluster's status (R3.3, R3.6).

First heartbeat: pending access / access timeout / disconnected → running.
No heartbeat for two windows: running → disconnected (the hub tells us; a sweep
catches what a stopped hub could not). Every transition is audited.
"""
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cceone.audit.services import record

from . import facts as facts_mod
from .models import ClusterHeartbeat, RegisteredCluster

Status = RegisteredCluster.Status

# Statuses in which a heartbeat means "the cluster is up": it becomes running.
COMES_UP_FROM = {Status.PENDING_ACCESS, Status.ACCESS_TIMEOUT, Status.DISCONNECTED}
# Statuses in which an agent may connect at all (destroyed clusters have no token).
CONNECTABLE = COMES_UP_FROM | {Status.RUNNING, Status.CHANGING, Status.FROZEN}


def issue_agent_token(cluster: RegisteredCluster) -> str:
    """A new agent token for the cluster; the previous one stops working."""
    from cceone.hub.directory import hash_token

    token = "cca_" + secrets.token_urlsafe(32)
    cluster.agent_token_hash = hash_token(token)
    cluster.save(update_fields=["agent_token_hash"])
    return token


def _transition(cluster: RegisteredCluster, new: str, reason: str) -> None:
    old = cluster.status
    cluster.status = new
    record(None, "clusters:status", cluster, account=cluster.account,
           details={"from": old, "to": new, "reason": reason})


@transaction.atomic
def agent_connected(cluster_id: int, conn_info: dict) -> None:
    cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id).first()
    if cluster is None:
        return
    record(None, "clusters:agent-connected", cluster, account=cluster.account,
           details={k: conn_info.get(k) for k in ("remote_ip", "agent_version", "instance", "connections")})


@transaction.atomic
def heartbeat(cluster_id: int, reported: dict) -> None:
    cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id).first()
    if cluster is None or cluster.status not in CONNECTABLE:
        return
    now = timezone.now()
    fields = ["facts", "last_heartbeat_at", "disconnected_since"]
    cluster.facts, cluster.last_heartbeat_at, cluster.disconnected_since = reported, now, None
    version = facts_mod.kubernetes_version(reported)
    if version:
        cluster.kubernetes_version = version
        fields.append("kubernetes_version")
    if cluster.status in COMES_UP_FROM:
        _transition(cluster, Status.RUNNING, "agent heartbeat")
        fields.append("status")
        if cluster.first_running_at is None:
            cluster.first_running_at = now
            fields.append("first_running_at")
    cluster.save(update_fields=fields)
    ready, total = facts_mod.node_counts(reported)
    ClusterHeartbeat.objects.create(cluster=cluster, time=now, status=cluster.status,
                                    kubernetes_version=version, nodes_total=total, nodes_ready=ready,
                                    vcpu=facts_mod.billable_vcpu(reported))


@transaction.atomic
def agent_lost(cluster_id: int, since=None) -> None:
    cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id).first()
    if cluster is None or cluster.status != Status.RUNNING:
        return
    cluster.disconnected_since = since or cluster.last_heartbeat_at or timezone.now()
    _transition(cluster, Status.DISCONNECTED, "no heartbeat for two windows")
    cluster.save(update_fields=["status", "disconnected_since"])


def heartbeat_window() -> timedelta:
    return timedelta(seconds=settings.CCEONE_HUB_HEARTBEAT_WINDOW)


def sweep_disconnected() -> int:
    """Mark running clusters whose agents fell silent, e.g. while the hub was down."""
    cutoff = timezone.now() - 2 * heartbeat_window()
    stale = RegisteredCluster.objects.filter(
        status=Status.RUNNING, connection_mode=RegisteredCluster.ConnectionMode.AGENT, last_heartbeat_at__lt=cutoff
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(stale):
        agent_lost(pk)
        count += 1
    return count


def disconnect_agents(cluster_id: int) -> None:
    """Ask the hub to close the cluster's agent connections now (after unsubscribe).

    Best effort: the agent token is already revoked, so a hub that cannot be reached
    refuses the agents when they reconnect anyway.
    """
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{settings.CCEONE_HUB_INTERNAL_URL}/clusters/{cluster_id}/_disconnect", method="POST",
        headers={"X-Hub-Secret": settings.CCEONE_HUB_SECRET})
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except (urllib.error.URLError, OSError):
        pass
