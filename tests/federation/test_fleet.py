"""A fleet joins a federation and leaves it (R4.5, R5.2: a federation takes at most one fleet, a
fleet joins at most one federation); the fleet then cannot be deleted, the federation not
unsubscribed, until it leaves. (Joining the fleet's clusters as Karmada members is item 4.)"""
import pytest
from django.urls import reverse

from cceone.audit.models import AuditEvent
from federation.models import Federation
from fleets import services as fleet_services
from tests.conftest import client_for
from tests.factories import FederationFactory, FleetFactory

pytestmark = pytest.mark.django_db


def test_a_fleet_joins_and_leaves_from_the_overview(tenant):
    federation = FederationFactory(account=tenant.account, name="fed-east", deletion_protection=False)
    fleet = FleetFactory(account=tenant.account, name="fleet-east")
    client = client_for(tenant.user)  # ccseone-user: changes federations and fleets
    page = client.get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert 'id="fleet-join"' in page and "fleet-east" in page
    response = client.post(reverse("federation:fleet", args=[federation.pk]), {"fleet": fleet.pk}, follow=True)
    assert "Fleet fleet-east joined the federation." in response.content.decode()
    federation.refresh_from_db()
    assert federation.fleet == fleet
    assert AuditEvent.objects.filter(action="federations:update", details__fleet="fleet-east").exists()
    # The fleet cannot be deleted while in the federation, nor the federation unsubscribed.
    assert [passed for _l, passed, _m in fleet_services.delete_checks(fleet)][1] is False
    unsubscribe = client_for(tenant.main).get(reverse("federation:unsubscribe", args=[federation.pk])).content.decode()
    assert "Remove fleet fleet-east from the federation first." in unsubscribe
    response = client.post(reverse("federation:fleet", args=[federation.pk]), {"fleet": ""}, follow=True)
    assert "The fleet left the federation." in response.content.decode()
    federation.refresh_from_db()
    assert federation.fleet is None
    unsubscribe = client_for(tenant.main).get(reverse("federation:unsubscribe", args=[federation.pk])).content.decode()
    assert "Failed" not in unsubscribe


def test_one_fleet_per_federation_and_one_federation_per_fleet(tenant, other_tenant):
    first = FederationFactory(account=tenant.account, name="fed-one")
    second = FederationFactory(account=tenant.account, name="fed-two")
    fleet, another = FleetFactory(account=tenant.account, name="fleet-a"), FleetFactory(account=tenant.account)
    theirs = FleetFactory(account=other_tenant.account, name="their-fleet")
    client = client_for(tenant.main)
    assert client.post(f"/api/v1/federations/{first.pk}/fleet/", {"fleet": fleet.pk},
                       content_type="application/json").json()["fleet"] == fleet.pk
    taken = client.post(f"/api/v1/federations/{second.pk}/fleet/", {"fleet": fleet.pk},
                        content_type="application/json")
    assert taken.status_code == 400
    assert "Fleet fleet-a is already in a federation: a fleet joins at most one." in str(taken.json())
    full = client.post(f"/api/v1/federations/{first.pk}/fleet/", {"fleet": another.pk},
                       content_type="application/json")
    assert full.status_code == 400 and "a federation takes at most one" in str(full.json())
    foreign = client.post(f"/api/v1/federations/{second.pk}/fleet/", {"fleet": theirs.pk},
                          content_type="application/json")
    assert foreign.status_code == 400 and "Choose one of your fleets." in str(foreign.json())
    assert dict(Federation.objects.values_list("name", "fleet")) == {"fed-one": fleet.pk, "fed-two": None}


def test_a_viewer_cannot_change_the_fleet(tenant):
    federation = FederationFactory(account=tenant.account)
    fleet = FleetFactory(account=tenant.account)
    client = client_for(tenant.viewer)
    assert 'id="fleet-join"' not in client.get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert client.post(reverse("federation:fleet", args=[federation.pk]), {"fleet": fleet.pk}).status_code == 403
    federation.refresh_from_db()
    assert federation.fleet is None


def test_a_fleet_joins_and_leaves_a_federation_from_the_fleet_page(tenant, other_tenant):
    federation = FederationFactory(account=tenant.account, name="fed-east")
    FederationFactory(account=other_tenant.account, name="fed-theirs")
    fleet = FleetFactory(account=tenant.account, name="fleet-east")
    client = client_for(tenant.user)
    page = client.get(reverse("fleets:detail", args=[fleet.pk])).content.decode()
    assert 'id="fleet-join-federation"' in page and "fed-east" in page and "fed-theirs" not in page
    response = client.post(reverse("federation:join-fleet", args=[fleet.pk]), {"federation": federation.pk},
                           follow=True)
    assert "Fleet fleet-east joined the federation." in response.content.decode()
    assert Federation.objects.get(pk=federation.pk).fleet == fleet
    page = client.get(reverse("fleets:detail", args=[fleet.pk])).content.decode()
    assert 'id="fleet-leave-federation"' in page
    # A reader sees the federation, not the buttons.
    viewer = client_for(tenant.viewer).get(reverse("fleets:detail", args=[fleet.pk])).content.decode()
    assert "fed-east" in viewer and 'id="fleet-leave-federation"' not in viewer
    response = client.post(reverse("federation:leave-fleet", args=[fleet.pk]), follow=True)
    assert "The fleet left the federation." in response.content.decode()
    assert Federation.objects.get(pk=federation.pk).fleet is None


def test_joining_another_tenants_federation_from_the_fleet_page_is_a_404(tenant, other_tenant):
    theirs = FederationFactory(account=other_tenant.account, name="fed-theirs")
    fleet = FleetFactory(account=tenant.account, name="fleet-east")
    response = client_for(tenant.main).post(reverse("federation:join-fleet", args=[fleet.pk]),
                                            {"federation": theirs.pk})
    assert response.status_code == 404
    assert Federation.objects.get(pk=theirs.pk).fleet is None
