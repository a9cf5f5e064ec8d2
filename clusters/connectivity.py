"""What agent connections, and polls of the clusters reached directly, do to a registered
cluster's status (R3.3, R3.6).

First heartbeat: pending access / access timeout / disconnected → running.
No heartbeat for two windows: running → disconnected (the hub tells us; a sweep
catches what a stopped hub could not). Every transition is audited.

A cluster reached directly (a cloud cluster) has no agent: the worker polls its API server
through the gateway (`poll_direct`, every CCEONE_DIRECT_POLL_SECONDS) and records what it
read as a heartbeat of the same shape, so the overview, metering and billing read both
kinds alike; two failed polls in a row: running → disconnected.
"""
import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as N_  # status reasons: translated when shown

from cceone.audit.services import record

from . import facts as facts_mod
from .models import ClusterHeartbeat, RegisteredCluster
from .transitions import change_status

log = logging.getLogger(__name__)

Status = RegisteredCluster.Status

# Statuses in which a heartbeat means "the cluster is up": it becomes running.
COMES_UP_FROM = {Status.PENDING_ACCESS, Status.ACCESS_TIMEOUT, Status.DISCONNECTED}
# Statuses in which an agent may connect at all (destroyed clusters have no token).
CONNECTABLE = COMES_UP_FROM | {Status.RUNNING, Status.CHANGING, Status.FROZEN}


def issue_agent_token(cluster: RegisteredCluster, grace: timedelta | None = None) -> str:
    """A new agent token for the cluster. The previous one stops working at once, or
    after `grace` (a rotation: the running agents stay up until the new YAML is applied)."""
    from cceone.hub.directory import hash_token

    token = "cca_" + secrets.token_urlsafe(32)
    keep = grace is not None and cluster.agent_token_hash
    # The token that stops working now: its agents' open connections must end too.
    dropped = cluster.previous_agent_token_hash if keep else cluster.agent_token_hash
    if dropped:
        pk = cluster.pk
        transaction.on_commit(lambda: disconnect_agents(pk, credential=dropped))
    cluster.previous_agent_token_hash = cluster.agent_token_hash if keep else None
    cluster.previous_agent_token_expires_at = timezone.now() + grace if keep else None
    cluster.agent_token_hash = hash_token(token)
    cluster.save(update_fields=["agent_token_hash", "previous_agent_token_hash", "previous_agent_token_expires_at"])
    return token


def cluster_for_agent_token(token_hash: str) -> int | None:
    """The cluster an agent token (current, or previous within its grace) lets in."""
    from django.db.models import Q

    now = timezone.now()
    return (RegisteredCluster.objects
            .filter(Q(agent_token_hash=token_hash)
                    | Q(previous_agent_token_hash=token_hash, previous_agent_token_expires_at__gt=now),
                    status__in=CONNECTABLE)
            .values_list("pk", flat=True).first())


def expire_previous_agent_tokens() -> int:
    """Cut off the agents still using a rotated token once its grace is over: the hub
    keeps established connections, so it is told to close those that authenticated with
    that token (their reconnects are refused); agents on the current token stay."""
    expired = list(RegisteredCluster.objects.filter(previous_agent_token_expires_at__lte=timezone.now())
                   .values_list("pk", "previous_agent_token_hash"))
    for pk, token_hash in expired:
        RegisteredCluster.objects.filter(pk=pk).update(previous_agent_token_hash=None,
                                                       previous_agent_token_expires_at=None)
        if token_hash:
            disconnect_agents(pk, credential=token_hash)
    return len(expired)


@transaction.atomic
def agent_connected(cluster_id: int, conn_info: dict) -> None:
    """Audit every agent connection: the first of a cluster, and each one joining it (a
    second deployment holding the token shows up here with its address and instance)."""
    cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id).first()
    if cluster is None:
        return
    record(None, "clusters:agent-connected", cluster, account=cluster.account,
           details={k: conn_info.get(k) for k in ("remote_ip", "agent_version", "instance", "connections")})


# How long the platform's own read of a cluster's nodes caps what its agents claim. A
# claim above the cap is checked again at once (a cluster that grew is billed for it);
# the hub hands one cluster's heartbeats over one at a time, so a connection claiming
# more than it has causes at most one read in flight.
PLATFORM_READ_TTL = timedelta(minutes=2)


def heartbeat(cluster_id: int, reported: dict, reason: str = N_("agent heartbeat")) -> None:
    """Record an agent's facts. Billing must not take one connection's word for the
    cluster's size (any holder of the token may connect): agent clusters carry the
    platform's own Node read through the tunnel, which caps the billed vCPU."""
    cluster = RegisteredCluster.objects.filter(pk=cluster_id).first()
    if cluster is None or cluster.status not in CONNECTABLE:
        return
    reported = {k: v for k, v in reported.items() if k != facts_mod.PLATFORM_READ}
    if cluster.connection_mode == RegisteredCluster.ConnectionMode.AGENT:
        reported[facts_mod.PLATFORM_READ] = _platform_read(cluster, reported)
    _record_heartbeat(cluster_id, reported, reason)


def _platform_read(cluster: RegisteredCluster, reported: dict) -> dict:
    """The billable vCPU of the nodes the platform lists itself (cached in the facts)."""
    from cceone.kube.gateway import system_client_for

    previous = (cluster.facts or {}).get(facts_mod.PLATFORM_READ)
    now = timezone.now()
    if isinstance(previous, dict) and previous.get("at"):
        age = now - datetime.fromisoformat(previous["at"])
        claim_fits = facts_mod.billable_vcpu(reported) <= Decimal(str(previous.get("vcpu") or 0))
        if age < PLATFORM_READ_TTL and claim_fits:
            return previous
    try:
        nodes = (system_client_for(cluster, timeout=(5, 15)).resources.get(api_version="v1", kind="Node")
                 .get().to_dict().get("items", []))
    except Exception:  # noqa: BLE001 - unverified: bill no more than last verified (or nothing)
        log.warning("cluster %s: cannot read its nodes to verify billing", cluster.pk, exc_info=True)
        return {"vcpu": (previous or {}).get("vcpu", "0"), "at": ""}
    verified = facts_mod.billable_vcpu(facts_mod.from_nodes("", nodes))
    return {"vcpu": str(verified), "at": now.isoformat()}


@transaction.atomic
def _record_heartbeat(cluster_id: int, reported: dict, reason: str = N_("agent heartbeat")) -> None:
    cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id).first()
    if cluster is None or cluster.status not in CONNECTABLE:
        return
    now = timezone.now()
    fields = ["facts", "last_heartbeat_at", "disconnected_since", "failed_polls"]
    cluster.facts, cluster.last_heartbeat_at, cluster.disconnected_since = reported, now, None
    cluster.failed_polls = 0
    version = facts_mod.kubernetes_version(reported)
    if version:
        cluster.kubernetes_version = version
        fields.append("kubernetes_version")
    if cluster.status in COMES_UP_FROM:
        change_status(cluster, Status.RUNNING, reason)
        if cluster.first_running_at is None:
            cluster.first_running_at = now
            fields.append("first_running_at")
    ready, total = facts_mod.node_counts(reported)
    allocation = facts_mod.allocation(reported)
    cluster.latest_heartbeat = ClusterHeartbeat.objects.create(
        cluster=cluster, time=now, status=cluster.status, kubernetes_version=version, nodes_total=total,
        nodes_ready=ready, vcpu=facts_mod.billable_vcpu(reported),
        cpu_requested=allocation["cpu_requested_millicores"], cpu_allocatable=allocation["cpu_allocatable_millicores"],
        memory_requested=allocation["memory_requested_bytes"],
        memory_allocatable=allocation["memory_allocatable_bytes"], namespace_cpu=facts_mod.namespace_cpu(reported))
    cluster.save(update_fields=[*fields, "latest_heartbeat"])


@transaction.atomic
def agent_lost(cluster_id: int, since=None) -> None:
    cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id).first()
    if cluster is None or cluster.status != Status.RUNNING:
        return
    cluster.disconnected_since = since or cluster.last_heartbeat_at or timezone.now()
    cluster.save(update_fields=["disconnected_since"])
    change_status(cluster, Status.DISCONNECTED, N_("no heartbeat for two windows"))


# --- clusters reached directly ---------------------------------------------------------

# Statuses in which a cluster reached directly is polled: a frozen one too (its facts stay
# current; its heartbeats are recorded as frozen, which is not billed).
POLLED = {Status.RUNNING, Status.DISCONNECTED, Status.CHANGING, Status.FROZEN}
# Failed polls in a row after which a running cluster is disconnected (an agent's two windows).
FAILED_POLLS_TO_DISCONNECT = 2


def read_direct(cluster: RegisteredCluster) -> dict:
    """A cluster's heartbeat facts read from its API server by the platform (version and
    Nodes; pod requests are the agent's to sum). Raises what the gateway raises."""
    from kubernetes.client import VersionApi

    from cceone.kube.gateway import system_client_for

    client = system_client_for(cluster, timeout=(5, 15))
    # Not `client.version`: discovery keeps the version it first saw in its cache file.
    version = VersionApi(client.client).get_code().git_version or ""
    nodes = client.resources.get(api_version="v1", kind="Node").get().to_dict().get("items", [])
    return facts_mod.from_nodes(version, nodes)


def clusters_to_poll() -> list[int]:
    return list(RegisteredCluster.objects.filter(connection_mode=RegisteredCluster.ConnectionMode.DIRECT,
                                                 cloud_cluster__isnull=False, status__in=POLLED)
                .values_list("pk", flat=True))


def poll_direct(cluster_id: int) -> bool:
    """Poll one cluster reached directly: its facts recorded as a heartbeat (a disconnected
    cluster that answers is running again), or one more failed poll. True when it answered.
    Safe to repeat or to lose: the database holds the count, a poll changes nothing else."""
    from cceone.kube.gateway import explain

    cluster = (RegisteredCluster.objects.select_related("cloud_cluster")
               .filter(pk=cluster_id, connection_mode=RegisteredCluster.ConnectionMode.DIRECT,
                       cloud_cluster__isnull=False, status__in=POLLED).first())
    if cluster is None:
        return False
    try:
        facts = read_direct(cluster)
    except Exception as error:  # noqa: BLE001 - whatever failed, the poll failed
        log.info("cluster %s: poll failed: %s", cluster_id, explain(error, cluster))
        _poll_failed(cluster_id)
        return False
    heartbeat(cluster_id, facts, N_("API server answered a poll"))
    return True


@transaction.atomic
def _poll_failed(cluster_id: int) -> None:
    cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id, status__in=POLLED).first()
    if cluster is None:
        return
    cluster.failed_polls = min(cluster.failed_polls + 1, 1000)
    fields = ["failed_polls"]
    disconnect = cluster.failed_polls >= FAILED_POLLS_TO_DISCONNECT and cluster.status == Status.RUNNING
    if disconnect:
        cluster.disconnected_since = cluster.last_heartbeat_at or timezone.now()
        fields.append("disconnected_since")
    cluster.save(update_fields=fields)
    if disconnect:
        change_status(cluster, Status.DISCONNECTED, N_("API server did not answer two polls in a row"))


def heartbeat_window() -> timedelta:
    return timedelta(seconds=settings.CCEONE_HUB_HEARTBEAT_WINDOW)


def sweep_disconnected() -> int:
    """Mark running clusters whose agents fell silent, e.g. while the hub was down, and those
    reached directly that no poll has reached for three poll intervals (beat or the workers
    stopped): a console must not show "running" on facts nobody has checked."""
    now = timezone.now()
    stale = RegisteredCluster.objects.filter(
        status=Status.RUNNING, connection_mode=RegisteredCluster.ConnectionMode.AGENT,
        last_heartbeat_at__lt=now - 2 * heartbeat_window()
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(stale):
        agent_lost(pk)
        count += 1
    unpolled = RegisteredCluster.objects.filter(
        status=Status.RUNNING, connection_mode=RegisteredCluster.ConnectionMode.DIRECT,
        last_heartbeat_at__lt=now - 3 * timedelta(seconds=settings.CCEONE_DIRECT_POLL_SECONDS)
    ).values_list("pk", flat=True)
    for pk in list(unpolled):
        _unpolled(pk)
        count += 1
    return count


@transaction.atomic
def _unpolled(cluster_id: int) -> None:
    cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id, status=Status.RUNNING).first()
    if cluster is None:
        return
    cluster.disconnected_since = cluster.last_heartbeat_at or timezone.now()
    cluster.save(update_fields=["disconnected_since"])
    change_status(cluster, Status.DISCONNECTED, N_("not polled for three poll intervals"))


def disconnect_agents(cluster_id: int, credential: str | None = None) -> None:
    """Ask the hub to close the cluster's agent connections now (after unsubscribe), or
    only those that connected with the token hashed `credential` (after a rotation).

    Best effort: the agent token is already revoked, so a hub that cannot be reached
    refuses the agents when they reconnect anyway.
    """
    import urllib.error
    import urllib.parse
    import urllib.request

    query = f"?{urllib.parse.urlencode({'credential': credential})}" if credential else ""
    request = urllib.request.Request(
        f"{settings.CCEONE_HUB_INTERNAL_URL}/clusters/{cluster_id}/_disconnect{query}", method="POST",
        headers={"X-Hub-Secret": settings.CCEONE_HUB_SECRET})
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except (urllib.error.URLError, OSError):
        pass
