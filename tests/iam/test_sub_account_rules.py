"""A sub-account's name and password rules live in the IAM service (issue 12): the page, the
API and a direct call are refused alike, with the same message in the user's language."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cceone.iam import services
from cceone.iam.models import User
from tests.conftest import PASSWORD, client_for

STRONG = "Long-enough-pass-7"


@pytest.mark.parametrize("username, password, field, message", [
    ("ACME-VIEWER", STRONG, "username", "This user name is taken."),  # names are compared without case
    ("1abc", STRONG, "username", "starting with a letter"),
    ("dave", "short", "password", "This password is too short"),
    ("dave", "1234567890123", "password", "This password is entirely numeric"),
])
def test_the_service_refuses_a_taken_name_or_a_weak_password(tenant, username, password, field, message):
    before = User.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.create_sub_account(tenant.main, username=username, password=password)
    assert any(message in m for m in refused.value.message_dict[field])
    assert User.objects.count() == before


def test_the_service_refuses_a_weak_new_password(tenant):
    with pytest.raises(ValidationError) as refused:
        services.set_password(tenant.main, tenant.user, "short")
    assert "password" in refused.value.message_dict
    tenant.user.refresh_from_db()
    assert tenant.user.check_password(PASSWORD)


def test_the_api_refuses_a_taken_name_in_the_callers_language(tenant):
    response = client_for(tenant.main, "zh-hans").post("/api/v1/iam/users/", {
        "username": "acme-viewer", "password": STRONG}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["username"] == ["该用户名已被占用。"]
    response = client_for(tenant.main).post("/api/v1/iam/users/", {
        "username": "Acme-Viewer", "password": STRONG}, content_type="application/json")
    assert response.status_code == 400 and response.json()["username"] == ["This user name is taken."]
    assert not User.objects.filter(username="Acme-Viewer").exists()


def test_the_api_refuses_a_weak_password_on_create_and_on_change(tenant):
    client = client_for(tenant.main)
    created = client.post("/api/v1/iam/users/", {"username": "dave", "password": "short"},
                          content_type="application/json")
    assert created.status_code == 400 and "too short" in created.json()["password"][0]
    assert not User.objects.filter(username="dave").exists()
    changed = client.patch(f"/api/v1/iam/users/{tenant.user.pk}/", {"password": "short"},
                           content_type="application/json")
    assert changed.status_code == 400 and "too short" in changed.json()["password"][0]
    tenant.user.refresh_from_db()
    assert tenant.user.check_password(PASSWORD)


def test_the_page_refuses_a_taken_name_in_the_users_language(tenant):
    response = client_for(tenant.main, "zh-hans").post(reverse("iam:user-add"), {
        "username": "acme-viewer", "password": STRONG})
    assert response.status_code == 200 and "该用户名已被占用。" in response.content.decode()
    assert User.objects.filter(username__iexact="acme-viewer").count() == 1


def test_the_page_refuses_a_weak_new_password(tenant):
    response = client_for(tenant.main).post(reverse("iam:user-password", args=[tenant.user.pk]),
                                            {"password": "short"})
    assert response.status_code == 200 and "This password is too short" in response.content.decode()
    tenant.user.refresh_from_db()
    assert tenant.user.check_password(PASSWORD)
