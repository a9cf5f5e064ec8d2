"""What each persona sees and may do on the federation pages and API (main account, admin,
user, viewer, sub-account without policy, another tenant); the route-by-route matrix is in
tests/iam/test_routes.py. A policy limited to one federation reaches that one only."""
import pytest
from django.urls import reverse

from cceone.audit.models import AuditEvent
from cceone.iam import services as iam
from cceone.iam.models import Policy
from tests.conftest import PERSONAS, client_for
from tests.factories import FederationFactory

pytestmark = pytest.mark.django_db

SEES_LIST = {"main", "admin", "user", "viewer"}
ORDERS = {"main", "admin"}  # ordering and unsubscribing are the order tier (R2: ccseone-user cannot)
CHANGES = {"main", "admin", "user"}


@pytest.fixture
def federation(tenant):
    return FederationFactory(account=tenant.account, name="fed-east", deletion_protection=False)


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_and_overview_per_persona(tenant, federation, persona):
    client = client_for(tenant.persona(persona))
    listing = client.get(reverse("federation:list"))
    if persona not in SEES_LIST:
        assert listing.status_code == 403
        assert AuditEvent.objects.filter(action="federations:list", result="denied",
                                         actor=tenant.persona(persona)).exists()
        assert client.get(reverse("federation:detail", args=[federation.pk])).status_code == 403
        assert client.get("/api/v1/federations/").status_code == 403
        return
    page = listing.content.decode()
    assert "fed-east" in page
    assert ("Create federation" in page) == (persona in ORDERS)
    assert (reverse("federation:unsubscribe", args=[federation.pk]) in page) == (persona in ORDERS)
    detail = client.get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert 'id="deletion-protection"' in detail
    assert ('name="enabled"' in detail) == (persona in CHANGES)  # a usable switch, or a disabled one
    assert [f["name"] for f in client.get("/api/v1/federations/").json()["results"]] == ["fed-east"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_changing_and_unsubscribing_per_persona(tenant, federation, persona):
    client = client_for(tenant.persona(persona))
    switched = client.post(reverse("federation:protection", args=[federation.pk]), {"enabled": "on"})
    federation.refresh_from_db()
    assert (switched.status_code == 302) == (persona in CHANGES)
    assert federation.deletion_protection == (persona in CHANGES)
    page = client.get(reverse("federation:unsubscribe", args=[federation.pk]))
    assert (page.status_code == 200) == (persona in ORDERS)
    api = client.post(f"/api/v1/federations/{federation.pk}/unsubscribe/")
    # Allowed personas reach the checks (protection is now on for those who could switch it).
    assert api.status_code == (400 if persona in ORDERS else 403)


def test_another_tenant_sees_nothing(tenant, other_tenant, federation):
    client = client_for(other_tenant.main)
    for url in (reverse("federation:detail", args=[federation.pk]),
                reverse("federation:unsubscribe", args=[federation.pk]),
                f"/api/v1/federations/{federation.pk}/", f"/api/v1/federations/{federation.pk}/operation-logs/"):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("federation:protection", args=[federation.pk])).status_code == 404
    assert client.post(f"/api/v1/federations/{federation.pk}/unsubscribe/").status_code == 404
    assert "fed-east" not in client.get(reverse("federation:list")).content.decode()
    assert client.get("/api/v1/federations/").json()["results"] == []
    federation.refresh_from_db()
    assert not federation.deletion_protection


def test_a_policy_limited_to_one_federation_reaches_that_one_only(tenant, federation):
    hidden = FederationFactory(account=tenant.account, name="fed-hidden")
    policy = iam.save_policy(tenant.main, None, name="one-federation", description="",
                             actions=["federations:list", "federations:get", "federations:update"],
                             scope=Policy.Scope.INSTANCES, instances=[f"federation:{federation.pk}"])
    iam.save_group(tenant.main, None, name="fed-ops", description="", members=[tenant.nopolicy], policies=[policy])
    client = client_for(tenant.nopolicy)
    page = client.get(reverse("federation:list")).content.decode()
    assert "fed-east" in page and "fed-hidden" not in page
    assert client.get(reverse("federation:detail", args=[federation.pk])).status_code == 200
    assert client.get(reverse("federation:detail", args=[hidden.pk])).status_code == 403
    assert client.post(reverse("federation:protection", args=[federation.pk]), {"enabled": "on"}).status_code == 302
    assert client.get(reverse("federation:order")).status_code == 403
