"""The rules of an association's input live in the permissions service (issue 12): one target
(a cluster or a fleet), a permission that replaces the other kind when named, a user and
target that never change. The page and the API go through the same functions."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from permissions import services
from permissions.models import PermissionBinding
from tests.conftest import client_for
from tests.factories import ClusterFactory, FleetFactory

JSON = "application/json"


@pytest.fixture
def custom(tenant):
    return services.save_permission(tenant.main, None, name="cm-reader",
                                    rules=[{"verbs": ["get", "list"], "resources": ["configmaps"]}])


def test_an_association_is_on_a_cluster_or_a_fleet(tenant):
    cluster, fleet = ClusterFactory(account=tenant.account), FleetFactory(account=tenant.account)
    assert services.association_target(cluster=cluster) == cluster
    assert services.association_target(fleet=fleet) == fleet
    for both_or_neither in ({"cluster": cluster, "fleet": fleet}, {}):
        with pytest.raises(ValidationError) as refused:
            services.association_target(**both_or_neither)
        assert refused.value.message_dict == {"cluster": ["Give either cluster or fleet."]}


def test_naming_a_preset_replaces_a_custom_permission_and_back(tenant, custom):
    cluster = ClusterFactory(account=tenant.account)
    binding = services.associate(tenant.main, cluster, user=tenant.user, permission=custom)
    services.update_association(tenant.main, binding, all_namespaces=True, preset="developer")
    binding.refresh_from_db()
    assert (binding.preset, binding.permission) == ("developer", None)
    services.update_association(tenant.main, binding, all_namespaces=True, permission=custom)
    binding.refresh_from_db()
    assert (binding.preset, binding.permission) == ("", custom)
    # Naming neither keeps it; naming both is refused.
    services.update_association(tenant.main, binding, all_namespaces=False, namespaces=["team-a"])
    binding.refresh_from_db()
    assert (binding.preset, binding.permission, binding.namespaces) == ("", custom, ["team-a"])
    with pytest.raises(ValidationError, match="Choose one permission"):
        services.update_association(tenant.main, binding, all_namespaces=True, preset="ops", permission=custom)


def test_an_associations_user_and_target_never_change(tenant):
    cluster = ClusterFactory(account=tenant.account)
    binding = services.associate(tenant.main, cluster, user=tenant.user, preset="restricted")
    for moved in ({"user": tenant.viewer}, {"cluster": ClusterFactory(account=tenant.account)},
                  {"fleet": FleetFactory(account=tenant.account)}):
        with pytest.raises(ValidationError, match="cannot change"):
            services.update_association(tenant.main, binding, all_namespaces=True, **moved)
    # Its own user and cluster, given again, are no change.
    services.update_association(tenant.main, binding, all_namespaces=True, user=tenant.user, cluster=cluster)
    assert PermissionBinding.objects.get().user == tenant.user


def test_the_api_names_a_custom_permission_in_place_of_a_preset(tenant, custom):
    cluster = ClusterFactory(account=tenant.account)
    client = client_for(tenant.main)
    created = client.post("/api/v1/permission-associations/", {
        "cluster": cluster.pk, "user": tenant.user.pk, "preset": "developer"}, content_type=JSON)
    assert created.status_code == 201, created.content
    changed = client.patch(f"/api/v1/permission-associations/{created.json()['id']}/", {"permission": custom.pk},
                           content_type=JSON)
    assert changed.status_code == 200
    assert (changed.json()["preset"], changed.json()["permission_type"]) == ("", "custom")
    neither = client.post("/api/v1/permission-associations/", {"user": tenant.user.pk, "preset": "ops"},
                          content_type=JSON)
    assert neither.status_code == 400 and neither.json() == {"cluster": ["Give either cluster or fleet."]}


def test_the_page_names_a_preset_in_place_of_a_custom_permission(tenant, custom):
    cluster = ClusterFactory(account=tenant.account)
    binding = services.associate(tenant.main, cluster, user=tenant.user, permission=custom)
    response = client_for(tenant.main).post(reverse("permissions:association-edit", args=[binding.pk]), {
        "scope": "all", "namespaces": "", "permission": "preset:ops"})
    assert response.status_code == 302
    binding.refresh_from_db()
    assert (binding.preset, binding.permission) == ("ops", None)
