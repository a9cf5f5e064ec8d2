"""Two tenants: nothing of one is visible or reachable to the other, on any page or
endpoint — lists, details and guessed ids alike."""
import pytest
from django.urls import reverse

from cceone.audit.services import record
from cceone.iam.models import EnterpriseProject, Policy, UserGroup
from tests.conftest import client_for
from tests.factories import ClusterFactory


@pytest.fixture
def foreign(other_tenant):
    """Objects of the other tenant, each with a name that must never leak."""
    project = EnterpriseProject.objects.create(account=other_tenant.account, name="secret-project")
    group = UserGroup.objects.create(account=other_tenant.account, name="secret-group")
    policy = Policy.objects.create(account=other_tenant.account, name="secret-policy", actions=["*"])
    cluster = ClusterFactory(account=other_tenant.account, name="secret-cluster")
    record(other_tenant.main, "iam:update", ("group", group.pk, "secret-audit-target"))
    return {"project": project, "group": group, "policy": policy, "cluster": cluster,
            "user": other_tenant.viewer}


LIST_PAGES = ["console:overview", "iam:user-list", "iam:group-list", "iam:policy-list", "iam:project-list",
              "audit:list"]
API_LISTS = ["/api/v1/iam/users/", "/api/v1/iam/groups/", "/api/v1/iam/policies/", "/api/v1/iam/projects/",
             "/api/v1/audit/events/"]


@pytest.mark.parametrize("page", LIST_PAGES)
def test_lists_never_show_the_other_tenant(tenant, foreign, page):
    content = client_for(tenant.main).get(reverse(page)).content.decode()
    for name in ("secret-project", "secret-group", "secret-policy", "secret-cluster", "secret-audit-target",
                 "globex-viewer"):
        assert name not in content


@pytest.mark.parametrize("url", API_LISTS)
def test_api_lists_never_show_the_other_tenant(tenant, foreign, url):
    content = client_for(tenant.main).get(url).content.decode()
    for name in ("secret-project", "secret-group", "secret-policy", "secret-audit-target", "globex-viewer"):
        assert name not in content


@pytest.mark.parametrize("url_name, key", [
    ("iam:user-edit", "user"), ("iam:user-delete", "user"), ("iam:user-password", "user"),
    ("iam:group-edit", "group"), ("iam:group-delete", "group"),
    ("iam:policy-edit", "policy"), ("iam:policy-delete", "policy"),
    ("iam:project-edit", "project"), ("iam:project-delete", "project"),
])
def test_guessed_ids_of_the_other_tenant_are_not_found(tenant, foreign, url_name, key):
    client = client_for(tenant.main)
    url = reverse(url_name, args=[foreign[key].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "hijacked"}).status_code == 404
    foreign[key].refresh_from_db()
    assert getattr(foreign[key], "name", "") != "hijacked"


@pytest.mark.parametrize("prefix, key", [
    ("/api/v1/iam/users/", "user"), ("/api/v1/iam/groups/", "group"),
    ("/api/v1/iam/policies/", "policy"), ("/api/v1/iam/projects/", "project"),
])
def test_api_details_of_the_other_tenant_are_not_found(tenant, foreign, prefix, key):
    client = client_for(tenant.main)
    url = f"{prefix}{foreign[key].pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "hijacked"}, content_type="application/json").status_code == 404
    assert client.delete(url).status_code == 404
    assert type(foreign[key]).objects.filter(pk=foreign[key].pk).exists()


def test_a_policy_cannot_name_the_other_tenants_instance(tenant, foreign):
    response = client_for(tenant.main).post("/api/v1/iam/policies/", {
        "name": "grab", "actions": ["clusters:*"], "scope": "instances",
        "instances": [f"cluster:{foreign['cluster'].pk}"]}, content_type="application/json")
    assert response.status_code == 400
    assert "Unknown instance" in response.content.decode()
    assert not Policy.objects.filter(name="grab").exists()
