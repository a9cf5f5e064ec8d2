"""Two tenants: nothing of one is visible or reachable to the other, on any page or
endpoint — lists, details and guessed ids alike."""
import re

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


MISSING = 987654


@pytest.fixture
def far(other_tenant):
    """The other tenant's objects, with ids no object of this tenant has, so that the id
    can be told apart from everything else on a page."""
    from cceone.iam.models import User

    return {"project": EnterpriseProject.objects.create(pk=900001, account=other_tenant.account, name="far"),
            "group": UserGroup.objects.create(pk=900002, account=other_tenant.account, name="far"),
            "policy": Policy.objects.create(pk=900003, account=other_tenant.account, name="far", actions=["*"]),
            "user": User.objects.create(pk=900004, account=other_tenant.account, username="globex-far")}


def _same_answer(client, method, url_of, foreign_id, body_of=None):
    """The answer about the other tenant's id equals the answer about an id that exists nowhere."""
    answers = []
    for pk in (foreign_id, MISSING):
        kwargs = {"content_type": "application/json"} if body_of and url_of(pk).startswith("/api/") else {}
        response = getattr(client, method)(url_of(pk), *([body_of(pk)] if body_of else []), **kwargs)
        body = re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]*"', "", response.content.decode())
        answers.append((response.status_code, body.replace(str(pk), "<id>")))
    assert answers[0] == answers[1]
    return answers[0]


@pytest.mark.parametrize("prefix, key", [
    ("/api/v1/iam/users/", "user"), ("/api/v1/iam/groups/", "group"),
    ("/api/v1/iam/policies/", "policy"), ("/api/v1/iam/projects/", "project"),
    ("iam:user-edit", "user"), ("iam:group-edit", "group"), ("iam:policy-edit", "policy"),
    ("iam:project-edit", "project"),
])
def test_the_other_tenants_id_answers_like_a_missing_one(tenant, far, prefix, key):
    url_of = (lambda pk: f"{prefix}{pk}/") if prefix.startswith("/") else (lambda pk: reverse(prefix, args=[pk]))
    status, _body = _same_answer(client_for(tenant.main), "get", url_of, far[key].pk)
    assert status == 404


@pytest.mark.parametrize("url, field, key", [
    ("/api/v1/iam/groups/", "policies", "policy"), ("/api/v1/iam/groups/", "members", "user"),
    ("/api/v1/iam/users/", "groups", "group"), ("/api/v1/iam/policies/", "projects", "project"),
    ("iam:group-add", "policies", "policy"), ("iam:group-add", "members", "user"),
    ("iam:user-add", "groups", "group"), ("iam:policy-add", "projects", "project"),
])
def test_referencing_the_other_tenants_id_answers_like_a_missing_one(tenant, far, url, field, key):
    """Naming another tenant's policy (or user, group, project) in a write tells nothing about it."""
    api = url.startswith("/")
    base = {"/api/v1/iam/groups/": {"name": "probe"}, "/api/v1/iam/users/": {"username": "probe",
                                                                             "password": "Correct-Horse-42"},
            "/api/v1/iam/policies/": {"name": "probe", "actions": ["clusters:get"], "scope": "projects"},
            "iam:group-add": {"name": "probe"},
            "iam:user-add": {"username": "probe", "password": "Correct-Horse-42"},
            "iam:policy-add": {"name": "probe", "actions": ["clusters:get"], "scope": "projects"}}[url]
    url_of = (lambda pk: url) if api else (lambda pk: reverse(url))
    status, _body = _same_answer(client_for(tenant.main), "post", url_of, far[key].pk,
                                 lambda pk: {**base, field: [pk]})
    assert status in (400, 200)
    assert not UserGroup.objects.filter(account=tenant.account, name="probe").exists()
    assert not Policy.objects.filter(account=tenant.account, name="probe").exists()
