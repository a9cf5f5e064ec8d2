"""Billing pages (R7.4): balance with top-up history, ledger, usage records with filters and
CSV export, monthly bills by instance and by type. `billing:list` is a read-tier action:
every persona with a policy sees billing, a sub-account without one does not; another
tenant's money is never shown."""
import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.models import Settlement
from tests.billing.conftest import at, fund, running_cluster
from tests.conftest import PERSONAS, client_for

def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


PAGES = ["billing:overview", "billing:ledger", "billing:usage", "billing:usage-export", "billing:bills"]


@pytest.fixture
def billed(tenant, other_tenant, operator):
    """November 2026: two clusters of the tenant, one of the other tenant ("secret-…")."""
    fund(operator, tenant.account, 100, reference="receipt-acme-1")
    fund(operator, other_tenant.account, 777, reference="receipt-secret-9")
    running_cluster(tenant.account, name="edge-local", since=at("2026-11-27 10:00"), until=at("2026-11-27 12:30"),
                    vcpu=8)
    running_cluster(tenant.account, name="edge-cloud", cluster_type="cloud", connection_mode="agent",
                    since=at("2026-11-27 11:00"), until=at("2026-11-27 11:20"), vcpu=4)
    running_cluster(other_tenant.account, name="secret-cluster", since=at("2026-11-27 10:00"),
                    until=at("2026-11-27 10:30"), vcpu=64)
    services.settle(now=at("2026-11-27 14:00"))
    return tenant


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_persona_with_a_policy_sees_billing(billed, persona):
    client = client_for(billed.persona(persona))
    expected = 403 if persona == "nopolicy" else 200
    assert {page: client.get(reverse(page), {"month": "2026-11"}).status_code for page in PAGES} == {
        page: expected for page in PAGES}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_navigation_shows_billing_to_those_who_may_open_it(billed, persona):
    content = client_for(billed.persona(persona)).get(reverse("console:overview")).content.decode()
    assert (reverse("billing:overview") in content) is (persona != "nopolicy")


@pytest.mark.parametrize("page", PAGES)
def test_pages_never_show_the_other_tenant(billed, page):
    content = body(client_for(billed.viewer).get(reverse(page), {"month": "2026-11", "hours": "all"}))
    for secret in ("secret-cluster", "receipt-secret-9", "777"):
        assert secret not in content


def test_the_balance_page_shows_balance_charges_and_top_ups(billed):
    content = client_for(billed.viewer).get(reverse("billing:overview")).content.decode()
    # 100 - 3 × 1.3344 (local, 8 vCPU, 10:00-12:30) - 0.2224 (cloud, 4 vCPU) = 95.7744
    assert services.balance(billed.account) == Decimal("95.7744")
    assert 'id="balance">¥95.77<' in content
    assert "receipt-acme-1" in content and "Top-up history" in content
    assert 'id="hourly-charge">¥1.56<' in content  # 8 × 0.1668 + 4 × 0.0556 = 1.5568 at today's facts
    assert 'id="required-balance">¥100.00<' in content


def test_the_balance_page_warns_of_arrears(billed, operator):
    running_cluster(billed.account, name="huge", since=at("2026-11-27 13:00"), until=at("2026-11-27 13:30"),
                    vcpu=1000)
    services.settle(now=at("2026-11-27 15:00"))
    content = client_for(billed.main).get(reverse("billing:overview")).content.decode()
    assert 'id="arrears-alert"' in content and "every on-demand instance is frozen" in content


def test_every_page_of_a_frozen_account_says_so_and_where_to_top_up(billed, operator, other_tenant):
    running_cluster(billed.account, name="huge", since=at("2026-11-27 13:00"), until=at("2026-11-27 13:30"),
                    vcpu=1000)
    services.settle(now=at("2026-11-27 15:00"))
    for user, language, words in ((billed.viewer, "en", "The account is in arrears since"),
                                  (billed.main, "zh-hans", "账号已于")):
        for name in ("console:overview", "clusters:list", "iam:user-list", "audit:list"):
            response = client_for(user, language).get(reverse(name))
            if response.status_code != 200:
                continue  # a page this persona may not open
            content = response.content.decode()
            assert 'id="arrears-banner"' in content and words in content, (name, language)
            assert f'href="{reverse("billing:overview")}"' in content
    assert 'id="arrears-banner"' not in client_for(other_tenant.main).get(reverse("console:overview")).content.decode()


def test_money_is_shown_one_way_everywhere(billed, operator):
    fund(operator, billed.account, 10000)
    content = client_for(billed.main).get(reverse("billing:overview")).content.decode()
    assert 'id="balance">¥10,095.77<' in content
    assert 'At least ¥100.00, and at least' in content
    assert services.balance(billed.account) > 0
    from billing.money import yuan
    assert (yuan(Decimal("-0.334")), yuan(Decimal("1234567.5")), yuan(Decimal("0.0556"), 4)) == (
        "-¥0.33", "¥1,234,567.50", "¥0.0556")


def test_the_ledger_lists_charges_with_their_usage_and_filters_by_type(billed):
    client = client_for(billed.user)
    content = client.get(reverse("billing:ledger")).content.decode()
    assert "edge-local, hour 2026-11-27 10:00: 8 vCPU × ¥0.1668" in content
    assert "-¥1.3344" in content and "95.7744" in content
    top_ups = client.get(reverse("billing:ledger"), {"kind": "top_up"}).content.decode()
    assert "receipt-acme-1" in top_ups and "settlement:" not in top_ups


def test_usage_records_filter_by_type_name_month_and_billed_hours(billed):
    client = client_for(billed.viewer)
    page = client.get(reverse("billing:usage")).content.decode()
    assert page.count("edge-local") == 3 and page.count("edge-cloud") == 1
    assert "2026-11-27 10:00" in page
    local = client.get(reverse("billing:usage"), {"instance_type": "cloud"}).content.decode()
    assert "edge-local" not in local and "edge-cloud" in local
    assert "edge-cloud" not in client.get(reverse("billing:usage"), {"q": "local"}).content.decode()
    assert "edge-local" not in client.get(reverse("billing:usage"), {"month": "2026-12"}).content.decode()
    # edge-cloud ran 11:00-11:20 only: 11:00 billed; 12:00 and 13:00 are hours not billed
    unbilled = client.get(reverse("billing:usage"), {"hours": "unbilled", "q": "cloud"}).content.decode()
    assert unbilled.count("Not billed") == 2


def test_usage_records_export_as_csv_with_the_same_filters(billed):
    response = client_for(billed.viewer).get(reverse("billing:usage-export"), {"q": "edge-local"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body(response))))
    assert rows[0] == ["Hour (UTC+8)", "Instance type", "Instance", "Instance ID", "vCPU",
                       "Unit price (¥/vCPU/hour)", "Amount (¥)", "Billed"]
    assert [r[0] for r in rows[1:]] == ["2026-11-27 10:00", "2026-11-27 11:00", "2026-11-27 12:00"]
    assert rows[1][1:3] == ["Local cluster", "edge-local"] and rows[1][4:] == ["8.000", "0.1668", "1.3344", "1"]


def test_the_monthly_bill_by_type_and_by_instance_with_the_metering_rule(billed):
    content = client_for(billed.viewer).get(reverse("billing:bills"), {"month": "2026-11"}).content.decode()
    assert 'id="bill-total">¥4.23<' in content  # 4.0032 + 0.2224
    by_type = content.split('id="bill-by-type"')[1].split("</table>")[0]
    assert "Local cluster" in by_type and "4.0032" in by_type and "Cloud cluster" in by_type and "0.2224" in by_type
    by_instance = content.split('id="bill-by-instance"')[1].split("</table>")[0]
    assert "edge-local" in by_instance and "edge-cloud" in by_instance
    rule = content.split('id="metering-rule"')[1]
    assert "largest value observed while the cluster was billable (running or changing) in that hour" in rule
    assert "A disconnected or frozen period is not billed" in rule
    assert "Local cluster 0.1668" in rule


def test_a_month_without_charges_is_an_empty_bill(billed):
    content = client_for(billed.viewer).get(reverse("billing:bills"), {"month": "2025-01"}).content.decode()
    assert 'id="bill-total">¥0.00<' in content and "Nothing was billed this month." in content


def test_a_malformed_month_is_not_found(billed):
    assert client_for(billed.viewer).get(reverse("billing:bills"), {"month": "November"}).status_code == 404


def test_pages_render_in_chinese(billed):
    response = client_for(billed.viewer, "zh-hans").get(reverse("billing:overview"))
    assert response.status_code == 200 and '<html lang="zh-hans">' in response.content.decode()


def test_the_usage_page_is_one_query_per_need(billed, django_assert_max_num_queries):
    client = client_for(billed.viewer)
    Settlement.objects.bulk_create([
        Settlement(account=billed.account, instance_kind="cluster", instance_id=999, instance_name=f"bulk-{i}",
                   instance_type="local", hour_start=at("2026-11-01 00:00").replace(hour=i % 24, day=1 + i // 24),
                   vcpu=1, unit_price=Decimal("0.1668"), amount=Decimal("0.1668")) for i in range(200)])
    with django_assert_max_num_queries(15):
        assert client.get(reverse("billing:usage")).status_code == 200
