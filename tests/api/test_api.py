"""The REST API: token authentication, the same permissions as the pages, the schema."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cceone.iam.models import APIToken, EnterpriseProject, UserGroup
from tests.conftest import PERSONAS, client_for

MANAGERS = {"main", "admin"}


def token_client(user, **kwargs) -> tuple[Client, APIToken]:
    token, key = APIToken.issue(user, "script", **kwargs)
    return Client(HTTP_AUTHORIZATION=f"Token {key}"), token


def test_token_authenticates_and_only_its_hash_is_stored(tenant):
    client, token = token_client(tenant.main)
    response = client.get("/api/v1/iam/projects/")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["results"]] == ["default"]
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert len(token.key_hash) == 64 and not token.key_hash.startswith("cce_")


def test_unknown_expired_and_revoked_tokens_are_refused(tenant):
    assert Client(HTTP_AUTHORIZATION="Token cce_nope").get("/api/v1/iam/projects/").status_code == 401
    expired, _ = token_client(tenant.main, expires_at=timezone.now() - timedelta(minutes=1))
    assert expired.get("/api/v1/iam/projects/").status_code == 401
    revoked, token = token_client(tenant.main)
    token.delete()
    assert revoked.get("/api/v1/iam/projects/").status_code == 401


def test_anonymous_calls_are_refused(db):
    assert Client().get("/api/v1/iam/users/").status_code in (401, 403)


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_follows_the_same_policies_as_the_pages(tenant, persona):
    client, _ = token_client(tenant.persona(persona))
    listing = client.get("/api/v1/iam/groups/")
    created = client.post("/api/v1/iam/projects/", {"name": f"p-{persona}"}, content_type="application/json")
    audit = client.get("/api/v1/audit/events/")
    manager = persona in MANAGERS
    assert listing.status_code == (200 if manager else 403)
    assert created.status_code == (201 if manager else 403)
    assert EnterpriseProject.objects.filter(name=f"p-{persona}").exists() is manager
    assert audit.status_code == (403 if persona == "nopolicy" else 200)


def test_crud_through_the_api(tenant):
    client = client_for(tenant.admin)
    created = client.post("/api/v1/iam/users/", {"username": "bot", "password": "Long-enough-pass-7"},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    viewers = UserGroup.objects.get(account=tenant.account, name="viewers")
    patched = client.patch(f"/api/v1/iam/users/{user_id}/", {"groups": [viewers.pk]},
                           content_type="application/json")
    assert patched.status_code == 200 and patched.json()["groups"] == [viewers.pk]
    assert client.delete(f"/api/v1/iam/users/{user_id}/").status_code == 204
    assert client.get(f"/api/v1/iam/users/{user_id}/").status_code == 404


def test_api_validation_errors_are_clear(tenant):
    client = client_for(tenant.main)
    response = client.post("/api/v1/iam/policies/", {"name": "bad", "actions": ["clusters:frobnicate"]},
                           content_type="application/json")
    assert response.status_code == 400
    assert "Unknown action: clusters:frobnicate" in response.content.decode()
    response = client.post("/api/v1/iam/users/", {"username": "weak", "password": "123"},
                           content_type="application/json")
    assert response.status_code == 400 and "too short" in response.content.decode()


def test_delegation_through_the_api(tenant):
    client = client_for(tenant.main)
    assert client.get("/api/v1/iam/delegation/").json()["role_name"] is None
    assert client.post("/api/v1/iam/delegation/").status_code == 201
    assert client.get("/api/v1/iam/delegation/").json()["authorized_by"] == "acme"


def test_schema_and_docs_are_served(tenant):
    client = client_for(tenant.viewer)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/iam/users/" in schema["paths"]
    assert "/api/v1/audit/events/" in schema["paths"]
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()
