"""Unsubscribe (R5.3) with each check on the page, and billing (R7.3, R7.6): the ledger's usage
shows a federation's hours at ¥0, arrears freeze it like a cluster, topping up restores it."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services as billing
from billing.models import Settlement
from cceone.audit.models import AuditEvent, OperationLog
from cceone.iam.models import EnterpriseProject, Region
from clusters.models import SecurityGroup
from federation import services
from federation.models import Federation, FederationStatusChange, KarmadaControlPlane
from tests.billing.conftest import at, fund, running_cluster
from tests.conftest import client_for
from tests.factories import FleetFactory

from .conftest import register_control_plane

pytestmark = pytest.mark.django_db
Status = Federation.Status


@pytest.fixture
def running(orderable, inventory, karmada, django_capture_on_commit_callbacks):
    plane = register_control_plane(karmada)
    order = services.Order(region=Region.default(), name="fed-one",
                           enterprise_project=EnterpriseProject.objects.get(account=orderable.account, name="default"),
                           vpc=inventory["vpc"], subnet=inventory["subnet"],
                           apiserver_spec=inventory["apiserver_spec"], apiserver_eip=True)
    with django_capture_on_commit_callbacks(execute=True):
        federation = services.place_order(orderable.main, order, agreed=True)
    federation.refresh_from_db()
    assert federation.status == Status.RUNNING and federation.control_plane == plane
    return federation


def checks_on_page(client, federation):
    page = client.get(reverse("federation:unsubscribe", args=[federation.pk])).content.decode()
    return page


def test_the_page_lists_each_check_and_refuses_while_one_fails(orderable, running):
    fleet = FleetFactory(account=orderable.account, name="fleet-east")
    Federation.objects.filter(pk=running.pk).update(fleet=fleet)
    client = client_for(orderable.main)
    page = checks_on_page(client, running)
    for label in ("The federation is not being ordered", "Deletion protection is off",
                  "The federation has no member fleet or clusters"):
        assert label in page
    assert "Turn deletion protection off first." in page and "Remove fleet fleet-east from the federation first." in page
    assert 'id="confirm-unsubscribe"' in page and "disabled" in page
    response = client.post(reverse("federation:unsubscribe", args=[running.pk]), {"acknowledged": "on"}, follow=True)
    assert "Turn deletion protection off first." in response.content.decode()
    running.refresh_from_db()
    assert running.status == Status.RUNNING and running.control_plane is not None


def test_a_federation_being_ordered_cannot_be_unsubscribed(orderable, inventory):
    federation = Federation.objects.create(account=orderable.account, name="fed-new", region=Region.default(),
                                           status=Status.CREATING, deletion_protection=False,
                                           provisioner="pre-registered")
    page = checks_on_page(client_for(orderable.main), federation)
    assert "Wait until the order is complete." in page
    with pytest.raises(Exception) as refused:
        services.unsubscribe(orderable.main, federation)
    assert "Wait until the order is complete." in str(refused.value)


def test_unsubscribe_releases_the_control_plane_and_ends_billing(orderable, running, django_capture_on_commit_callbacks):
    client = client_for(orderable.main)
    client.post(reverse("federation:protection", args=[running.pk]), {})  # switched off
    running.refresh_from_db()
    assert not running.deletion_protection
    page = checks_on_page(client, running)
    assert "Failed" not in page
    refused = client.post(reverse("federation:unsubscribe", args=[running.pk]), {}, follow=True).content.decode()
    assert "Confirm that you have read the information above." in refused
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("federation:unsubscribe", args=[running.pk]), {"acknowledged": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("federation:list")
    running.refresh_from_db()
    assert running.status == Status.UNSUBSCRIBED and running.unsubscribed_at is not None
    assert running.control_plane is None and running.eip_address is None
    assert KarmadaControlPlane.objects.filter(federation__isnull=True).count() == 1  # free for another order
    assert not SecurityGroup.objects.filter(auto_created=True).exists()
    steps = list(OperationLog.objects.get(target_type="federation", target_id=str(running.pk),
                                          operation="unsubscribe").steps.values_list("name", flat=True))
    assert steps == ["Unsubscribe accepted", "Release the control plane", "Release access endpoint", "Release EIP",
                     "Delete security group", "Stop billing"]
    assert AuditEvent.objects.filter(action="federations:delete", target_id=str(running.pk)).exists()
    assert "is being unsubscribed" in client.get(reverse("federation:list")).content.decode()  # the message, once
    listing = client.get(reverse("federation:list")).content.decode()
    assert "fed-one" not in listing
    assert "fed-one" in client.get(reverse("federation:list") + "?show_unsubscribed=on").content.decode()
    # Its name is free again; the list's empty state says what to do.
    assert "create one with Create federation" in listing


def test_unsubscribe_over_the_api(orderable, running, django_capture_on_commit_callbacks):
    client = client_for(orderable.main)
    checks = client.get(f"/api/v1/federations/{running.pk}/unsubscribe-checks/").json()
    assert checks["ready"] is False
    assert [c["passed"] for c in checks["checks"]] == [True, False, True]
    refused = client.post(f"/api/v1/federations/{running.pk}/unsubscribe/")
    assert refused.status_code == 400 and "Turn deletion protection off first." in str(refused.json())
    assert client.patch(f"/api/v1/federations/{running.pk}/", {"deletion_protection": False},
                        content_type="application/json").json()["deletion_protection"] is False
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.post(f"/api/v1/federations/{running.pk}/unsubscribe/")
    assert accepted.status_code == 202 and accepted.json()["status"] == "unsubscribing"
    assert client.get(f"/api/v1/federations/{running.pk}/").json()["status"] == "unsubscribed"
    again = client.post(f"/api/v1/federations/{running.pk}/unsubscribe/")
    assert again.status_code == 400 and "already unsubscribed" in str(again.json())


# --- billing --------------------------------------------------------------------------------

def running_federation(account, since):
    federation = Federation.objects.create(account=account, name="fed-billed", region=Region.default(),
                                           status=Status.RUNNING, first_running_at=since, provisioner="pre-registered")
    FederationStatusChange.objects.create(federation=federation, from_status="creating", to_status="running", at=since)
    return federation


def test_the_ledger_shows_a_federations_hours_at_no_charge(tenant, operator):
    federation = running_federation(tenant.account, at("2026-11-27 09:10"))
    fund(operator, tenant.account, 10)
    billing.settle(now=at("2026-11-27 12:00"))
    hours = Settlement.objects.filter(instance_kind="federation", instance_id=federation.pk).order_by("hour_start")
    assert [(timezone.localtime(h.hour_start, at("2026-11-27 00:00").tzinfo).hour, h.billable, h.amount)
            for h in hours] == [(9, True, Decimal("0")), (10, True, Decimal("0")), (11, True, Decimal("0"))]
    assert {h.instance_type for h in hours} == {"federation"}
    assert billing.balance(tenant.account) == Decimal("10")
    usage = client_for(tenant.main).get("/api/v1/billing/usage/").json()["results"]
    assert {(u["instance_name"], u["instance_type"]) for u in usage} == {("fed-billed", "federation")}


def test_arrears_freeze_a_federation_and_a_top_up_restores_it(tenant, operator):
    federation = running_federation(tenant.account, at("2026-11-27 09:00"))
    fund(operator, tenant.account, 1)
    running_cluster(tenant.account, name="busy", since=at("2026-11-27 10:00"), until=at("2026-11-27 10:30"))
    billing.settle(now=at("2026-11-27 11:00"))
    federation.refresh_from_db()
    assert federation.status == Status.FROZEN
    page = client_for(tenant.main).get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert "Frozen" in page and "arrears" in page
    fund(operator, tenant.account, 50)
    federation.refresh_from_db()
    assert federation.status == Status.RUNNING
    reasons = list(FederationStatusChange.objects.filter(federation=federation).values_list("to_status", "reason"))
    assert reasons[-2:] == [("frozen", "arrears"), ("running", "balance restored")]


def test_a_federation_unsubscribed_while_frozen_stays_unsubscribed(tenant, operator):
    federation = running_federation(tenant.account, at("2026-11-27 09:00"))
    fund(operator, tenant.account, 1)
    running_cluster(tenant.account, name="busy", since=at("2026-11-27 10:00"), until=at("2026-11-27 10:30"))
    billing.settle(now=at("2026-11-27 11:00"))
    Federation.objects.filter(pk=federation.pk).update(status=Status.UNSUBSCRIBED,
                                                       unsubscribed_at=timezone.now() - timedelta(minutes=1))
    fund(operator, tenant.account, 50)
    federation.refresh_from_db()
    assert federation.status == Status.UNSUBSCRIBED
