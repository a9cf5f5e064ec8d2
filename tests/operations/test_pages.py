"""Diagnosis as a user meets it: the button on an object's page, the sandbox seed's broken
objects, the API twin, confirmation of abnormal items, and clear reasons on a disconnected
or frozen cluster."""
import pytest
from django.urls import reverse

from clusters.transitions import change_status
from operations import services
from operations.models import Confirmation, Diagnosis
from tests.conftest import client_for
from tests.live import cluster_status, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def object_page(cluster, kind, namespace, name):
    kwargs = {"target_type": "cluster", "target_id": cluster.pk, "kind": kind, "name": name}
    if namespace:
        kwargs["namespace"] = namespace
    return reverse("resources:detail", kwargs=kwargs)


def test_the_seed_crash_loop_and_the_service_without_endpoints_diagnosed_from_their_pages(cluster, tenant):
    client = client_for(tenant.main)
    pod_page = client.get(object_page(cluster, "pods", "prod", "api-64c44f89b-5cfc6")).content.decode()
    assert 'id="diagnose-button"' in pod_page
    action = reverse("operations:diagnosis-new") + f"?cluster={cluster.pk}&amp;kind=pods&amp;name=api-64c44f89b-5cfc6"
    assert action in pod_page
    response = client.post(action.replace("&amp;", "&") + "&namespace=prod")
    diagnosis = Diagnosis.objects.get()
    assert response["Location"] == reverse("operations:diagnosis", args=[diagnosis.pk])
    report = client.get(response["Location"]).content.decode()
    assert "The last termination reason is Error (exit code 1) container=api" in report
    assert "Read the previous container&#x27;s logs." in report  # the remedy

    # Confirm the abnormal item: who, when, with a note; confirming twice is refused.
    response = client.post(reverse("operations:diagnosis-confirm", args=[diagnosis.pk]),
                           {"check": "POD-CRASHLOOP", "note": "config map fixed in release 2.3.2"})
    assert response.status_code == 302
    report = client.get(reverse("operations:diagnosis", args=[diagnosis.pk])).content.decode()
    assert f"Confirmed by {tenant.main.username} at" in report and "config map fixed in release 2.3.2" in report
    with pytest.raises(Exception, match="already confirmed"):
        services.confirm_item(tenant.main, diagnosis, "POD-CRASHLOOP", "again")
    with pytest.raises(Exception, match="Only an abnormal item"):
        services.confirm_item(tenant.main, diagnosis, "POD-UNSCHEDULABLE", "")
    assert Confirmation.objects.count() == 1

    # The Service in staging has no endpoints: the same from the API twin.
    api = client.post("/api/v1/diagnoses/", {"cluster_id": cluster.pk, "kind": "services", "namespace": "staging",
                                              "name": "web"}, content_type="application/json")
    assert api.status_code == 201, api.content
    body = client.get(f"/api/v1/diagnoses/{api.json()['id']}/").json()
    assert body["status"] == "succeeded"
    no_endpoints = next(r for r in body["results"] if r["check"] == "SVC-NO-ENDPOINTS")
    assert no_endpoints["status"] == "abnormal"
    assert no_endpoints["findings"][0]["message"] == "Service has no endpoints, expected label app=web"
    assert {e["field"] for e in no_endpoints["findings"][0]["evidence"]} == {"spec.selector", "Endpoints"}

    # The list filters by kind.
    listing = client.get(reverse("operations:diagnoses") + "?kind=services").content.decode()
    assert ">staging/web<" in listing and "api-64c44f89b-5cfc6" not in listing


def test_a_viewer_sees_reports_but_no_diagnose_button(cluster, tenant, emulator):
    from tests.live import grant

    grant(emulator, tenant.viewer, "view")
    page = client_for(tenant.viewer).get(object_page(cluster, "pods", "prod", "api-64c44f89b-5cfc6"))
    assert page.status_code == 200 and 'id="diagnose-button"' not in page.content.decode()
    response = client_for(tenant.viewer).post(reverse("operations:diagnosis-new") +
                                              f"?cluster={cluster.pk}&kind=pods&namespace=prod&name=x")
    assert response.status_code == 403 and not Diagnosis.objects.exists()


def test_a_disconnected_or_frozen_cluster_ends_the_run_with_a_clear_reason(cluster, tenant):
    diagnosis = Diagnosis.objects.create(cluster=cluster, requested_by=tenant.main, kind="nodes", name="worker-1")
    cluster.agent.kill()
    wait_until(lambda: cluster_status(cluster) == "disconnected", timeout=15, what="the cluster to disconnect")
    services.run_diagnosis(diagnosis.pk)
    diagnosis.refresh_from_db()
    assert diagnosis.status == "failed"
    assert diagnosis.display_message().startswith("Cluster edge-01 is disconnected: its agent has not reported since")
    page = client_for(tenant.main).get(reverse("operations:diagnosis", args=[diagnosis.pk])).content.decode()
    assert 'id="run-failure"' in page and "is disconnected" in page

    cluster.refresh_from_db()
    change_status(cluster, "frozen", "arrears")
    frozen = Diagnosis.objects.create(cluster=cluster, requested_by=tenant.main, kind="nodes", name="worker-1")
    services.run_diagnosis(frozen.pk)
    frozen.refresh_from_db()
    assert frozen.status == "failed" and "is frozen because the account is in arrears" in frozen.display_message()
    # Starting one is refused with the reason, and nothing is created.
    response = client_for(tenant.main).post(reverse("operations:diagnosis-new"), {
        "cluster": cluster.pk, "kind": "nodes", "name": "worker-1"})
    assert response.status_code == 400 and Diagnosis.objects.count() == 2
