"""Two tenants: one's diagnoses, inspections and waivers never show to the other, on a page
or in the API, listed or by id."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from operations.models import Diagnosis, Inspection, Waiver
from tests.conftest import client_for
from tests.factories import ClusterFactory

pytestmark = pytest.mark.django_db


def test_another_tenants_runs_and_waivers_are_invisible_and_404(tenant, other_tenant):
    theirs = ClusterFactory(account=other_tenant.account, name="secret-cluster", status="running")
    diagnosis = Diagnosis.objects.create(cluster=theirs, kind="pods", namespace="secret-ns", name="secret-pod",
                                         status="succeeded")
    inspection = Inspection.objects.create(cluster=theirs, status="succeeded", score=42)
    waiver = Waiver.objects.create(cluster=theirs, check_id="NoCPULimits", namespace="secret-ns", name="secret-app",
                                   reason="secret-reason", expires_at=timezone.now() + timedelta(days=1))
    client = client_for(tenant.main)
    for name in ("operations:diagnoses", "operations:inspections", "operations:waivers", "operations:trends"):
        body = client.get(reverse(name)).content.decode()
        assert "secret-" not in body, name
    for url in ("/api/v1/diagnoses/", "/api/v1/inspections/", "/api/v1/inspection-waivers/"):
        assert client.get(url).json()["count"] == 0
    for name, pk in (("operations:diagnosis", diagnosis.pk), ("operations:inspection", inspection.pk),
                     ("operations:cluster", theirs.pk)):
        assert client.get(reverse(name, args=[pk])).status_code == 404
    assert client.post(reverse("operations:waiver-revoke", args=[waiver.pk])).status_code == 404
    assert client.post(reverse("operations:inspection-run", args=[theirs.pk])).status_code == 404
    response = client.post("/api/v1/diagnoses/", {"cluster_id": theirs.pk, "kind": "pods", "namespace": "a",
                                                  "name": "b"}, content_type="application/json")
    assert response.status_code == 404 and Diagnosis.objects.count() == 1
    waiver.refresh_from_db()
    assert waiver.revoked_at is None
