"""Credentials end: API tokens and kubeconfigs expire by default and within a maximum, and
a password change revokes every token issued under the old password (and other sessions)."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cceone.iam import services
from cceone.iam.models import APIToken
from clusters import kubeconfigs
from clusters.models import KubeconfigToken
from tests.conftest import client_for
from tests.factories import ClusterFactory

NEW_PASSWORD = "Another-Horse-77"


def api(key: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/clusters/").status_code


def test_api_token_without_expiry_gets_the_maximum_lifetime(tenant, settings):
    settings.CCEONE_API_TOKEN_MAX_DAYS = 30
    client = client_for(tenant.main)
    page = client.post(reverse("iam:api-tokens"), {"name": "ci", "expires_at": ""}, follow=True).content.decode()
    token = APIToken.objects.get(user=tenant.main, name="ci")
    assert token.expires_at is not None
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert token.expires_at.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d") in page


def test_api_token_beyond_the_maximum_lifetime_is_refused(tenant, settings):
    settings.CCEONE_API_TOKEN_MAX_DAYS = 30
    far = (timezone.localtime() + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M")
    page = client_for(tenant.main).post(reverse("iam:api-tokens"), {"name": "forever", "expires_at": far})
    assert "An API token is valid for at most 30 days." in page.content.decode()
    assert not APIToken.objects.filter(name="forever").exists()
    with pytest.raises(ValidationError):
        services.issue_api_token(tenant.main, "forever", timezone.now() + timedelta(days=31))


def test_a_token_older_than_the_maximum_lifetime_is_refused(tenant, settings):
    settings.CCEONE_API_TOKEN_MAX_DAYS = 30
    # Issued before there was a maximum: no expiry of its own.
    token, key = APIToken.issue(tenant.main, "legacy")
    assert api(key) == 200
    APIToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert api(key) == 401


def test_a_kubeconfig_expires_by_default(tenant, settings):
    settings.CCEONE_KUBECONFIG_DEFAULT_DAYS = 7
    cluster = ClusterFactory(account=tenant.account)
    page = client_for(tenant.user).post(reverse("clusters:access-action", args=[cluster.pk, "kubeconfig"]), follow=True)
    issued = KubeconfigToken.objects.get(user=tenant.user)
    assert timedelta(days=6, hours=23) < issued.expires_at - timezone.now() <= timedelta(days=7)
    assert "It expires at" in page.content.decode()


def test_a_password_change_revokes_tokens_kubeconfigs_and_other_sessions(tenant):
    target = tenant.user
    cluster = ClusterFactory(account=tenant.account)
    _token, key = APIToken.issue(target, "script")
    kubeconfigs.issue(target, cluster)
    elsewhere = client_for(target)
    assert api(key) == 200 and elsewhere.get("/").status_code == 200

    response = client_for(tenant.main).post(reverse("iam:user-password", args=[target.pk]), {"password": NEW_PASSWORD})
    assert response.status_code == 302

    assert api(key) == 401
    assert not KubeconfigToken.objects.filter(user=target, revoked_at__isnull=True).exists()
    assert elsewhere.get("/").status_code == 302  # signed out
    # The new password works, and so do tokens issued after it.
    signed_in = Client().post(reverse("login"), {"username": target.username, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    _token, new_key = APIToken.issue(target, "after")
    assert api(new_key) == 200


def test_a_sign_in_that_only_rehashes_the_password_keeps_tokens(tenant, settings):
    _token, key = APIToken.issue(tenant.user, "script")
    # A hasher change makes Django re-hash the stored password at the next sign-in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    from tests.conftest import PASSWORD

    signed_in = Client().post(reverse("login"), {"username": tenant.user.username, "password": PASSWORD})
    assert signed_in.status_code == 302
    tenant.user.refresh_from_db()
    assert tenant.user.password.startswith("pbkdf2_")
    assert api(key) == 200


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(tenant):
    _token, key = APIToken.issue(tenant.admin, "script")
    here, elsewhere = client_for(tenant.admin), client_for(tenant.admin)
    response = here.post(reverse("iam:user-password", args=[tenant.admin.pk]), {"password": NEW_PASSWORD})
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert api(key) == 401
