"""Showback end to end: the real agent, connected through the hub to the Kubernetes API
emulator, reports the CPU requests per namespace; the heartbeat keeps them, the overview's
statistics read the heartbeat, and settling the hour splits its charge by them."""
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from billing import services, showback
from billing.models import Settlement
from clusters.models import RegisteredCluster
from tests.billing.conftest import fund
from tests.conftest import client_for
from tests.live import wait_until


def latest(cluster):
    return RegisteredCluster.objects.select_related("latest_heartbeat").get(pk=cluster.pk).latest_heartbeat


def test_the_agents_namespace_requests_weigh_the_hours_charge(tenant, connected_cluster, emulator, operator):
    fund(operator, tenant.account, 100)
    emulator.emulator.apply_object({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    emulator.emulator.apply_object({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "checkout", "namespace": "shop"},
        "spec": {"nodeName": "worker-1", "containers": [
            {"name": "app", "image": "shop:1", "resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}}]},
        "status": {"phase": "Running"}})
    wait_until(lambda: (latest(connected_cluster).namespace_cpu or {}).get("shop") == 1500,
               timeout=20, what="a heartbeat with the shop namespace's requests")
    beat = latest(connected_cluster)
    assert {"kube-system", "prod", "shop"} <= set(beat.namespace_cpu)
    # The namespaces' requests are the cluster's requests; the allocation figures are the overview's.
    assert sum(beat.namespace_cpu.values()) == beat.cpu_requested
    assert beat.cpu_allocatable == 3800 + 7800 + 7800 and beat.vcpu == Decimal("20")
    overview = client_for(tenant.main).get(reverse("console:overview")).content.decode()
    rate = f"{round(100 * beat.cpu_requested / beat.cpu_allocatable, 1)} %"
    assert rate in overview.split('id="resource-statistics"')[1].split("</table>")[0]

    services.settle(now=timezone.now() + timedelta(hours=1))
    # The current hour (the previous one too, should the test straddle an hour's end).
    hour = Settlement.objects.filter(instance_id=connected_cluster.pk, billable=True).order_by("-hour_start").first()
    weights = latest(connected_cluster).namespace_cpu
    shares = {s.namespace: s for s in hour.shares.all()}
    assert set(shares) == set(weights) and sum(s.amount for s in shares.values()) == hour.amount
    total = sum(weights.values())
    for namespace, share in shares.items():
        assert abs(share.amount - hour.amount * weights[namespace] / total) < Decimal("0.0001")
    month = hour.hour_start.astimezone(services.metering.BILLING_TZ).strftime("%Y-%m")
    result = showback.showback(Settlement.objects.filter(account=tenant.account), month)
    assert result.total == services.monthly_bill(Settlement.objects.filter(account=tenant.account), month).total
    assert set(weights) <= {r["namespace"] for r in result.rows}
