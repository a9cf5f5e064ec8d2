"""Metering (R7.2): the vCPU billed for an hour is the largest value observed while the
cluster was billable (running or changing) in that hour; disconnected and frozen time is
not billed."""
from datetime import timedelta
from decimal import Decimal

from billing import services
from billing.models import Settlement
from clusters import connectivity
from clusters.models import ClusterHeartbeat, RegisteredCluster
from tests.billing.conftest import SH, at, beats, fund, running_cluster
from tests.factories import ClusterFactory
from tests.live import wait_until

Status = RegisteredCluster.Status


def billed(cluster) -> dict:
    """{UTC+8 hour: vCPU} of the billed hours of a cluster."""
    return {s.hour_start.astimezone(SH).hour: s.vcpu
            for s in Settlement.objects.filter(instance_id=cluster.pk, billable=True)}


def test_the_largest_vcpu_observed_in_an_hour_is_billed(tenant, operator):
    fund(operator, tenant.account, 100)
    cluster = running_cluster(tenant.account, since=at("2026-11-27 10:00"), until=at("2026-11-27 10:20"), vcpu=4)
    beats(cluster, at("2026-11-27 10:21"), at("2026-11-27 10:30"), 12)  # scaled out …
    beats(cluster, at("2026-11-27 10:31"), at("2026-11-27 11:30"), 6)  # … and in again
    services.settle(now=at("2026-11-27 12:00"))
    assert billed(cluster) == {10: Decimal("12"), 11: Decimal("6")}


def test_a_disconnected_hour_is_not_billed(tenant, operator):
    """Running 10:00-10:40, disconnected until 12:10 (no heartbeats), running again."""
    fund(operator, tenant.account, 100)
    cluster = running_cluster(tenant.account, since=at("2026-11-27 10:00"), until=at("2026-11-27 10:40"), vcpu=8)
    beats(cluster, at("2026-11-27 12:10"), at("2026-11-27 12:50"), 8)
    services.settle(now=at("2026-11-27 13:00"))
    assert billed(cluster) == {10: 8, 12: 8}
    unbilled = Settlement.objects.get(instance_id=cluster.pk, billable=False)
    assert unbilled.hour_start == at("2026-11-27 11:00") and unbilled.amount == 0 and not hasattr(unbilled, "charge")


def test_a_cluster_changing_during_an_hour_is_billed(tenant, operator):
    fund(operator, tenant.account, 100)
    cluster = running_cluster(tenant.account, since=at("2026-11-27 09:30"), until=at("2026-11-27 09:59"), vcpu=8)
    beats(cluster, at("2026-11-27 10:00"), at("2026-11-27 10:59"), 8, status=Status.CHANGING)
    services.settle(now=at("2026-11-27 11:00"))
    assert billed(cluster) == {9: 8, 10: 8}


def test_frozen_time_is_not_billed(tenant, operator):
    fund(operator, tenant.account, 100)
    cluster = running_cluster(tenant.account, since=at("2026-11-27 09:30"), until=at("2026-11-27 09:59"), vcpu=8)
    beats(cluster, at("2026-11-27 10:00"), at("2026-11-27 10:59"), 8, status=Status.FROZEN)
    services.settle(now=at("2026-11-27 11:00"))
    assert billed(cluster) == {9: 8}


def test_a_cloud_cluster_reached_directly_is_billed_what_its_polls_saw(tenant, operator):
    """No agent: the worker's polls record its heartbeats. Scaled out at 10:30, frozen at
    11:30 (polls recorded as frozen), polls lost from 12:10 (the status still says running):
    nothing observed is nothing billed, not the association's value carried forward."""
    fund(operator, tenant.account, 100)
    cluster = ClusterFactory(account=tenant.account, cluster_type="cloud", connection_mode="direct",
                             first_running_at=at("2026-11-27 09:50"), status=Status.RUNNING,
                             facts={"nodes": [{"ready": True, "capacity": {"cpu_millicores": 16000}}]})
    beats(cluster, at("2026-11-27 09:50"), at("2026-11-27 10:29"), 16, every=timedelta(seconds=30))
    beats(cluster, at("2026-11-27 10:30"), at("2026-11-27 11:29"), 24, every=timedelta(seconds=30))
    beats(cluster, at("2026-11-27 11:30"), at("2026-11-27 11:59"), 24, status=Status.FROZEN)
    beats(cluster, at("2026-11-27 12:00"), at("2026-11-27 12:10"), 8)
    services.settle(now=at("2026-11-27 15:00"))
    assert billed(cluster) == {9: 16, 10: 24, 11: 24, 12: 8}
    assert Settlement.objects.get(instance_id=cluster.pk, hour_start=at("2026-11-27 10:00")).amount == Decimal(
        "1.3344")
    assert set(Settlement.objects.filter(instance_id=cluster.pk, billable=False)
               .values_list("hour_start", flat=True)) == {at("2026-11-27 13:00"), at("2026-11-27 14:00")}


def test_heartbeats_count_ready_nodes_excluding_virtual_kubelet(connected_cluster, emulator, tenant, operator):
    """Through a real agent: NotReady and virtual-kubelet nodes are not counted, millicore
    capacities are ('500m' = 0.5 vCPU); the hour after the agent went silent is not billed."""
    fund(operator, tenant.account, 100)
    base = connected_cluster.heartbeats.first().vcpu
    assert base == 20  # the seed's 4 + 8 + 8 ready CPUs

    def node(name, cpu, ready="True", labels=None):
        return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}},
                "status": {"capacity": {"cpu": cpu}, "allocatable": {"cpu": cpu},
                           "conditions": [{"type": "Ready", "status": ready}]}}

    emulator.emulator.put_object(node("vk-1", "64", labels={"type": "virtual-kubelet"}))
    emulator.emulator.put_object(node("broken-1", "32", ready="False"))
    emulator.emulator.put_object(node("edge-tiny", "500m"))
    wait_until(lambda: ClusterHeartbeat.objects.filter(cluster=connected_cluster, nodes_total=6).exists(),
               what="a heartbeat with the new nodes")
    beat = ClusterHeartbeat.objects.filter(cluster=connected_cluster, nodes_total=6).first()
    assert beat.vcpu == Decimal("20.5") and beat.nodes_ready == 5

    connected_cluster.agent.kill()
    last = ClusterHeartbeat.objects.filter(cluster=connected_cluster).first().time
    connectivity.agent_lost(connected_cluster.pk)
    services.settle(now=last + timedelta(hours=2))
    records = list(Settlement.objects.filter(instance_id=connected_cluster.pk).order_by("hour_start"))
    assert records[-1].billable is False  # the hour after the last heartbeat: disconnected
    assert max(r.vcpu for r in records if r.billable) == Decimal("20.5")
    assert all(r.billable for r in records[:-1])
