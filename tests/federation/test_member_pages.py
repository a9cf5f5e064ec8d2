"""The federation's member clusters on its overview and over the API (R5.2): join status with
the reason, network type, changed to retry; only those who may change the federation see the form."""
import pytest
from django.urls import reverse

from cceone.audit.models import AuditEvent
from federation.models import FederationMember
from tests.conftest import client_for
from tests.factories import ClusterFactory, FederationFactory, FleetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(tenant):
    fleet = FleetFactory(account=tenant.account, name="shop")
    federation = FederationFactory(account=tenant.account, name="fed-shop", fleet=fleet)
    cluster = ClusterFactory(account=tenant.account, name="edge-01", fleet=fleet)
    return FederationMember.objects.create(federation=federation, cluster=cluster, name="edge-01", status="failed",
                                           reason="the cluster is disconnected")


def test_the_overview_lists_members_and_a_retry_changes_the_network(tenant, member):
    url = reverse("federation:detail", args=[member.federation.pk])
    page = client_for(tenant.user).get(url).content.decode()
    assert 'id="member-edge-01"' in page and "the cluster is disconnected" in page and ">Retry<" in page
    viewer = client_for(tenant.viewer).get(url).content.decode()
    assert 'id="member-edge-01"' in viewer and ">Retry<" not in viewer  # no form for a reader
    response = client_for(tenant.user).post(
        reverse("federation:member-network", args=[member.federation.pk, member.pk]), {"network": "private"},
        follow=True)
    assert "Member edge-01 is joining again over the Private network." in response.content.decode()
    member.refresh_from_db()
    assert (member.network, member.status, member.reason) == ("private", "joining", "")
    assert AuditEvent.objects.filter(action="federations:update", details__network="private").exists()


def test_a_bad_network_type_changes_nothing(tenant, member):
    response = client_for(tenant.user).post(
        reverse("federation:member-network", args=[member.federation.pk, member.pk]), {"network": "moon"},
        follow=True)
    assert "Choose public or private." in response.content.decode()
    member.refresh_from_db()
    assert (member.network, member.status) == ("public", "failed")
    api = client_for(tenant.user)
    bad = api.post(f"/api/v1/federations/{member.federation.pk}/members/{member.pk}/network/", {"network": "moon"},
                   content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["network"] == ["Choose public or private."]  # the page's rule and words
    member.refresh_from_db()
    assert (member.network, member.status) == ("public", "failed")


def test_the_api_lists_members_and_another_tenant_sees_none(tenant, other_tenant, member):
    listed = client_for(tenant.viewer).get(f"/api/v1/federations/{member.federation.pk}/members/").json()
    assert [(m["name"], m["status"], m["reason"], m["network"]) for m in listed] == [
        ("edge-01", "failed", "the cluster is disconnected", "public")]
    assert client_for(other_tenant.main).get(f"/api/v1/federations/{member.federation.pk}/members/").status_code == 404


def test_the_overview_says_what_to_do_without_members(tenant):
    federation = FederationFactory(account=tenant.account, name="fed-empty")
    page = client_for(tenant.user).get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert "No member clusters: add a fleet above, and its clusters join the federation." in page
