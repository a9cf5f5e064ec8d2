"""The hub's only view of the product: who is allowed in, and where facts go.

The hub core must not import Django; the product implements `Directory`
(backed by its models) and hands it to `Hub`. `InMemoryDirectory` serves
tests, benchmarks and the standalone dev runner.

All methods are coroutines called on the hub's event loop. A database-backed
implementation should push blocking work to a thread (e.g. asgiref's
sync_to_async) so one slow query does not stall every tunnel.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable


class Unauthorized(Exception):
    """Kubeconfig token unknown, expired or revoked (-> HTTP 401)."""


class NotFound(Exception):
    """Cluster unknown, or not visible to this token's tenant (-> HTTP 404)."""


class Forbidden(Exception):
    """Valid token, but its user may no longer use the cluster (-> HTTP 403, str = message)."""


@dataclass(frozen=True)
class Identity:
    """Who a kubeconfig token stands for; becomes Impersonate-User/-Group.

    `relays_impersonation`: the token belongs to a service that impersonates its own callers
    (Karmada's aggregated API server for `clusters/<name>/proxy` sends `Impersonate-User/-Group`
    with its impersonator token): such a request keeps the caller's headers instead of being
    refused, and acts as `username` when it sends none. Only platform tokens, never a user's.
    """

    username: str
    groups: tuple[str, ...] = ()
    relays_impersonation: bool = False


@dataclass(frozen=True)
class Upstream:
    """A cluster the hub reaches directly, not through an agent (a cloud cluster): its API
    server's URL (https:// only), the bearer token the hub sends it, and the PEM of the CA
    its certificate is verified with (empty: the system's trusted CAs)."""

    url: str
    token: str = field(repr=False)
    ca_pem: str = ""
    # Or a client certificate and its key (PEM), for x509 client auth (a Karmada control plane
    # karmada-operator made).
    client_cert_pem: str = ""
    client_key_pem: str = field(default="", repr=False)


@dataclass(frozen=True)
class ConnInfo:
    """Describes one agent WebSocket connection (passed to agent_connected)."""

    conn_id: str
    remote_ip: str
    agent_version: str
    instance: str  # pod / host name the agent reports
    protocol: int
    connected_at: float  # epoch seconds
    connections: int  # open connections of this cluster including this one

    def as_dict(self) -> dict:
        return asdict(self)


def hash_token(token: str) -> str:
    """How directories store tokens: hex sha256 of the UTF-8 token.

    Agent and kubeconfig tokens are long random strings, so a fast unsalted
    hash is enough (nothing to brute-force) and allows an indexed lookup.
    """
    return hashlib.sha256(token.encode()).hexdigest()


@runtime_checkable
class Directory(Protocol):
    async def authenticate_agent(self, token: str) -> str | None:
        """Cluster id owning this agent token, or None to refuse the agent."""

    async def authenticate_kubeconfig(self, cluster_id: str, token: str) -> Identity:
        """Identity for a user's kubeconfig token on `cluster_id`.

        Raise Unauthorized for a bad/expired/revoked token, NotFound when the
        cluster is unknown or belongs to another tenant than the token, and
        Forbidden when the token's user lost the right to use the cluster.
        """

    async def agent_connected(self, cluster_id: str, conn_info: ConnInfo) -> None:
        """A connection arrived while the cluster had no other open connection."""

    async def agent_joined(self, cluster_id: str, conn_info: ConnInfo) -> None:
        """Optional: another connection arrived while the cluster already had one."""

    async def heartbeat(self, cluster_id: str, facts: dict) -> None:
        """Latest facts from an agent (schema: docs/agent-protocol.md)."""

    async def agent_lost(self, cluster_id: str) -> None:
        """No heartbeat from any connection of the cluster for two windows."""

    async def agent_refused(self, remote_ip: str, reason: str, count: int = 1) -> None:
        """`count` agent connections from `remote_ip` were refused (bad token, bad
        protocol, rate limit), the last for `reason`; audit them. The hub reports the
        first refusal of a source and minute alone, then the rest as counts: fold
        them into one record per source and minute."""

    async def is_frozen(self, cluster_id: str) -> bool:
        """Optional: True blocks the kubeconfig proxy for this cluster (403)."""

    async def direct_upstream(self, cluster_id: str) -> Upstream | None:
        """Optional: where the kubeconfig proxy sends `cluster_id`'s requests when no agent
        serves it (a cluster reached directly); None: through its agents' tunnel."""

    async def pod_session(self, cluster_id: str, record: dict) -> None:
        """Optional: an exec / attach / port-forward session (or its refusal) ended; audit it.

        `record`: kind (exec | attach | portforward), user (the impersonated
        Kubernetes user), namespace, pod, container, command (list), ports
        (list), status (the API server's answer to the upgrade: 101, or the
        refusal's code), outcome, started and ended (epoch seconds), bytes_in
        (client -> cluster) and bytes_out. Never the content.
        """

    async def kube_requests(self, records: list[dict], dropped: dict[str, int]) -> None:
        """Optional: kubeconfig-proxy requests that ended, in batches (audit.py); store them
        without blocking the loop. A record: cluster, user (the impersonated Kubernetes
        user), time (epoch seconds), verb, api_group, api_version, resource, subresource,
        namespace, name, path (non-resource requests), status, latency_ms, source_ip,
        user_agent. `dropped`: per cluster, requests the hub could not record since the last
        batch (its buffer was full). A directory without this method records nothing.
        """


def frozen_message(cluster: str) -> str:
    """What kubectl prints for a frozen cluster: which one, why, and what to do."""
    return (f"cluster {cluster} is frozen because its account is in arrears: top up the balance in "
            "CCE One (Billing > Account balance) and it is available again at once")


class BaseDirectory:
    """Convenience base: no-op notifications, nothing frozen."""

    async def authenticate_agent(self, token: str) -> str | None:
        return None

    async def authenticate_kubeconfig(self, cluster_id: str, token: str) -> Identity:
        raise Unauthorized()

    async def agent_connected(self, cluster_id: str, conn_info: ConnInfo) -> None:
        pass

    async def agent_joined(self, cluster_id: str, conn_info: ConnInfo) -> None:
        pass

    async def heartbeat(self, cluster_id: str, facts: dict) -> None:
        pass

    async def agent_lost(self, cluster_id: str) -> None:
        pass

    async def agent_refused(self, remote_ip: str, reason: str, count: int = 1) -> None:
        pass

    async def is_frozen(self, cluster_id: str) -> bool:
        return False

    async def direct_upstream(self, cluster_id: str) -> Upstream | None:
        return None

    async def pod_session(self, cluster_id: str, record: dict) -> None:
        pass


@dataclass
class _UserToken:
    identity: Identity
    tenant: str
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class Event:
    kind: str  # connected | joined | heartbeat | lost | refused | session
    key: str  # cluster id, or remote ip for "refused"
    data: object = None
    at: float = field(default_factory=time.monotonic)


class InMemoryDirectory(BaseDirectory):
    """Thread-safe in-memory directory; records every notification in `events`.

    Tests run the hub in a thread and inspect `events` from the main thread,
    hence the lock.
    """

    def __init__(self, keep_heartbeat_events: bool = True, audit_log: str | None = None):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.cluster_tenant: dict[str, str] = {}
        self._agent_tokens: dict[str, str] = {}  # hash -> cluster id
        self._user_tokens: dict[str, _UserToken] = {}  # hash -> token
        self.frozen: set[str] = set()
        self.upstreams: dict[str, Upstream] = {}  # clusters reached directly
        self.events: list[Event] = []
        self.facts: dict[str, dict] = {}
        self.state: dict[str, str] = {}  # cluster id -> running | disconnected
        self.heartbeats = 0
        self.refused_counts: dict[str, int] = {}  # remote ip -> refusals reported
        self._keep_hb = keep_heartbeat_events
        self.requests: collections.deque = collections.deque(maxlen=10_000)  # the latest kube_requests
        self.requests_dropped: dict[str, int] = {}
        self._audit_log = audit_log  # kube_requests appended as JSON lines, from a worker thread

    # -- setup -------------------------------------------------------------
    def add_cluster(self, cluster_id: str, agent_token: str, tenant: str = "default") -> None:
        with self._lock:
            self.cluster_tenant[cluster_id] = tenant
            self._agent_tokens[hash_token(agent_token)] = cluster_id

    def add_direct_cluster(self, cluster_id: str, upstream: Upstream, tenant: str = "default") -> None:
        """A cluster without an agent: the proxy forwards to `upstream` itself."""
        with self._lock:
            self.cluster_tenant[cluster_id] = tenant
            self.upstreams[cluster_id] = upstream

    def revoke_agent_token(self, agent_token: str) -> None:
        """The agent may no longer connect (e.g. the cluster was unsubscribed)."""
        with self._lock:
            self._agent_tokens.pop(hash_token(agent_token), None)

    def add_user_token(
        self, token: str, username: str, groups=(), tenant: str = "default", ttl: float | None = None,
        relays_impersonation: bool = False,
    ) -> None:
        with self._lock:
            self._user_tokens[hash_token(token)] = _UserToken(
                Identity(username, tuple(groups), relays_impersonation), tenant,
                time.time() + ttl if ttl is not None else None,
            )

    def revoke_user_token(self, token: str) -> None:
        with self._lock:
            self._user_tokens[hash_token(token)].revoked = True

    # -- Directory ---------------------------------------------------------
    async def authenticate_agent(self, token: str) -> str | None:
        with self._lock:
            return self._agent_tokens.get(hash_token(token))

    async def authenticate_kubeconfig(self, cluster_id: str, token: str) -> Identity:
        with self._lock:
            t = self._user_tokens.get(hash_token(token))
            if t is None or t.revoked or (t.expires_at is not None and t.expires_at < time.time()):
                raise Unauthorized()
            if self.cluster_tenant.get(cluster_id) != t.tenant:
                raise NotFound()
            return t.identity

    async def agent_connected(self, cluster_id: str, conn_info: ConnInfo) -> None:
        self._record("connected", cluster_id, conn_info)
        with self._lock:
            self.state[cluster_id] = "running"

    async def agent_joined(self, cluster_id: str, conn_info: ConnInfo) -> None:
        self._record("joined", cluster_id, conn_info)

    async def heartbeat(self, cluster_id: str, facts: dict) -> None:
        with self._lock:
            self.facts[cluster_id] = facts
            self.heartbeats += 1
        if self._keep_hb:
            self._record("heartbeat", cluster_id, facts)

    async def agent_lost(self, cluster_id: str) -> None:
        self._record("lost", cluster_id)
        with self._lock:
            self.state[cluster_id] = "disconnected"

    async def agent_refused(self, remote_ip: str, reason: str, count: int = 1) -> None:
        with self._lock:
            self.refused_counts[remote_ip] = self.refused_counts.get(remote_ip, 0) + count
        self._record("refused", remote_ip, reason)

    async def is_frozen(self, cluster_id: str) -> bool:
        return cluster_id in self.frozen

    async def direct_upstream(self, cluster_id: str) -> Upstream | None:
        with self._lock:
            return self.upstreams.get(cluster_id)

    async def pod_session(self, cluster_id: str, record: dict) -> None:
        self._record("session", cluster_id, record)

    async def kube_requests(self, records: list[dict], dropped: dict[str, int]) -> None:
        if self._audit_log is not None:
            await asyncio.to_thread(self._append_log, records)
        with self._cond:
            self.requests.extend(records)
            for cluster_id, count in dropped.items():
                self.requests_dropped[cluster_id] = self.requests_dropped.get(cluster_id, 0) + count
            self._cond.notify_all()

    def _append_log(self, records: list[dict]) -> None:
        with open(self._audit_log, "a") as f:
            f.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))

    # -- inspection helpers (any thread) ------------------------------------
    def _record(self, kind: str, key: str, data=None) -> None:
        with self._cond:
            self.events.append(Event(kind, key, data))
            self._cond.notify_all()

    def find(self, kind: str, key: str | None = None, since: float = 0.0) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.kind == kind and (key is None or e.key == key) and e.at >= since]

    def wait_for(self, kind: str, key: str | None = None, since: float = 0.0, timeout: float = 5.0) -> Event:
        """Block until an event of `kind` (for `key`) recorded at/after `since`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self.events:
                    if e.kind == kind and (key is None or e.key == key) and e.at >= since:
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {kind!r} event for {key!r} within {timeout}s")
                self._cond.wait(left)
