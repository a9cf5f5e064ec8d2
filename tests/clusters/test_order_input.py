"""The order is put together once (issue 12): `services.Order.build()` serves the order page
and the API, so the same answers give the same cluster whichever way they came."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cceone.iam.models import EnterpriseProject, Region
from clusters import services
from clusters.models import CloudProviderCluster, RegisteredCluster
from tests.conftest import client_for
from tests.factories import make_inventory, ready_to_order

ORDERED = ("cluster_type", "name", "provider", "region_id", "enterprise_project_id", "vpc_id", "subnet_id",
           "apiserver_spec_id", "apiserver_eip", "deletion_protection", "cloud_cluster_id")


@pytest.fixture
def orderable(tenant):
    ready_to_order(tenant.account)
    return tenant


@pytest.fixture
def inventory(db):
    return make_inventory()


@pytest.fixture
def cloud(tenant, inventory):
    other_region = Region.objects.exclude(pk=inventory["vpc"].region_id).first() or inventory["vpc"].region
    return CloudProviderCluster.objects.create(account=tenant.account, region=other_region, name="cce-prod-01",
                                               edition="cce_managed", api_endpoint="https://127.0.0.1:9")


def project(tenant):
    return EnterpriseProject.objects.get(account=tenant.account, name="default")


def test_a_cloud_order_takes_the_cloud_clusters_name_and_region_and_no_network(tenant, inventory, cloud):
    order = services.Order.build(cluster_type="cloud", region=inventory["vpc"].region, name="ignored",
                                 enterprise_project=project(tenant), cloud_cluster=cloud, vpc=inventory["vpc"])
    assert (order.name, order.region, order.vpc, order.cloud_cluster) == ("cce-prod-01", cloud.region, None, cloud)


def test_a_cloud_order_without_its_cloud_cluster_is_refused(tenant, inventory):
    with pytest.raises(ValidationError) as refused:
        services.Order.build(cluster_type="cloud", region=inventory["vpc"].region, enterprise_project=project(tenant))
    assert refused.value.message_dict == {"cloud_cluster": ["Choose the cloud cluster to associate."]}


def test_the_api_says_which_cloud_cluster_is_missing(orderable):
    response = client_for(orderable.main).post("/api/v1/clusters/", {
        "cluster_type": "cloud", "enterprise_project": "default", "agreed": True}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"cloud_cluster": ["Choose the cloud cluster to associate."]}


def test_page_and_api_place_the_same_local_order(orderable, inventory, django_capture_on_commit_callbacks):
    region = inventory["vpc"].region
    page = client_for(orderable.main)
    common = {"provider": "kubeadm", "vpc": inventory["vpc"].pk, "subnet": inventory["subnet"].pk,
              "apiserver_spec": inventory["apiserver_spec"].pk}
    with django_capture_on_commit_callbacks(execute=True):
        response = page.post(reverse("clusters:order", args=["local"]), {
            **common, "name": "from-page", "enterprise_project": project(orderable).pk, "security_group": "auto",
            "apiserver_eip": "on", "deletion_protection": "on", "step": "submit", "agreed": "on"})
        assert response.status_code == 302
        response = page.post("/api/v1/clusters/", {
            **common, "cluster_type": "local", "name": "from-api", "region": region.code,
            "enterprise_project": "default", "apiserver_eip": True, "deletion_protection": True, "agreed": True},
            content_type="application/json")
        assert response.status_code == 201, response.content
    by_page = RegisteredCluster.objects.filter(name="from-page").values(*ORDERED).get()
    by_api = RegisteredCluster.objects.filter(name="from-api").values(*ORDERED).get()
    assert {**by_page, "name": "from-api"} == by_api
    assert by_page["region_id"] == region.pk and by_page["enterprise_project_id"] == project(orderable).pk
