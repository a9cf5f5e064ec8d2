"""An empty page says what to do next (#13 item 19), in English and in Chinese: a region
without clusters offers the other regions, an empty fleet list offers to create one to whoever
may, and a sub-account without any policy is told to ask for one."""
import pytest
from django.urls import reverse

from cceone.iam.models import Region
from tests.conftest import client_for
from tests.factories import ClusterFactory, FleetFactory


def other_region() -> Region:
    return Region.objects.exclude(pk=Region.default().pk).first()


@pytest.mark.parametrize("language, expected", [
    ("en", ["There are no clusters in", "Show all regions", "register one with Register cluster"]),
    ("zh-hans", ["中没有集群", "展示所有资源池", "点击「注册集群」注册一个"]),
])
def test_a_region_without_clusters_offers_the_other_regions(tenant, language, expected):
    ClusterFactory(account=tenant.account, name="far-away", region=other_region())
    client = client_for(tenant.main, language)
    content = client.get(reverse("clusters:list")).content.decode()
    assert "far-away" not in content
    for text in expected:
        assert text in content
    assert f'href="{reverse("clusters:list")}?all_regions=on"' in content
    everywhere = client.get(reverse("clusters:list") + "?all_regions=on").content.decode()
    assert "far-away" in everywhere and 'id="empty-state"' not in everywhere


def test_a_viewer_is_not_told_to_register_a_cluster(tenant):
    content = client_for(tenant.viewer).get(reverse("clusters:list")).content.decode()
    assert "There are no clusters in" in content and "Show all regions" in content
    assert "Register cluster" not in content


def test_a_list_with_clusters_has_no_empty_state(tenant):
    ClusterFactory(account=tenant.account, name="edge-01")
    content = client_for(tenant.main).get(reverse("clusters:list")).content.decode()
    assert "edge-01" in content and 'id="empty-state"' not in content


def test_filters_that_match_nothing_offer_to_clear_them(tenant):
    ClusterFactory(account=tenant.account, name="edge-01")
    content = client_for(tenant.main).get(reverse("clusters:list") + "?q=nothing-like-it").content.decode()
    assert "No clusters match these filters." in content and "Clear filters" in content


@pytest.mark.parametrize("language, expected", [
    ("en", ["There are no fleets yet.", "Create fleet"]),
    ("zh-hans", ["还没有容器舰队。", "创建容器舰队"]),
])
def test_no_fleets_offers_to_create_one(tenant, language, expected):
    content = client_for(tenant.user, language).get(reverse("fleets:list")).content.decode()
    for text in expected:
        assert text in content
    assert f'class="btn btn-sm btn-outline-primary me-2" href="{reverse("fleets:create")}"' in content


@pytest.mark.parametrize("language, expected", [
    ("en", "Ask your administrator to create one"),
    ("zh-hans", "请联系管理员创建容器舰队或为您授权"),
])
def test_a_viewer_without_fleets_is_told_whom_to_ask(tenant, language, expected):
    content = client_for(tenant.viewer, language).get(reverse("fleets:list")).content.decode()
    assert expected in content
    assert reverse("fleets:create") not in content


def test_a_fleet_list_with_fleets_has_no_empty_state(tenant):
    FleetFactory(account=tenant.account, name="fleet-a")
    content = client_for(tenant.main).get(reverse("fleets:list")).content.decode()
    assert "fleet-a" in content and 'id="empty-state"' not in content


@pytest.mark.parametrize("language, expected", [
    ("en", "Ask your administrator"),
    ("zh-hans", "请联系管理员"),
])
def test_a_sub_account_without_a_policy_is_told_to_ask_for_one(tenant, language, expected):
    content = client_for(tenant.nopolicy, language).get(reverse("console:overview")).content.decode()
    assert 'id="no-policy"' in content and expected in content


@pytest.mark.parametrize("persona", ["main", "admin", "viewer"])
def test_users_with_a_policy_see_no_such_notice(tenant, persona):
    content = client_for(tenant.persona(persona)).get(reverse("console:overview")).content.decode()
    assert 'id="no-policy"' not in content
