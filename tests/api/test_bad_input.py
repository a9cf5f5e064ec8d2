"""Input the fuzzer (tests/api/test_schema_fuzz.py) found answering 500, each named: a clear
400 or 404 now, and nothing changes."""
import json

import pytest

from cceone.audit.services import record
from cceone.iam.models import Policy
from clusters.models import KubeconfigToken
from tests.conftest import client_for
from tests.factories import ClusterFactory


@pytest.fixture
def cluster(tenant):
    return ClusterFactory(account=tenant.account)


@pytest.fixture
def client(tenant):
    return client_for(tenant.main)


@pytest.mark.parametrize("path", ["null,null/", "abc/", "null,null/kubeconfigs/", "null,null/unsubscribe/"])
def test_a_cluster_id_that_is_not_an_integer_is_not_found(client, cluster, path):
    method = client.post if path.endswith("unsubscribe/") else client.get
    response = method(f"/api/v1/clusters/{path}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("hours", ["soon", 10**30, [1], {"h": 1}])
def test_kubeconfig_hours_that_are_not_a_small_integer_are_refused(client, cluster, hours):
    response = client.post(f"/api/v1/clusters/{cluster.pk}/kubeconfigs/", {"hours": hours},
                           content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["hours"]
    assert not KubeconfigToken.objects.exists()


def test_kubeconfig_hours_above_the_ceiling_say_the_ceiling(client, cluster, settings):
    settings.CCEONE_KUBECONFIG_MAX_HOURS = 48
    response = client.post(f"/api/v1/clusters/{cluster.pk}/kubeconfigs/", {"hours": 49},
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"hours": ["Ensure this value is less than or equal to 48."]}


@pytest.mark.parametrize("body", ["null", "[]", '"yes"'])
def test_cluster_settings_that_are_not_an_object_are_refused(client, cluster, body):
    response = client.patch(f"/api/v1/clusters/{cluster.pk}/", body, content_type="application/json")
    assert response.status_code == 400
    cluster.refresh_from_db()
    assert cluster.deletion_protection is True


def test_an_order_precheck_that_is_not_an_object_is_refused(client, tenant):
    response = client.post("/api/v1/clusters/precheck/", json.dumps([None, None]), content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_a_policy_whose_actions_are_null_is_refused(client, tenant):
    # A form post carries JSON fields as text: "null" reached the service as None.
    response = client.post("/api/v1/iam/policies/", {"name": "readers", "actions": "null", "scope": "account"})
    assert response.status_code == 400
    assert "actions" in response.json()
    assert not Policy.objects.filter(account=tenant.account).exists()


def test_the_service_delegation_and_balance_are_one_object_in_the_schema_and_the_answer(client, tenant):
    schema = client.get("/api/schema/?format=json").json()
    for path in ("/api/v1/iam/delegation/", "/api/v1/billing/balance/"):
        documented = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert documented.get("type") != "array" and "$ref" in documented, path
        assert isinstance(client.get(path).json(), dict)
    assert client.get("/api/v1/iam/delegation/").json() == {
        "role_name": None, "authorized_by": None, "authorized_at": None}


def test_the_schema_documents_refusals_and_pages_only_the_lists(client, tenant):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    detail = paths["/api/v1/clusters/{id}/"]["get"]["responses"]
    assert {"200", "401", "403", "404"} <= set(detail)
    assert "400" in paths["/api/v1/iam/projects/"]["post"]["responses"]
    listing = paths["/api/v1/clusters/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing["$ref"].endswith("/PaginatedClusterList")
    issued = paths["/api/v1/clusters/{id}/kubeconfigs/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert issued["schema"]["type"] == "array"
    created = schema_component(client, "SubAccountCreateRequest")
    assert "password" in created["required"]


def schema_component(client, name):
    return client.get("/api/schema/?format=json").json()["components"]["schemas"][name]


@pytest.mark.parametrize("since, until, finds_all", [
    ("0038-07-06T05:47:50.094+19:33", "0310-03-16T22:00:29-13:12", False),  # offsets PostgreSQL refuses
    ("0001-01-01T00:10+23:59", "9999-12-31T23:50-23:59", True),             # past the ends of time in UTC
])
def test_audit_times_with_any_iso_offset_filter_in_utc(client, tenant, since, until, finds_all):
    record(tenant.main, "clusters:create", None)
    everything = client.get("/api/v1/audit/events/").json()["count"]
    response = client.get("/api/v1/audit/events/", {"since": since, "until": until})
    assert response.status_code == 200
    assert response.json()["count"] == (everything if finds_all else 0) and everything
