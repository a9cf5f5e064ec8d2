"""Billing API: the same read permission as the pages (`billing:list`), tenants isolated,
and the operators' endpoints reserved to staff outside every tenant."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from billing import services
from billing.models import LedgerEntry, Settlement
from cceone.iam.models import APIToken, User
from clusters.models import RegisteredCluster
from tests.billing.conftest import at, fund, running_cluster
from tests.conftest import PERSONAS, client_for

TENANT_ENDPOINTS = ["/api/v1/billing/balance/", "/api/v1/billing/ledger/", "/api/v1/billing/usage/",
                    "/api/v1/billing/bills/", "/api/v1/billing/bills/2026-11/"]


@pytest.fixture
def billed(tenant, other_tenant, operator):
    fund(operator, tenant.account, 100, reference="receipt-acme-1")
    fund(operator, other_tenant.account, 500, reference="receipt-secret-9")
    running_cluster(tenant.account, name="edge-local", since=at("2026-11-27 10:00"), until=at("2026-11-27 11:30"))
    running_cluster(other_tenant.account, name="secret-cluster", since=at("2026-11-27 10:00"),
                    until=at("2026-11-27 10:30"), vcpu=64)
    services.settle(now=at("2026-11-27 12:00"))
    return tenant


def json(response):
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("persona", PERSONAS)
def test_billing_endpoints_follow_the_same_policies_as_the_pages(billed, persona):
    token, key = APIToken.issue(billed.persona(persona), "script")
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    expected = 403 if persona == "nopolicy" else 200
    assert {url: client.get(url).status_code for url in TENANT_ENDPOINTS} == {url: expected for url in TENANT_ENDPOINTS}


def test_tenant_endpoints_are_read_only(billed):
    client = client_for(billed.main)
    assert client.post("/api/v1/billing/ledger/", {"kind": "top_up", "amount": "1000"},
                       content_type="application/json").status_code == 405
    entry = LedgerEntry.objects.filter(account=billed.account).first()
    assert client.delete(f"/api/v1/billing/ledger/{entry.pk}/").status_code == 405
    assert services.balance(billed.account) == Decimal("100") - 2 * Decimal("1.3344")


def test_the_balance_endpoint(billed):
    data = json(client_for(billed.viewer).get("/api/v1/billing/balance/"))
    assert data == {"balance": "97.3312", "hourly_charge": "1.3344", "required_to_order": "100.0000",
                    "frozen_since": None, "low_balance": False, "hours_covered": "72.9"}


def test_ledger_and_usage_lists_hold_only_the_callers_account(billed):
    client = client_for(billed.viewer)
    ledger = json(client.get("/api/v1/billing/ledger/"))["results"]
    assert [e["kind"] for e in ledger] == ["charge", "charge", "top_up"]
    assert ledger[-1]["reference"] == "receipt-acme-1" and ledger[-1]["actor"] == "operator"
    charge = ledger[0]
    assert charge["amount"] == "-1.3344" and charge["actor"] == "system"
    usage = json(client.get(f"/api/v1/billing/usage/{charge['usage_record']}/"))
    assert usage["instance_name"] == "edge-local" and usage["vcpu"] == "8.000" and usage["billed"] is True
    records = json(client.get("/api/v1/billing/usage/"))["results"]
    assert {r["instance_name"] for r in records} == {"edge-local"}
    assert "secret" not in str(ledger) + str(records)


def test_usage_filters_work_through_the_api(billed):
    client = client_for(billed.viewer)
    assert json(client.get("/api/v1/billing/usage/", {"month": "2026-12"}))["count"] == 0
    assert json(client.get("/api/v1/billing/usage/", {"instance_type": "local"}))["count"] == 2
    assert json(client.get("/api/v1/billing/ledger/", {"kind": "top_up"}))["count"] == 1


def test_guessed_ids_of_the_other_tenant_are_not_found(billed, other_tenant):
    client = client_for(billed.main)
    foreign_entry = LedgerEntry.objects.filter(account=other_tenant.account).first()
    foreign_usage = Settlement.objects.filter(account=other_tenant.account).first()
    assert client.get(f"/api/v1/billing/ledger/{foreign_entry.pk}/").status_code == 404
    assert client.get(f"/api/v1/billing/usage/{foreign_usage.pk}/").status_code == 404


def test_the_monthly_bill_by_type_and_instance(billed):
    client = client_for(billed.viewer)
    assert json(client.get("/api/v1/billing/bills/")) == [{"month": "2026-11", "total": "2.6688", "hours": 2}]
    bill = json(client.get("/api/v1/billing/bills/2026-11/"))
    assert bill["total"] == "2.6688" and bill["vcpu_hours"] == "16.000"
    assert bill["by_type"] == [{"instance_type": "local", "label": "Local cluster", "hours": 2,
                                "vcpu_hours": "16.000", "amount": "2.6688"}]
    assert [(i["instance_name"], i["amount"]) for i in bill["by_instance"]] == [("edge-local", "2.6688")]
    assert client.get("/api/v1/billing/bills/2026-13/").status_code == 404


# --- operators ------------------------------------------------------------------------------

def test_operators_top_up_through_the_api_and_it_unfreezes(tenant, operator):
    running_cluster(tenant.account, name="edge", since=at("2026-11-27 10:00"), until=at("2026-11-27 10:30"))
    services.settle(now=at("2026-11-27 11:00"))
    assert RegisteredCluster.objects.get(name="edge").status == "frozen"
    client = client_for(operator)
    response = client.post("/api/v1/billing/operator/top-ups/", {
        "account": tenant.account.pk, "amount": "50.00", "reference": "bank-2026-001", "note": "wire transfer"},
        content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["balance_after"] == "48.6656" and response.json()["actor"] == "operator"
    assert RegisteredCluster.objects.get(name="edge").status == "running"
    entry = LedgerEntry.objects.get(reference="bank-2026-001")
    assert entry.actor == operator and entry.kind == "top_up" and entry.note == "wire transfer"
    listed = json(client.get("/api/v1/billing/operator/top-ups/"))["results"]
    assert [e["reference"] for e in listed] == ["bank-2026-001"]
    accounts = json(client.get("/api/v1/billing/operator/accounts/"))["results"]
    assert {a["name"]: a["balance"] for a in accounts}["acme Ltd."] == "48.6656"


def test_a_top_up_reference_is_used_once_per_account(tenant, operator):
    client = client_for(operator)
    payload = {"account": tenant.account.pk, "amount": "10", "reference": "bank-1"}
    assert client.post("/api/v1/billing/operator/top-ups/", payload, content_type="application/json").status_code == 201
    again = client.post("/api/v1/billing/operator/top-ups/", payload, content_type="application/json")
    assert again.status_code == 400 and "already holds an entry with this reference" in again.content.decode()
    assert services.balance(tenant.account) == Decimal("10")


@pytest.mark.parametrize("amount", ["0", "-5", "abc"])
def test_a_top_up_must_be_a_positive_amount(tenant, operator, amount):
    response = client_for(operator).post("/api/v1/billing/operator/top-ups/", {
        "account": tenant.account.pk, "amount": amount, "reference": "r"}, content_type="application/json")
    assert response.status_code == 400
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_tenant_users_cannot_use_the_operator_api(tenant, persona):
    client = client_for(tenant.persona(persona))
    assert client.get("/api/v1/billing/operator/top-ups/").status_code == 403
    assert client.get("/api/v1/billing/operator/accounts/").status_code == 403
    response = client.post("/api/v1/billing/operator/top-ups/", {
        "account": tenant.account.pk, "amount": "1000", "reference": "self-service"}, content_type="application/json")
    assert response.status_code == 403
    assert services.balance(tenant.account) == 0


def test_staff_need_the_billing_permissions(tenant):
    staff = User.objects.create_user("support", password="Correct-Horse-42", is_staff=True)
    client = client_for(staff)
    assert client.get("/api/v1/billing/operator/top-ups/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_ledgerentry"))
    client = client_for(User.objects.get(pk=staff.pk))
    assert client.get("/api/v1/billing/operator/top-ups/").status_code == 200
    assert client.post("/api/v1/billing/operator/top-ups/", {
        "account": tenant.account.pk, "amount": "5", "reference": "x"}, content_type="application/json").status_code == 403


def test_anonymous_callers_are_refused(db):
    for url in [*TENANT_ENDPOINTS, "/api/v1/billing/operator/top-ups/"]:
        assert Client().get(url).status_code in (401, 403)


def test_the_schema_documents_every_billing_endpoint_without_warnings(tenant):
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = [m for m in [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache] if "billing" in m.lower()
                or any(name in m for name in ("Balance", "LedgerEntry", "UsageRecord", "Bill", "Operator"))]
    assert problems == []
    for path in ["/api/v1/billing/balance/", "/api/v1/billing/ledger/{id}/", "/api/v1/billing/usage/",
                 "/api/v1/billing/bills/{month}/", "/api/v1/billing/operator/top-ups/",
                 "/api/v1/billing/operator/accounts/"]:
        assert path in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/billing/operator/top-ups/"]
