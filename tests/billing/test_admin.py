"""The operators' admin (R8.1): prices (effective-dated), top-ups through the billing
service, a read-only ledger, accounts with balances and the notices outbox."""
from decimal import Decimal

from django.urls import reverse

from billing import services
from billing.models import BillingAccount, LedgerEntry, Notice, Price
from clusters.models import RegisteredCluster
from tests.billing.conftest import at, fund, running_cluster
from tests.conftest import client_for

ADD = reverse("admin:billing_ledgerentry_add")


def test_operators_top_up_in_the_admin(tenant, operator):
    running_cluster(tenant.account, name="edge", since=at("2026-11-27 10:00"), until=at("2026-11-27 10:30"))
    services.settle(now=at("2026-11-27 11:00"))  # no money: frozen
    client = client_for(operator)
    form = client.get(ADD + f"?account={tenant.account.pk}&kind=top_up").content.decode()
    assert 'value="charge"' not in form  # charges only come from settlement
    response = client.post(ADD, {"account": tenant.account.pk, "kind": "top_up", "amount": "200",
                                 "reference": "receipt-0001", "note": "bank transfer"})
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = LedgerEntry.objects.get(reference="receipt-0001")
    assert (entry.kind, entry.amount, entry.actor, entry.actor_name) == ("top_up", Decimal("200"), operator, "operator")
    assert entry.balance_after == Decimal("200") - Decimal("1.3344")
    assert RegisteredCluster.objects.get(name="edge").status == "running"


def test_the_admin_refuses_a_reused_reference_and_a_negative_top_up(tenant, operator):
    fund(operator, tenant.account, 10, reference="receipt-0001")
    client = client_for(operator)
    reused = client.post(ADD, {"account": tenant.account.pk, "kind": "top_up", "amount": "5",
                               "reference": "receipt-0001"})
    assert reused.status_code == 200 and "already holds an entry with this reference" in reused.content.decode()
    negative = client.post(ADD, {"account": tenant.account.pk, "kind": "top_up", "amount": "-5",
                                 "reference": "receipt-0002"})
    assert negative.status_code == 200 and "Enter a positive amount" in negative.content.decode()
    adjustment = client.post(ADD, {"account": tenant.account.pk, "kind": "adjustment", "amount": "-2.5",
                                   "reference": "goodwill-correction"})
    assert adjustment.status_code == 302
    assert services.balance(tenant.account) == Decimal("7.5")


def test_ledger_entries_cannot_be_changed_or_deleted(tenant, operator):
    entry = fund(operator, tenant.account, 10)
    client = client_for(operator)
    change = reverse("admin:billing_ledgerentry_change", args=[entry.pk])
    assert client.post(change, {"amount": "1000000", "reference": "x"}).status_code == 403
    assert client.post(reverse("admin:billing_ledgerentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.amount == Decimal("10")


def test_prices_are_effective_dated_in_the_admin(operator):
    client = client_for(operator)
    listing = client.get(reverse("admin:billing_price_changelist")).content.decode()
    assert "0.1668" in listing and "0.0556" in listing
    response = client.post(reverse("admin:billing_price_add"), {
        "instance_type": "local", "unit_price": "0.2000", "effective_from_0": "2030-01-01", "effective_from_1": "00:00:00"})
    assert response.status_code == 302
    from billing.models import price_in_force

    assert price_in_force("local") == Decimal("0.1668")
    assert price_in_force("local", at("2030-01-01 00:00")) == Decimal("0.2000")
    assert Price.objects.filter(instance_type="local").count() == 2


def test_accounts_with_balances_and_the_notice_language(tenant, operator):
    fund(operator, tenant.account, Decimal("12.5"))
    client = client_for(operator)
    listing = client.get(reverse("admin:billing_billingaccount_changelist")).content.decode()
    assert "acme Ltd." in listing and "12.5000" in listing and "Top up" in listing
    state = BillingAccount.objects.get(account=tenant.account)
    response = client.post(reverse("admin:billing_billingaccount_change", args=[state.pk]), {"notice_language": "en"})
    assert response.status_code == 302
    state.refresh_from_db()
    assert state.notice_language == "en"


def test_the_notices_outbox_and_retrying_failed_notices(tenant, operator, settings,
                                                        django_capture_on_commit_callbacks):
    notice = Notice.objects.create(account=tenant.account, channel="email", kind="arrears", recipient="a@example.com",
                                   language="en", subject="Arrears", body="…", status="failed", attempts=8,
                                   last_error="SMTP down")
    client = client_for(operator)
    listing = client.get(reverse("admin:billing_notice_changelist")).content.decode()
    assert "a@example.com" in listing and "Failed" in listing
    with django_capture_on_commit_callbacks(execute=True):  # the delivery task is sent on commit
        client.post(reverse("admin:billing_notice_changelist"),
                    {"action": "retry_now", "_selected_action": [notice.pk]})
    notice.refresh_from_db()
    assert notice.status == "sent" and notice.attempts == 1  # delivered again by the (eager) task


def test_tenant_users_have_no_admin(tenant):
    response = client_for(tenant.main).get(ADD)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
