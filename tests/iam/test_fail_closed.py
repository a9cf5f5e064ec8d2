"""A page or an API operation that declares no IAM action is refused, even to the main
account; an explicit opt-out is what lets a public route through."""
import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.urls("tests.iam.fail_closed_urls")


def test_an_undeclared_page_is_refused(tenant):
    response = client_for(tenant.main).get("/undeclared/")
    assert response.status_code == 403
    assert "secrets" not in response.content.decode()
    assert "This page declares no IAM permission, so it is refused." in response.content.decode()


def test_an_api_operation_missing_from_the_map_is_refused(tenant):
    client = client_for(tenant.main)
    assert client.get("/api/projects/").status_code == 200  # mapped
    purge = client.post("/api/projects/purge/")
    assert purge.status_code == 403
    assert purge.json() == {"detail": "This operation declares no IAM permission, so it is refused."}
    assert client.get("/api/unmapped/").status_code == 403


def test_an_undeclared_operation_does_not_turn_an_unknown_method_into_403(tenant):
    # No such operation at all: still 405, not a refusal that hides it.
    assert client_for(tenant.main).delete("/api/projects/").status_code == 405


def test_public_routes_opted_out_by_name_stay_open(db):
    from django.test import Client

    assert Client().get("/healthz").status_code == 200
    assert Client().get("/login/").status_code == 200
