"""The order's fleet (R3.2, the manual's 舰队; #13 item 4): a cluster ordered into a fleet joins
it — from the page and from the API —, only a fleet the user may add clusters to can be
chosen, another tenant's fleet does not exist; a refused fleet orders nothing."""
import pytest
from django.urls import reverse

from cceone.audit.models import AuditEvent, OperationLog
from cceone.iam import services as iam_services
from cceone.iam.models import Policy, Region
from clusters.models import CloudProviderCluster, RegisteredCluster
from permissions.models import ClusterPermissionSync
from tests.clusters.test_order import local_order, post, with_project
from tests.conftest import client_for
from tests.factories import FleetFactory, make_inventory, ready_to_order


@pytest.fixture
def inventory(db):
    return make_inventory()


@pytest.fixture
def orderable(tenant, inventory):
    ready_to_order(tenant.account)
    return tenant


@pytest.fixture
def fleet(tenant):
    return FleetFactory(account=tenant.account, name="edge-fleet")


def api_order(inventory, **overrides):
    return {"cluster_type": "local", "name": "api-fleet-01", "provider": "k3s", "enterprise_project": "default",
            "vpc": inventory["vpc"].pk, "subnet": inventory["subnet"].pk,
            "apiserver_spec": inventory["apiserver_spec"].pk, "agreed": True, **overrides}


def orderer_without_fleets(tenant):
    """A sub-account that may order and change clusters, but not change fleets."""
    policy = iam_services.save_policy(tenant.main, None, name="cluster-orderer", description="",
                                      actions=["clusters:*"], scope=Policy.Scope.ACCOUNT)
    iam_services.save_group(tenant.main, None, name="cluster-orderers", description="", members=[tenant.nopolicy],
                            policies=[policy])
    return tenant.nopolicy


def test_a_cluster_ordered_into_a_fleet_joins_it(orderable, inventory, fleet, django_capture_on_commit_callbacks):
    client = client_for(orderable.admin)
    form = client.get(reverse("clusters:order", args=["local"])).content.decode()
    assert 'name="fleet"' in form and "edge-fleet" in form
    # The manual's order: name, then the fleet, then the rest.
    assert form.index('name="name"') < form.index('name="fleet"') < form.index('name="vpc"')

    data = with_project(orderable, local_order(inventory, fleet=fleet.pk))
    confirm = post(client, "local", data, "configure").content.decode()
    assert "<dt class=\"col-5\">Fleet</dt><dd class=\"col-7\" id=\"confirm-extra-1\">edge-fleet</dd>" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "local", {**data, "agreed": "on"}, "submit")
    assert response.status_code == 302
    cluster = RegisteredCluster.objects.get(name="idc-beijing-01")
    assert cluster.fleet == fleet and cluster.status == "pending_access"
    steps = list(OperationLog.objects.get(target_id=str(cluster.pk), operation="create")
                 .steps.values_list("name", flat=True))
    assert steps[:2] == ["Order accepted", "Join fleet"]
    assert AuditEvent.objects.filter(action="fleets:add-cluster", target_id=str(cluster.pk), actor=orderable.admin,
                                     details__fleet="edge-fleet").exists()
    # It takes the fleet's permissions as a cluster added on the fleet page does.
    assert ClusterPermissionSync.objects.filter(cluster=cluster).exists()
    assert "idc-beijing-01" in client.get(reverse("fleets:detail", args=[fleet.pk])).content.decode()


def test_an_order_without_a_fleet_says_so_and_joins_none(orderable, inventory, fleet,
                                                         django_capture_on_commit_callbacks):
    client = client_for(orderable.main)
    data = with_project(orderable, local_order(inventory))
    confirm = post(client, "local", data, "configure").content.decode()
    assert 'id="confirm-extra-1">—</dd>' in confirm
    with django_capture_on_commit_callbacks(execute=True):
        post(client, "local", {**data, "agreed": "on"}, "submit")
    assert RegisteredCluster.objects.get(name="idc-beijing-01").fleet is None


def test_a_cluster_ordered_through_the_api_joins_its_fleet(orderable, inventory, fleet,
                                                           django_capture_on_commit_callbacks):
    client = client_for(orderable.admin)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/clusters/", api_order(inventory, fleet=fleet.pk),
                              content_type="application/json")
    assert created.status_code == 201, created.content
    assert RegisteredCluster.objects.get(name="api-fleet-01").fleet == fleet
    members = client.get(f"/api/v1/fleets/{fleet.pk}/").json()["members"]
    assert [m["name"] for m in members] == ["api-fleet-01"]


def test_a_fleet_the_user_may_not_change_is_refused(orderable, inventory, fleet):
    user = orderer_without_fleets(orderable)
    client = client_for(user)
    form = client.get(reverse("clusters:order", args=["local"])).content.decode()
    assert 'name="fleet"' in form and "edge-fleet" not in form
    assert "There is no fleet you may add clusters to" in form
    data = with_project(orderable, local_order(inventory, fleet=fleet.pk))
    refused = post(client, "local", {**data, "agreed": "on"}, "submit").content.decode()
    assert "Select a valid choice" in refused
    api = client.post("/api/v1/clusters/", api_order(inventory, fleet=fleet.pk), content_type="application/json")
    assert api.status_code == 403 and "fleets:update" in api.json()["detail"]
    assert not RegisteredCluster.objects.exists()
    assert not fleet.clusters.exists()
    # Without a fleet the same user orders.
    assert client.post("/api/v1/clusters/", api_order(inventory), content_type="application/json").status_code == 201


def test_another_tenants_fleet_is_refused_with_a_clear_error(orderable, other_tenant, inventory):
    theirs = FleetFactory(account=other_tenant.account, name="their-fleet")
    client = client_for(orderable.main)
    assert "their-fleet" not in client.get(reverse("clusters:order", args=["local"])).content.decode()
    data = with_project(orderable, local_order(inventory, fleet=theirs.pk))
    refused = post(client, "local", {**data, "agreed": "on"}, "submit").content.decode()
    assert "Select a valid choice" in refused
    api = client.post("/api/v1/clusters/", api_order(inventory, fleet=theirs.pk), content_type="application/json")
    assert api.status_code == 400 and api.json() == {"fleet": ["Unknown fleet."]}
    precheck = client.post("/api/v1/clusters/precheck/", api_order(inventory, fleet=theirs.pk),
                           content_type="application/json")
    assert precheck.status_code == 400 and precheck.json() == {"fleet": ["Unknown fleet."]}
    assert not RegisteredCluster.objects.exists() and not theirs.clusters.exists()


def test_associating_a_cloud_cluster_into_a_fleet(orderable, fleet, django_capture_on_commit_callbacks):
    cloud = CloudProviderCluster.objects.create(account=orderable.account, region=Region.default(),
                                                name="cce-prod-01", edition="cce_managed",
                                                api_endpoint="http://127.0.0.1:9")
    client = client_for(orderable.main)
    form = client.get(reverse("clusters:order", args=["cloud"])).content.decode()
    # The manual's association form: fleet, the cloud cluster, enterprise project.
    assert form.index('name="fleet"') < form.index('name="cloud_cluster"') < form.index('name="enterprise_project"')
    data = with_project(orderable, {"cloud_cluster": cloud.pk, "fleet": fleet.pk})
    confirm = post(client, "cloud", data, "configure").content.decode()
    assert 'id="confirm-extra-1">edge-fleet</dd>' in confirm
    with django_capture_on_commit_callbacks(execute=True):
        post(client, "cloud", {**data, "agreed": "on"}, "submit")
    cluster = RegisteredCluster.objects.get(name="cce-prod-01")
    assert cluster.fleet == fleet  # its API server is unreachable here: creation failed, still in the fleet
