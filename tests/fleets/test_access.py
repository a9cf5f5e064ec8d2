"""Who may open each fleet and permission page and call each endpoint (the persona matrix),
and two tenants: nothing of one is visible or reachable to the other — lists, details and
guessed ids alike, on pages and in the API."""
import pytest
from django.urls import reverse

from fleets.models import Fleet
from permissions import services
from permissions.models import CustomPermission, PermissionBinding
from tests.conftest import PERSONAS, client_for
from tests.factories import ClusterFactory, FleetFactory

READERS = {"main", "admin", "user", "viewer"}
WRITERS = {"main", "admin", "user"}


@pytest.fixture
def world(tenant):
    """A fleet with a member, a free cluster, a custom permission and two associations."""
    fleet = FleetFactory(account=tenant.account, name="fleet-one")
    member = ClusterFactory(account=tenant.account, name="member-one", fleet=fleet)
    free = ClusterFactory(account=tenant.account, name="free-one")
    permission = services.save_permission(tenant.main, None, name="cm-reader",
                                          rules=[{"verbs": ["get"], "resources": ["configmaps"]}])
    on_fleet = services.associate(tenant.main, fleet, user=tenant.viewer, preset="developer")
    on_cluster = services.associate(tenant.main, free, user=tenant.viewer, permission=permission)
    return {"fleet": fleet, "member": member, "free": free, "permission": permission, "on_fleet": on_fleet,
            "on_cluster": on_cluster}


def pages(world):
    """(url, who may open it, status for the others that may see the object)."""
    f, p, b, c = world["fleet"].pk, world["permission"].pk, world["on_fleet"].pk, world["free"].pk
    return {
        "fleets-list": (reverse("fleets:list"), READERS),
        "fleets-create": (reverse("fleets:create"), WRITERS),
        "fleet-detail": (reverse("fleets:detail", args=[f]), READERS),
        "fleet-edit": (reverse("fleets:edit", args=[f]), WRITERS),
        "fleet-add": (reverse("fleets:add-clusters", args=[f]), WRITERS),
        "fleet-delete": (reverse("fleets:delete", args=[f]), WRITERS),
        "fleet-permissions": (reverse("fleets:permissions", args=[f]), READERS),
        "permissions-list": (reverse("permissions:list"), READERS),
        "permission-create": (reverse("permissions:create"), WRITERS),
        "permission-edit": (reverse("permissions:edit", args=[p]), WRITERS),
        "permission-delete": (reverse("permissions:delete", args=[p]), WRITERS),
        "associations": (reverse("permissions:associations"), READERS),
        "associate": (reverse("permissions:associate"), WRITERS),
        "association-edit": (reverse("permissions:association-edit", args=[b]), WRITERS),
        "association-delete": (reverse("permissions:association-delete", args=[b]), WRITERS),
        "cluster-permissions": (reverse("permissions:cluster", args=[c]), READERS),
        "sync": (reverse("permissions:sync"), READERS),
    }


PAGE_KEYS = ["fleets-list", "fleets-create", "fleet-detail", "fleet-edit", "fleet-add", "fleet-delete",
             "fleet-permissions", "permissions-list", "permission-create", "permission-edit", "permission-delete",
             "associations", "associate", "association-edit", "association-delete", "cluster-permissions", "sync"]

@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", PAGE_KEYS)
def test_pages_follow_the_iam_policies(tenant, world, persona, page):
    url, allowed = pages(world)[page]
    response = client_for(tenant.persona(persona)).get(url)
    if persona in allowed:
        assert response.status_code == 200
    else:  # objects of one's own account are forbidden (and audited), not hidden
        assert response.status_code == 403
        assert "You do not have permission" in response.content.decode()


# A sub-account whose one policy, `fleets:*`, is limited to fleet-one: its pages open, and
# nothing that is about "some fleet" (creating one) or about the account (permissions).
FLEET_SCOPED_OPENS = {"fleets-list", "fleet-detail", "fleet-edit", "fleet-add", "fleet-delete"}


@pytest.mark.parametrize("page", PAGE_KEYS)
def test_pages_for_a_policy_limited_to_one_fleet(tenant, world, page):
    from cceone.iam import services as iam_services
    from cceone.iam.models import Policy

    other = FleetFactory(account=tenant.account, name="fleet-two")
    policy = iam_services.save_policy(tenant.main, None, name="fleet-one-ops", description="",
                                      actions=["fleets:*"], scope=Policy.Scope.INSTANCES,
                                      instances=[f"fleet:{world['fleet'].pk}"])
    iam_services.save_group(tenant.main, None, name="fleet-one-ops", description="", members=[tenant.nopolicy],
                            policies=[policy])
    client = client_for(tenant.nopolicy)
    url, _allowed = pages(world)[page]
    assert client.get(url).status_code == (200 if page in FLEET_SCOPED_OPENS else 403)
    if page == "fleets-list":
        assert "fleet-two" not in client.get(url).content.decode()
    assert client.get(reverse("fleets:detail", args=[other.pk])).status_code == 403


@pytest.mark.parametrize("persona", PERSONAS)
def test_navigation_shows_the_pages_to_those_who_may_open_them(tenant, persona):
    content = client_for(tenant.persona(persona)).get(reverse("console:overview")).content.decode()
    assert (reverse("fleets:list") in content) is (persona in READERS)
    assert (reverse("permissions:list") in content) is (persona in READERS)


@pytest.mark.parametrize("persona", PERSONAS)
def test_writes_follow_the_iam_policies(tenant, world, persona):
    user = tenant.persona(persona)
    client = client_for(user)
    fleet, free = world["fleet"], world["free"]
    created = client.post(reverse("fleets:create"), {"name": f"f-{persona}", "enterprise_project":
                                                     fleet.enterprise_project_id})
    removed = client.post(reverse("fleets:remove-cluster", args=[fleet.pk, world["member"].pk]))
    associated = client.post(reverse("permissions:cluster", args=[free.pk]), {
        "user": tenant.user.pk, "scope": "all", "permission": "preset:restricted"})
    retried = client.post(reverse("permissions:sync-retry", args=[free.pk]))
    writer = persona in WRITERS
    assert Fleet.objects.filter(name=f"f-{persona}").exists() is writer
    world["member"].refresh_from_db()
    assert (world["member"].fleet_id is None) is writer
    assert PermissionBinding.objects.filter(cluster=free, user=tenant.user).exists() is writer
    for response in (removed, associated, retried):
        assert response.status_code == (302 if writer else 403)
    assert created.status_code == (302 if writer else 403)


API = {
    "fleets": "/api/v1/fleets/",
    "permissions": "/api/v1/permissions/",
    "presets": "/api/v1/permissions/presets/",
    "associations": "/api/v1/permission-associations/",
    "sync": "/api/v1/permission-sync/",
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", list(API))
def test_api_lists_follow_the_iam_policies(tenant, world, persona, endpoint):
    response = client_for(tenant.persona(persona)).get(API[endpoint])
    assert response.status_code == (200 if persona in READERS else 403)


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_writes_follow_the_iam_policies(tenant, world, persona):
    client = client_for(tenant.persona(persona))
    fleet = client.post("/api/v1/fleets/", {"name": f"api-{persona}"}, content_type="application/json")
    permission = client.post("/api/v1/permissions/", {"name": f"p-{persona}", "rules": [
        {"verbs": ["get"], "resources": ["pods"]}]}, content_type="application/json")
    association = client.post("/api/v1/permission-associations/", {
        "cluster": world["free"].pk, "user": tenant.user.pk, "preset": "restricted"},
        content_type="application/json")
    retry = client.post(f"/api/v1/permission-sync/{world['free'].pk}/retry/")
    patch = client.patch(f"/api/v1/fleets/{world['fleet'].pk}/", {"description": persona},
                         content_type="application/json")
    writer = persona in WRITERS
    assert fleet.status_code == (201 if writer else 403)
    assert permission.status_code == (201 if writer else 403)
    assert association.status_code == (201 if writer else 403)
    assert retry.status_code == (202 if writer else 403)
    assert patch.status_code == (200 if writer else 403)
    assert CustomPermission.objects.filter(name=f"p-{persona}").exists() is writer


# --- two tenants ---------------------------------------------------------------------------------

@pytest.fixture
def foreign(other_tenant):
    """The other tenant's objects, named so that a leak is visible."""
    fleet = FleetFactory(account=other_tenant.account, name="secret-fleet")
    cluster = ClusterFactory(account=other_tenant.account, name="secret-cluster", fleet=fleet)
    permission = services.save_permission(other_tenant.main, None, name="secret-permission",
                                          rules=[{"verbs": ["*"], "resources": "*"}])
    binding = services.associate(other_tenant.main, fleet, user=other_tenant.viewer, permission=permission)
    return {"fleet": fleet, "cluster": cluster, "permission": permission, "binding": binding,
            "user": other_tenant.viewer}


SECRETS = ("secret-fleet", "secret-cluster", "secret-permission", "globex-viewer")


@pytest.mark.parametrize("page", ["fleets:list", "fleets:create", "permissions:list", "permissions:associations",
                                  "permissions:associate", "permissions:sync", "permissions:create"])
def test_lists_and_forms_never_show_the_other_tenant(tenant, world, foreign, page):
    response = client_for(tenant.main).get(reverse(page) + "?all_regions=on")
    assert response.status_code == 200
    content = response.content.decode()
    for name in SECRETS:
        assert name not in content


@pytest.mark.parametrize("endpoint", list(API))
def test_api_lists_never_show_the_other_tenant(tenant, world, foreign, endpoint):
    content = client_for(tenant.main).get(API[endpoint]).content.decode()
    for name in SECRETS:
        assert name not in content


@pytest.mark.parametrize("url_name, key", [
    ("fleets:detail", "fleet"), ("fleets:edit", "fleet"), ("fleets:add-clusters", "fleet"),
    ("fleets:delete", "fleet"), ("fleets:permissions", "fleet"), ("permissions:edit", "permission"),
    ("permissions:delete", "permission"), ("permissions:association-edit", "binding"),
    ("permissions:association-delete", "binding"), ("permissions:cluster", "cluster"),
])
def test_guessed_ids_of_the_other_tenant_are_not_found(tenant, foreign, url_name, key):
    client = client_for(tenant.main)
    url = reverse(url_name, args=[foreign[key].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "hijacked", "user": tenant.user.pk, "scope": "all",
                             "permission": "preset:admin"}).status_code == 404
    assert Fleet.objects.filter(pk=foreign["fleet"].pk, name="secret-fleet").exists()
    assert CustomPermission.objects.filter(pk=foreign["permission"].pk).exists()
    assert PermissionBinding.objects.filter(pk=foreign["binding"].pk).exists()
    assert not PermissionBinding.objects.filter(user=tenant.user).exists()


def test_guessed_ids_in_actions_of_the_other_tenant_are_not_found(tenant, foreign):
    client = client_for(tenant.main)
    mine = FleetFactory(account=tenant.account)
    assert client.post(reverse("fleets:remove-cluster", args=[foreign["fleet"].pk, foreign["cluster"].pk])
                       ).status_code == 404
    assert client.post(reverse("fleets:remove-cluster", args=[mine.pk, foreign["cluster"].pk])).status_code == 404
    assert client.post(reverse("permissions:sync-retry", args=[foreign["cluster"].pk])).status_code == 404
    foreign["cluster"].refresh_from_db()
    assert foreign["cluster"].fleet_id == foreign["fleet"].pk


@pytest.mark.parametrize("prefix, key", [
    ("/api/v1/fleets/", "fleet"), ("/api/v1/permissions/", "permission"),
    ("/api/v1/permission-associations/", "binding"), ("/api/v1/permission-sync/", "cluster"),
])
def test_api_details_of_the_other_tenant_are_not_found(tenant, foreign, prefix, key):
    client = client_for(tenant.main)
    url = f"{prefix}{foreign[key].pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "hijacked", "description": "x"},
                        content_type="application/json").status_code in (404, 405)
    assert client.delete(url).status_code in (404, 405)
    assert type(foreign[key]).objects.filter(pk=foreign[key].pk).exists()


def test_the_api_cannot_name_the_other_tenants_objects(tenant, world, foreign):
    client = client_for(tenant.main)
    responses = [
        client.post("/api/v1/fleets/", {"name": "grab", "clusters": [foreign["cluster"].pk]},
                    content_type="application/json"),
        client.post(f"/api/v1/fleets/{world['fleet'].pk}/add-clusters/", {"clusters": [foreign["cluster"].pk]},
                    content_type="application/json"),
        client.post("/api/v1/permission-associations/", {"fleet": foreign["fleet"].pk, "user": tenant.user.pk,
                                                         "preset": "admin"}, content_type="application/json"),
        client.post("/api/v1/permission-associations/", {"cluster": world["free"].pk, "user": foreign["user"].pk,
                                                         "preset": "admin"}, content_type="application/json"),
        client.post("/api/v1/permission-associations/", {"cluster": world["free"].pk, "user": tenant.user.pk,
                                                         "permission": foreign["permission"].pk},
                    content_type="application/json"),
        client.post(f"/api/v1/fleets/{foreign['fleet'].pk}/add-clusters/", {"clusters": [world["free"].pk]},
                    content_type="application/json"),
    ]
    assert [r.status_code for r in responses] == [400, 400, 400, 400, 400, 404]
    foreign["cluster"].refresh_from_db()
    assert foreign["cluster"].fleet_id == foreign["fleet"].pk
    assert not Fleet.objects.filter(name="grab").exists()
    assert not PermissionBinding.objects.filter(user=foreign["user"], cluster=world["free"]).exists()
    assert not PermissionBinding.objects.filter(user=tenant.user, cluster=world["free"]).exists()


def test_a_form_cannot_smuggle_the_other_tenants_objects(tenant, world, foreign):
    client = client_for(tenant.main)
    client.post(reverse("fleets:add-clusters", args=[world["fleet"].pk]),
                {"clusters": [foreign["cluster"].pk], "all_regions": "on"})
    client.post(reverse("fleets:permissions", args=[world["fleet"].pk]),
                {"user": foreign["user"].pk, "scope": "all", "permission": f"custom:{foreign['permission'].pk}"})
    client.post(reverse("permissions:associate"), {"target": f"fleet:{foreign['fleet'].pk}", "user": tenant.user.pk,
                                                   "scope": "all", "permission": "preset:admin"})
    foreign["cluster"].refresh_from_db()
    assert foreign["cluster"].fleet_id == foreign["fleet"].pk
    assert not PermissionBinding.objects.filter(fleet=world["fleet"], user=foreign["user"]).exists()
    assert not PermissionBinding.objects.filter(fleet=foreign["fleet"], user=tenant.user).exists()
    assert PermissionBinding.objects.filter(fleet=world["fleet"]).count() == 1
