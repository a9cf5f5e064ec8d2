"""Showback: cost per namespace, cluster, fleet and enterprise project, per day and per
month, from the bill's own usage records — it adds up to the bill of the same month exactly;
a namespace's part is the hour's charge weighted by the namespaces' CPU requests."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services, showback
from billing.models import Settlement
from cceone.iam.models import EnterpriseProject
from clusters.models import ClusterHeartbeat, RegisteredCluster
from tests.billing.conftest import at, fund
from tests.conftest import client_for
from tests.factories import ClusterFactory, FleetFactory

LOCAL = Decimal("0.1668")  # ¥ per vCPU-hour, the seeded price of a local cluster


def report(cluster, start, end, vcpu, namespaces, *, every=timedelta(minutes=10)):
    """Heartbeats from `start` to `end` as the agent records them: vCPU and the CPU requests per namespace."""
    rows, moment = [], start
    while moment <= end:
        rows.append(ClusterHeartbeat(cluster=cluster, time=moment, status="running", vcpu=Decimal(str(vcpu)),
                                     nodes_total=1, nodes_ready=1, namespace_cpu=namespaces(moment)))
        moment += every
    ClusterHeartbeat.objects.bulk_create(rows)


@pytest.fixture
def month(tenant, other_tenant, operator):
    """November 2026 (UTC+8) and an hour either side of it: a local cluster in fleet "prod" and
    project "finance" whose namespaces change every hour, one without an agent's requests, and
    the other tenant's cluster."""
    fund(operator, tenant.account, 1000)
    fund(operator, other_tenant.account, 1000)
    finance = EnterpriseProject.objects.create(account=tenant.account, name="finance")
    prod = FleetFactory(account=tenant.account, name="prod")
    shop = ClusterFactory(account=tenant.account, name="shop", fleet=prod, enterprise_project=finance,
                          first_running_at=at("2026-10-31 22:00"))
    plain = ClusterFactory(account=tenant.account, name="plain", first_running_at=at("2026-11-15 08:00"))
    theirs = ClusterFactory(account=other_tenant.account, name="theirs", first_running_at=at("2026-11-15 08:00"))

    def shop_namespaces(moment):
        hour = moment.astimezone(at("2026-11-01 00:00").tzinfo).hour
        return {"web": 100, "db": 200, "cache": 400} if hour % 2 else {"web": 1500, "batch": 500 + 10 * hour}

    report(shop, at("2026-10-31 22:00"), at("2026-11-02 01:59"), 8, shop_namespaces)
    report(plain, at("2026-11-15 08:00"), at("2026-11-15 10:30"), 3, lambda m: {})
    report(theirs, at("2026-11-15 08:00"), at("2026-11-15 09:30"), 64, lambda m: {"secret-ns": 1000})
    services.settle(now=at("2026-11-16 00:00"))
    return {"shop": shop, "plain": plain, "prod": prod, "finance": finance}


def test_showback_adds_up_to_the_bill_of_the_month_to_the_cent(tenant, month):
    usage = Settlement.objects.filter(account=tenant.account)
    bill = services.monthly_bill(usage, "2026-11")
    # shop: 2026-11-01 00:00 … 11-02 01:00 = 26 hours × 8 vCPU; plain: 3 hours × 3 vCPU; local price.
    assert bill.total == (26 * 8 + 3 * 3) * LOCAL
    for by in showback.DIMENSIONS:
        for period in showback.PERIODS:
            result = showback.showback(usage, "2026-11", by, period)
            assert result.total == bill.total, (by, period)
            assert sum(r["amount"] for r in result.rows) == bill.total
            assert sum(g["amount"] for g in result.groups) == bill.total
    by_day = showback.showback(usage, "2026-11", "cluster", "day")
    assert [(d["day"].isoformat(), d["amount"]) for d in by_day.days] == [
        ("2026-11-01", 24 * 8 * LOCAL), ("2026-11-02", 2 * 8 * LOCAL), ("2026-11-15", 3 * 3 * LOCAL)]
    # October's last two hours are October's: the month cut is the bill's.
    assert showback.showback(usage, "2026-10", "fleet").total == services.monthly_bill(usage, "2026-10").total \
        == 2 * 8 * LOCAL


def test_a_namespace_pays_its_share_of_the_hour_by_cpu_requests(tenant, month):
    usage = Settlement.objects.filter(account=tenant.account)
    hour = usage.get(instance_name="shop", hour_start=at("2026-11-01 01:00"))
    charge = 8 * LOCAL  # 1.3344
    assert hour.amount == charge
    # Odd hours: web 100, db 200, cache 400 of 700 → 13344 ten-thousandths split 1906.3 / 3812.6 / 7625.1:
    # floors 1906 + 3812 + 7625 = 13343, the one left to the largest remainder (db).
    assert {s.namespace: s.amount for s in hour.shares.all()} == {
        "web": Decimal("0.1906"), "db": Decimal("0.3813"), "cache": Decimal("0.7625")}
    assert sum(s.amount for s in hour.shares.all()) == charge
    # Even hours: web 1500 and batch 500 + 10 × hour.
    even = usage.get(instance_name="shop", hour_start=at("2026-11-01 02:00"))
    assert {s.namespace: s.cpu_millicores for s in even.shares.all()} == {"web": 1500, "batch": 520}
    result = showback.showback(usage, "2026-11", "namespace")
    amounts = {r["label"]: r["amount"] for r in result.rows}
    # "plain" reported no requests: its hours are not attributed to any namespace.
    assert amounts["plain / (no CPU requests reported)"] == 3 * 3 * LOCAL
    assert amounts["shop / cache"] == 13 * Decimal("0.7625")  # 13 odd hours of 26
    assert set(amounts) == {"shop / web", "shop / db", "shop / cache", "shop / batch",
                            "plain / (no CPU requests reported)"}


def test_fleets_and_projects_are_those_of_the_hour_settled(tenant, month):
    usage = Settlement.objects.filter(account=tenant.account)
    # The cluster leaves its fleet; hours settled later are no fleet's.
    RegisteredCluster.objects.filter(pk=month["shop"].pk).update(fleet=None)
    report(month["shop"], at("2026-11-20 00:00"), at("2026-11-20 00:30"), 8, lambda m: {"web": 1})
    services.settle(now=at("2026-11-21 00:00"))
    fleets = {g["label"]: g["amount"] for g in showback.showback(usage, "2026-11", "fleet").groups}
    assert fleets == {"prod": 26 * 8 * LOCAL, "(no fleet)": (3 * 3 + 8) * LOCAL}
    projects = {g["label"]: g["amount"] for g in showback.showback(usage, "2026-11", "project").groups}
    assert projects == {"finance": 27 * 8 * LOCAL, "default": 3 * 3 * LOCAL}
    assert sum(fleets.values()) == services.monthly_bill(usage, "2026-11").total


def rows_of(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_page_shows_the_chart_and_table_and_the_csv_the_same_figures(tenant, month, language):
    client = client_for(tenant.main, language)
    page = client.get(reverse("billing:showback"), {"month": "2026-11", "by": "fleet"})
    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="showback-chart"' in content and 'aria-labelledby="showback-chart-title"' in content
    assert 'id="showback-total">¥{}<'.format(f"{(26 * 8 + 9) * LOCAL:,.4f}") in content
    assert "secret-ns" not in content and "theirs" not in content
    daily = client.get(reverse("billing:showback"), {"month": "2026-11", "by": "cluster", "period": "day"})
    assert 'id="showback-daily"' in daily.content.decode()
    rows = rows_of(client.get(reverse("billing:showback-export"), {"month": "2026-11", "by": "namespace",
                                                                   "period": "day"}))
    body, total = rows[1:-1], rows[-1]
    assert Decimal(total[-1]) == services.monthly_bill(Settlement.objects.filter(account=tenant.account),
                                                       "2026-11").total
    assert sum(Decimal(r[-1]) for r in body) == Decimal(total[-1])
    assert ["2026-11-01", "shop / cache", "shop", "cache", str(12 * Decimal("0.7625"))] in body


def test_one_clusters_showback_and_the_api_twin(tenant, other_tenant, month):
    client = client_for(tenant.main)
    page = client.get(reverse("billing:showback-cluster", args=[month["shop"].pk]), {"month": "2026-11"})
    assert page.status_code == 200 and "plain" not in page.content.decode().split('id="showback-table"')[1]
    api = client.get("/api/v1/billing/showback/", {"month": "2026-11", "by": "project", "period": "day"}).json()
    assert Decimal(api["total"]) == (26 * 8 + 9) * LOCAL
    assert {r["period"] for r in api["rows"]} == {"2026-11-01", "2026-11-02", "2026-11-15"}
    one = client.get(f"/api/v1/billing/showback/{month['shop'].pk}/", {"month": "2026-11"}).json()
    assert Decimal(one["total"]) == 26 * 8 * LOCAL and {r["cluster"] for r in one["rows"]} == {"shop"}
    assert client.get("/api/v1/billing/showback/", {"by": "colour"}).status_code == 400
    # Another tenant's cluster is a missing one.
    assert client_for(other_tenant.main).get(f"/api/v1/billing/showback/{month['shop'].pk}/").status_code == 404
