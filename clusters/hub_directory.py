"""The access hub's Directory backed by the database: agent and kubeconfig tokens,
heartbeats and connection events (interface: cceone.hub.directory.Directory)."""
import threading
from typing import Protocol
import time
from datetime import datetime
from datetime import timezone as dt_timezone

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from cceone.logs import bind_request_id, unbind_request_id
from cceone.hub.directory import (BaseDirectory, ConnInfo, Forbidden, Identity, NotFound, Unauthorized, Upstream,
                                  frozen_message, hash_token)
from cceone.iam.access import can
from cceone.kube.gateway import identity_for

from . import connectivity, kube_requests, platform_tokens
from .models import KubeconfigToken, RegisteredCluster


def _db(fn):
    """Run a blocking ORM function in a worker thread, with fresh connections.

    The hub lives for days: close connections the database has dropped meanwhile.
    """

    def wrapped(*args, **kwargs):
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(wrapped, thread_sensitive=False)


def _cluster_pk(cluster_id: str) -> int | None:
    return int(cluster_id) if str(cluster_id).isdigit() else None


class HubTarget(Protocol):
    """Another kind of target behind the kubeconfig proxy (a federation's Karmada API server),
    known to the hub as `<prefix><pk>`. Plain functions, called in the directory's threads."""

    def authenticate(self, pk: int, token: str) -> Identity:
        """As `Directory.authenticate_kubeconfig` (Unauthorized, NotFound, Forbidden)."""

    def upstream(self, pk: int) -> Upstream | None:
        """Where the hub sends the target's requests (its API server, its credentials)."""

    def audit_target(self, pk: int):
        """Optional: the instance the audit timeline files the target's requests under (a model
        with `account_id`, `name`, `region` and `audit_type`), or None."""


_targets: dict[str, HubTarget] = {}


def register_target(prefix: str, target: HubTarget) -> None:
    """Called from an app's ready(): keys `<prefix><pk>` are this target's (e.g. "federation-")."""
    _targets[prefix] = target


def _target_of(key: str) -> tuple[HubTarget, int] | None:
    for prefix, target in _targets.items():
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            return target, int(key[len(prefix):])
    return None


def _audit_target(key: str):
    """The instance a request to another kind of target (`federation-12`) is filed under."""
    other = _target_of(key)
    lookup = getattr(other[0], "audit_target", None) if other is not None else None
    return lookup(other[1]) if lookup is not None else None


@_db
def _authenticate_agent(token: str) -> str | None:
    pk = connectivity.cluster_for_agent_token(hash_token(token))
    return str(pk) if pk is not None else None


class _IamCache:
    """IAM answers for (user, cluster), kept a few seconds: a kubectl session sends bursts of
    requests, and losing access must still cut it off within seconds (not at the next RBAC
    resync). Called from the directory's worker threads, hence the lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self._answers: dict[tuple[int, int], tuple[float, bool]] = {}

    def can_get(self, user, cluster: RegisteredCluster) -> bool:
        key, now = (user.pk, cluster.pk), time.monotonic()
        with self._lock:
            hit = self._answers.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        allowed = can(user, "clusters:get", cluster)
        with self._lock:
            if len(self._answers) > 10_000:  # bounded: drop everything rather than track age
                self._answers.clear()
            self._answers[key] = (now + settings.CCEONE_HUB_IAM_CACHE_SECONDS, allowed)
        return allowed


@_db
def _authenticate_kubeconfig(cluster_id: str, token: str, iam: _IamCache) -> Identity:
    other = _target_of(cluster_id)
    if other is not None:
        target, pk = other
        return target.authenticate(pk, token)
    found = (KubeconfigToken.objects.select_related("user__account", "cluster")
             .filter(token_hash=hash_token(token)).first())
    if found is None:
        return _authenticate_platform(cluster_id, token)
    if not found.usable(timezone.now()):
        raise Unauthorized()
    pk = _cluster_pk(cluster_id)
    cluster = RegisteredCluster.objects.filter(pk=pk).first() if pk is not None else None
    # Another tenant's cluster does not exist for this token; another cluster of the
    # same tenant needs its own kubeconfig.
    if cluster is None or cluster.account_id != found.cluster.account_id or cluster.pk != found.cluster_id:
        raise NotFound()
    if cluster.status in (RegisteredCluster.Status.DESTROYING, RegisteredCluster.Status.UNSUBSCRIBED):
        raise NotFound()
    if not iam.can_get(found.user, cluster):
        raise Forbidden(f"user {found.user.get_username()} no longer has access to cluster {cluster.name} "
                        "in CCE One (IAM permission clusters:get)")
    if cluster.status == RegisteredCluster.Status.FROZEN:
        raise Forbidden(frozen_message(cluster.name))
    who = identity_for(found.user)
    return Identity(who.username, who.groups)


def _authenticate_platform(cluster_id: str, token: str) -> Identity:
    """A platform token (a federation's Karmada reaching a member): valid for its own cluster
    only, while the cluster serves requests at all."""
    pk = _cluster_pk(cluster_id)
    who = platform_tokens.identity(pk, token) if pk is not None else None
    if who is None:
        raise Unauthorized()
    cluster = RegisteredCluster.objects.filter(pk=pk).first()
    if cluster is None or cluster.status in (RegisteredCluster.Status.DESTROYING,
                                             RegisteredCluster.Status.UNSUBSCRIBED):
        raise NotFound()
    if cluster.status == RegisteredCluster.Status.FROZEN:
        raise Forbidden(frozen_message(cluster.name))
    return who


@_db
@transaction.atomic
def _agent_refused(remote_ip: str, reason: str, count: int) -> None:
    # One row per source and minute, with a count: junk connections must not flood the log.
    minute = timezone.now().replace(second=0, microsecond=0)
    row = (AuditEvent.objects.select_for_update()
           .filter(action="clusters:agent-refused", target_type="agent", target_name=remote_ip, time__gte=minute)
           .first())
    if row is None:
        record(None, "clusters:agent-refused", ("agent", "", remote_ip), result=AuditEvent.Result.DENIED,
               details={"remote_ip": remote_ip, "reason": reason, "count": count})
        return
    row.details = {**row.details, "reason": reason, "count": int(row.details.get("count", 1)) + count}
    row.save(update_fields=["details"])


@_db
def _is_frozen(cluster_id: str) -> bool:
    pk = _cluster_pk(cluster_id)
    return RegisteredCluster.objects.filter(pk=pk, status=RegisteredCluster.Status.FROZEN).exists()


@_db
def _direct_upstream(cluster_id: str) -> Upstream | None:
    other = _target_of(cluster_id)
    if other is not None:
        target, pk = other
        return target.upstream(pk)
    pk = _cluster_pk(cluster_id)
    cluster = (RegisteredCluster.objects.select_related("cloud_cluster")
               .filter(pk=pk, connection_mode=RegisteredCluster.ConnectionMode.DIRECT, cloud_cluster__isnull=False)
               .first()) if pk is not None else None
    if cluster is None:
        return None
    cloud = cluster.cloud_cluster
    # An http:// endpoint is handed over as it is: the hub refuses to send the token there.
    return Upstream(url=cloud.api_endpoint, token=cloud.token, ca_pem=cloud.ca_data)


class _UpstreamCache:
    """Where each cluster's kubeconfig requests go, kept a few seconds (every request of a
    kubectl burst asks; a changed endpoint or credential is used within seconds)."""

    def __init__(self):
        self._answers: dict[str, tuple[float, Upstream | None]] = {}

    async def get(self, cluster_id: str) -> Upstream | None:
        now = time.monotonic()
        hit = self._answers.get(cluster_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        upstream = await _direct_upstream(cluster_id)
        if len(self._answers) > 10_000:
            self._answers.clear()
        self._answers[cluster_id] = (now + settings.CCEONE_HUB_IAM_CACHE_SECONDS, upstream)
        return upstream


SESSION_KINDS = {"exec", "attach", "portforward"}


@_db
def _pod_session(cluster_id: str, session: dict) -> None:
    """One audit event per exec / attach / port-forward session, on the cluster, by the user the
    hub impersonated (console users are `cceone:<username>`, see identity_for)."""
    from django.contrib.auth import get_user_model

    cluster = RegisteredCluster.objects.filter(pk=_cluster_pk(cluster_id)).select_related("account").first()
    if cluster is None:
        return
    username = str(session.get("user", ""))
    actor = None
    if username.startswith("cceone:"):
        actor = get_user_model().objects.filter(username=username.removeprefix("cceone:"),
                                                account=cluster.account).first()

    def when(key):
        value = session.get(key)
        return datetime.fromtimestamp(value, tz=dt_timezone.utc).isoformat() if value else None

    kind = session.get("kind") if session.get("kind") in SESSION_KINDS else "other"
    details = {
        "kubernetes_user": username, "kind": kind, "namespace": session.get("namespace", ""),
        "pod": session.get("pod", ""), "container": session.get("container", ""),
        "command": list(session.get("command") or []), "ports": list(session.get("ports") or []),
        "started": when("started"), "ended": when("ended"), "status": session.get("status"),
        "outcome": session.get("outcome", ""), "bytes_in": int(session.get("bytes_in") or 0),
        "bytes_out": int(session.get("bytes_out") or 0),
    }
    result = AuditEvent.Result.SUCCESS if session.get("status") == 101 else AuditEvent.Result.DENIED
    bound = bind_request_id(str(session.get("request_id") or "")) if session.get("request_id") else None
    try:
        record(actor, f"clusters:pod-{kind}", cluster, account=cluster.account, result=result, details=details)
    finally:
        if bound is not None:
            unbind_request_id(bound)


class DatabaseDirectory(BaseDirectory):
    def __init__(self):
        self._iam = _IamCache()
        self._upstreams = _UpstreamCache()  # used on the hub's loop only: no lock

    async def authenticate_agent(self, token: str) -> str | None:
        return await _authenticate_agent(token)

    async def authenticate_kubeconfig(self, cluster_id: str, token: str) -> Identity:
        return await _authenticate_kubeconfig(cluster_id, token, self._iam)

    async def agent_connected(self, cluster_id: str, conn_info: ConnInfo) -> None:
        await _db(connectivity.agent_connected)(int(cluster_id), conn_info.as_dict())

    async def agent_joined(self, cluster_id: str, conn_info: ConnInfo) -> None:
        await _db(connectivity.agent_connected)(int(cluster_id), conn_info.as_dict())

    async def heartbeat(self, cluster_id: str, facts: dict) -> None:
        await _db(connectivity.heartbeat)(int(cluster_id), facts)

    async def agent_lost(self, cluster_id: str) -> None:
        await _db(connectivity.agent_lost)(int(cluster_id))

    async def agent_refused(self, remote_ip: str, reason: str, count: int = 1) -> None:
        await _agent_refused(remote_ip, reason, count)

    async def is_frozen(self, cluster_id: str) -> bool:
        return await _is_frozen(cluster_id)

    async def direct_upstream(self, cluster_id: str) -> Upstream | None:
        return await self._upstreams.get(cluster_id)

    async def pod_session(self, cluster_id: str, record: dict) -> None:
        await _pod_session(cluster_id, record)

    async def kube_requests(self, records: list[dict], dropped: dict[str, int]) -> None:
        await _db(kube_requests.record_requests)(records, dropped, _audit_target)
