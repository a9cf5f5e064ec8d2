"""Prometheus metrics of one hub replica (prometheus-client), served at `GET /metrics` on
the internal listener (no secret, like `/healthz`: keep that listener inside the cluster).

The gauges are read from the hub's own state at scrape time (no bookkeeping on the hot
path); counters are plain integers bumped where the event happens. One registry per Hub, so
several hubs in one process (tests) do not mix.
"""

from __future__ import annotations

from collections import defaultdict

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class HubMetrics:
    def __init__(self, hub):
        self.hub = hub
        self.requests: dict[tuple[str, str], int] = defaultdict(int)  # (cluster, listener) -> requests
        self.auth_failures: dict[tuple[str, str], int] = defaultdict(int)  # (listener, reason) -> count
        self.retired_bytes: dict[tuple[str, str], int] = defaultdict(int)  # closed connections' bytes
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    # -- events --------------------------------------------------------------------------
    def request(self, cluster_id: str, listener: str) -> None:
        self.requests[(cluster_id, listener)] += 1

    def auth_failure(self, listener: str, status: int) -> None:
        self.auth_failures[(listener, str(status))] += 1

    def retire(self, conn) -> None:
        """An agent connection ended: keep its byte counts in the cluster's totals."""
        self.retired_bytes[(conn.cluster_id, "in")] += conn.bytes_in
        self.retired_bytes[(conn.cluster_id, "out")] += conn.bytes_out

    # -- exposition ------------------------------------------------------------------------
    def render(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self):
        hub = self.hub
        conns = list(hub.connections)
        replica = hub.replicas.replica_id if hub.replicas is not None else ""

        agents = GaugeMetricFamily("cceone_hub_agent_connections", "Agent WebSocket connections open on this replica")
        agents.add_metric([], len(conns))
        yield agents
        clusters = GaugeMetricFamily("cceone_hub_clusters_connected", "Clusters with a live agent on this replica")
        clusters.add_metric([], sum(1 for cs in hub.registry.clusters.values() if cs.connected and cs.conns))
        yield clusters
        streams = GaugeMetricFamily("cceone_hub_streams", "Tunnelled requests and sessions open now")
        streams.add_metric([], sum(len(c.streams) for c in conns))
        yield streams
        queue = GaugeMetricFamily("cceone_hub_frame_queue_bytes",
                                  "Bytes of frames written to agents and not yet taken by their sockets")
        queue.add_metric([], sum(c.transport.get_write_buffer_size() for c in conns
                                 if c.transport is not None and not c.transport.is_closing()))
        yield queue
        draining = GaugeMetricFamily("cceone_hub_draining", "1 while this replica drains (SIGTERM)")
        draining.add_metric([], 1 if hub.draining else 0)
        yield draining
        info = GaugeMetricFamily("cceone_hub_replica_info", "This replica", labels=["replica"])
        info.add_metric([replica], 1)
        yield info

        heartbeats = CounterMetricFamily("cceone_hub_heartbeats", "Agent heartbeats received")
        heartbeats.add_metric([], hub.registry.heartbeats_total)
        yield heartbeats
        requests = CounterMetricFamily("cceone_hub_requests", "Requests relayed to a cluster",
                                       labels=["cluster", "listener"])
        for (cluster, listener), n in list(self.requests.items()):
            requests.add_metric([cluster, listener], n)
        yield requests
        forwarded = CounterMetricFamily("cceone_hub_forwarded_requests",
                                        "Requests forwarded to the replica holding the cluster's tunnel")
        forwarded.add_metric([], hub.replicas.forwarded_total if hub.replicas is not None else 0)
        yield forwarded
        failures = CounterMetricFamily("cceone_hub_auth_failures",
                                       "Requests and agent connections refused for their credentials",
                                       labels=["listener", "status"])
        for (listener, status), n in list(self.auth_failures.items()):
            failures.add_metric([listener, status], n)
        yield failures
        totals: dict[tuple[str, str], int] = defaultdict(int, self.retired_bytes)
        for c in conns:
            totals[(c.cluster_id, "in")] += c.bytes_in
            totals[(c.cluster_id, "out")] += c.bytes_out
        tunnel_bytes = CounterMetricFamily("cceone_hub_tunnel_bytes",
                                           "Bytes over agent tunnels (in: from the agent, out: to it)",
                                           labels=["cluster", "direction"])
        for (cluster, direction), n in totals.items():
            tunnel_bytes.add_metric([cluster, direction], n)
        yield tunnel_bytes
