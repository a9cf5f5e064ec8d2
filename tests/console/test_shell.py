"""The console shell: sign-in and its throttling, navigation, region, health check."""
import pytest
from django.test import Client
from django.urls import reverse

from cceone.iam.models import Region
from tests.conftest import PASSWORD, client_for


def test_sign_in_and_out(tenant):
    client = Client()
    response = client.post(reverse("login"), {"username": "acme", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("console:overview")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("console:overview")).status_code == 302


def test_repeated_failed_sign_ins_lock_the_user_out(tenant, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "acme", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "acme", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


def test_sessions_expire(settings):
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_healthz(db):
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize("persona, visible, hidden", [
    ("main", ["Sub-accounts", "Audit log", "Real-name verification"], []),
    ("admin", ["Sub-accounts", "Policies", "Audit log"], ["Real-name verification"]),
    ("viewer", ["Audit log"], ["Sub-accounts", "Policies", "Service delegation"]),
    ("nopolicy", ["Overview"], ["Audit log", "Sub-accounts"]),
])
def test_navigation_shows_only_pages_the_user_can_open(tenant, persona, visible, hidden):
    nav = client_for(tenant.persona(persona)).get(reverse("console:overview")).content.decode()
    nav = nav.split('class="console-sidebar"')[1].split("</nav>")[0]
    for label in visible:
        assert label in nav
    for label in hidden:
        assert label not in nav


def test_region_choice_persists_for_the_user(tenant):
    north = Region.objects.get(code="cn-north-2")
    client = client_for(tenant.user)
    response = client.post(reverse("console:set-region"), {"region": "cn-north-2", "next": "/audit/"})
    assert response.status_code == 302 and response.url == "/audit/"
    tenant.user.refresh_from_db()
    assert tenant.user.current_region == north
    page = client_for(tenant.user).get(reverse("console:overview")).content.decode()
    assert '<option value="cn-north-2" selected>' in page


def test_region_redirect_stays_on_the_site(tenant):
    response = client_for(tenant.user).post(reverse("console:set-region"),
                                            {"region": "cn-east-1", "next": "https://evil.example/"})
    assert response.url == "/"


def test_overview_counts_clusters_by_type_and_region(tenant, other_tenant):
    from tests.factories import ClusterFactory

    ClusterFactory.create_batch(2, account=tenant.account)
    ClusterFactory(account=tenant.account, cluster_type="cloud", region=Region.objects.get(code="cn-south-1"))
    ClusterFactory.create_batch(5, account=other_tenant.account)
    page = client_for(tenant.viewer).get(reverse("console:overview")).content.decode()
    assert 'id="instance-total">3<' in page
    # The charts' tables: 2 local and 1 cloud cluster; 2 in the default region, 1 in cn-south-1.
    types = page.split('id="chart-types"')[1].split("</tbody>")[0]
    assert '<th scope="row">Local cluster</th><td class="text-end num">2</td>' in types
    assert '<th scope="row">Cloud cluster</th><td class="text-end num">1</td>' in types
    south = Region.objects.get(code="cn-south-1").name
    regions = page.split('id="chart-regions"')[1].split("</tbody>")[0]
    assert f'<th scope="row">{south}</th><td class="text-end num">1</td><td class="text-end num">0</td>' in regions
