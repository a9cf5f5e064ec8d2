"""The ledger (R7.2 of the issue): append-only entries with a reference and an actor,
Decimal amounts whose sum is the balance; only operators add money."""
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from billing import services
from billing.models import LedgerEntry
from cceone.audit.models import AuditEvent
from cceone.iam.models import User
from tests.billing.conftest import fund


def test_a_top_up_records_reference_actor_balance_and_an_audit_event(tenant, operator):
    entry = services.top_up(operator, tenant.account, Decimal("88.80"), " receipt-1 ", note="wire")
    assert (entry.kind, entry.amount, entry.balance_after) == ("top_up", Decimal("88.8"), Decimal("88.8"))
    assert entry.reference == "receipt-1" and entry.actor == operator and entry.actor_name == "operator"
    event = AuditEvent.objects.get(action="billing:topup")
    assert event.account == tenant.account and event.actor == operator
    assert event.details == {"amount": "88.8000", "reference": "receipt-1", "balance": "88.8000"}


def test_amounts_are_exact_decimals(tenant, operator):
    for _ in range(10):
        fund(operator, tenant.account, Decimal("0.1"))
    assert services.balance(tenant.account) == Decimal("1.0000")
    assert isinstance(services.balance(tenant.account), Decimal)


def test_entries_are_append_only(tenant, operator):
    entry = fund(operator, tenant.account, 10)
    entry.amount = Decimal("1000")
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("10")


def test_the_database_refuses_a_charge_that_adds_money(tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(account=tenant.account, kind="charge", amount=Decimal("5"), balance_after=5,
                                   reference="bogus", actor_name="system")


def test_only_operators_record_entries(tenant):
    for user in (tenant.main, tenant.admin):
        with pytest.raises(PermissionDenied):
            services.top_up(user, tenant.account, 100, "self-service")
    staff_without_permission = User.objects.create_user("support", password="x", is_staff=True)
    with pytest.raises(PermissionDenied):
        services.top_up(staff_without_permission, tenant.account, 100, "support-1")
    assert services.balance(tenant.account) == 0


def test_operators_cannot_record_charges_and_adjustments_may_be_negative(tenant, operator):
    with pytest.raises(ValidationError):
        services.record_entry(operator, tenant.account, "charge", Decimal("-5"), "manual-charge")
    with pytest.raises(ValidationError):
        services.record_entry(operator, tenant.account, "refund", Decimal("-5"), "refund-1")
    fund(operator, tenant.account, 10)
    services.record_entry(operator, tenant.account, "adjustment", Decimal("-3.25"), "correction-1", "duplicate pay")
    services.record_entry(operator, tenant.account, "refund", Decimal("1.25"), "refund-1")
    assert services.balance(tenant.account) == Decimal("8")


def test_a_reference_is_unique_per_account(tenant, other_tenant, operator):
    fund(operator, tenant.account, 10, reference="receipt-1")
    fund(operator, other_tenant.account, 10, reference="receipt-1")  # another account may use it
    with pytest.raises(ValidationError):
        fund(operator, tenant.account, 10, reference="receipt-1")
    assert services.balance(tenant.account) == Decimal("10")
