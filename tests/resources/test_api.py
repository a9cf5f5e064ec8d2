"""Scripts reach each registered cluster's Kubernetes API through the hub's kubeconfig
proxy; the REST API says where, to whoever may see the cluster, and documents it."""
import pytest

from clusters.models import RegisteredCluster
from tests.conftest import PERSONAS, client_for
from tests.factories import ClusterFactory

URL = "/api/v1/kubernetes/clusters/"


@pytest.fixture
def clusters(tenant, other_tenant, settings):
    settings.CCEONE_HUB_KUBECONFIG_URL = "https://hub.example.com:9443"
    return {"mine": ClusterFactory(account=tenant.account, name="edge-01"),
            "gone": ClusterFactory(account=tenant.account, name="old-one",
                                   status=RegisteredCluster.Status.UNSUBSCRIBED),
            "theirs": ClusterFactory(account=other_tenant.account, name="secret-cluster")}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_endpoint_list_follows_iam(tenant, clusters, persona):
    response = client_for(tenant.persona(persona)).get(URL)
    if persona == "nopolicy":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    mine = clusters["mine"]
    assert response.json()["results"] == [{
        "id": mine.pk, "name": "edge-01", "status": "running", "kubernetes_version": "",
        "server": f"https://hub.example.com:9443/k8s/clusters/{mine.pk}"}]


@pytest.mark.parametrize("persona", PERSONAS)
def test_one_clusters_endpoint_follows_iam(tenant, clusters, persona):
    response = client_for(tenant.persona(persona)).get(f"{URL}{clusters['mine'].pk}/")
    assert response.status_code == (403 if persona == "nopolicy" else 200)


def test_another_tenants_cluster_is_not_found(tenant, clusters):
    client = client_for(tenant.main)
    assert "secret-cluster" not in client.get(URL).content.decode()
    assert client.get(f"{URL}{clusters['theirs'].pk}/").status_code == 404
    assert client.get(f"{URL}999999/").status_code == 404


def test_the_api_docs_say_how_scripts_reach_the_kubernetes_api(tenant):
    schema = client_for(tenant.main).get("/api/schema/").content.decode()
    assert "/api/v1/kubernetes/clusters/" in schema
    assert "kubeconfig proxy" in schema and "Connection information" in schema and "RBAC" in schema
