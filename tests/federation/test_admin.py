"""Operators add pre-registered Karmada control planes in the admin: HTTPS endpoint, admin token
(kept encrypted), CA."""
import pytest
from django.urls import reverse

from federation.models import KarmadaControlPlane
from tests.conftest import client_for
from tests.factories import operator

pytestmark = pytest.mark.django_db


def add(client, **overrides):
    data = {"name": "karmada-a", "source": "pre_registered", "region": "", "api_endpoint": "https://karmada.example:6443",
            "ca_data": "", "token": "s3cret-admin-token"}
    data.update(overrides)
    return client.post(reverse("admin:federation_karmadacontrolplane_add"), data)


def test_an_operator_adds_a_control_plane_with_its_token_encrypted():
    client = client_for(operator())
    assert add(client).status_code == 302
    plane = KarmadaControlPlane.objects.get(name="karmada-a")
    assert plane.token == "s3cret-admin-token" and "s3cret" not in plane.credentials_encrypted


@pytest.mark.parametrize("overrides, message", [
    ({"api_endpoint": "http://karmada.example:6443"}, "Use an https:// API endpoint"),
    ({"token": ""}, "Enter the control plane&#x27;s admin token, or its client certificate and key."),
    ({"token": "", "client_key": "-----BEGIN PRIVATE KEY-----"}, "A client key needs its client certificate."),
])
def test_plain_http_and_a_missing_token_are_refused(overrides, message):
    response = add(client_for(operator()), **overrides)
    assert response.status_code == 200 and message in response.content.decode()
    assert not KarmadaControlPlane.objects.exists()


def test_an_operator_adds_a_control_plane_with_a_client_certificate_and_its_key_encrypted():
    from sandbox.kubesim import tls

    cert, key = tls.generate().client_certificate("system:admin", ("system:masters",))
    assert add(client_for(operator()), token="", client_cert=cert.decode(), client_key=key.decode()).status_code == 302
    plane = KarmadaControlPlane.objects.get(name="karmada-a")
    assert plane.client_key.strip() == key.decode().strip() and "PRIVATE KEY" not in plane.client_key_encrypted
    assert plane.client_cert.strip() == cert.decode().strip() and plane.token == ""
