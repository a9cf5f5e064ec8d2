"""A policy limited to one cluster: its holder diagnoses that cluster from the object page's
button, the diagnoses list and the API, as an account-wide grant would — and nothing else.
Without the action on any cluster, the new-diagnosis page and its button stay closed."""
import pytest
from django.urls import reverse

from cceone.audit.models import AuditEvent
from cceone.iam import services as iam
from cceone.iam.models import Policy
from operations.models import Diagnosis
from tests.conftest import client_for
from tests.factories import ClusterFactory
from tests.live import grant

pytestmark = pytest.mark.django_db(transaction=True)


def scoped_user(tenant, cluster, actions):
    policy = iam.save_policy(tenant.main, None, name="one-cluster", description="", actions=actions,
                             scope=Policy.Scope.INSTANCES, instances=[f"cluster:{cluster.pk}"])
    iam.save_group(tenant.main, None, name="operators", description="", members=[tenant.nopolicy],
                   policies=[policy])
    tenant.nopolicy.refresh_from_db()
    return tenant.nopolicy


def test_a_grant_on_one_cluster_diagnoses_that_cluster_from_the_page_and_the_api(cluster, emulator, tenant):
    user = scoped_user(tenant, cluster, ["clusters:list", "clusters:get", "clusters:diagnose"])
    grant(emulator, user, "cluster-admin")
    elsewhere = ClusterFactory(account=tenant.account, name="elsewhere", status="running")
    client = client_for(user)

    listing = client.get(reverse("operations:diagnoses")).content.decode()
    assert 'id="create-button"' in listing and "New diagnosis" in listing

    # The object page's Diagnose button leads to a form that accepts this cluster's object.
    pod_page = client.get(reverse("resources:detail", kwargs={
        "target_type": "cluster", "target_id": cluster.pk, "kind": "pods", "namespace": "shop",
        "name": "crasher"})).content.decode()
    assert "Diagnose" in pod_page
    form = client.get(reverse("operations:diagnosis-new") + f"?cluster={cluster.pk}&kind=pods")
    assert form.status_code == 200
    options = form.content.decode()
    assert cluster.name in options and "elsewhere" not in options  # only the clusters granted
    query = f"?cluster={cluster.pk}&kind=pods&namespace=shop&name=crasher"
    response = client.post(reverse("operations:diagnosis-new") + query)
    assert response.status_code == 302, response.content.decode()[:2000]
    diagnosis = Diagnosis.objects.get(requested_by=user)
    assert diagnosis.status == "succeeded" and diagnosis.abnormal_count > 0
    report = client.get(response["Location"]).content.decode()
    assert "The last termination reason is Error (exit code 1) container=api pod=crasher" in report

    # Another cluster of the account is not offered, and refused by the API.
    refused = client.post(reverse("operations:diagnosis-new"),
                          {"cluster": elsewhere.pk, "kind": "pods", "namespace": "shop", "name": "crasher"})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    body = {"kind": "services", "namespace": "shop", "name": "orphan"}
    created = client.post("/api/v1/diagnoses/", {"cluster_id": cluster.pk, **body}, content_type="application/json")
    assert created.status_code == 201, created.content
    report = client.get(f"/api/v1/diagnoses/{created.json()['id']}/").json()
    assert report["status"] == "succeeded" and report["abnormal_count"] > 0
    other = client.post("/api/v1/diagnoses/", {"cluster_id": elsewhere.pk, **body}, content_type="application/json")
    assert other.status_code == 403
    assert Diagnosis.objects.filter(cluster=elsewhere).count() == 0
    # Running an inspection needs its own action: this grant does not carry it.
    assert client.post("/api/v1/inspections/", {"cluster_id": cluster.pk},
                       content_type="application/json").status_code == 403


def test_without_the_action_on_any_cluster_the_form_and_its_button_stay_closed(cluster, emulator, tenant):
    user = scoped_user(tenant, cluster, ["clusters:list", "clusters:get"])
    client = client_for(user)
    listing = client.get(reverse("operations:diagnoses")).content.decode()
    assert 'id="create-button"' not in listing
    assert client.get(reverse("operations:diagnosis-new")).status_code == 403
    assert client.post(reverse("operations:diagnosis-new") + f"?cluster={cluster.pk}&kind=pods&namespace=shop"
                       "&name=crasher").status_code == 403
    assert client.post("/api/v1/diagnoses/", {"cluster_id": cluster.pk, "kind": "pods", "namespace": "shop",
                                              "name": "crasher"}, content_type="application/json").status_code == 403
    assert not Diagnosis.objects.exists()
    assert AuditEvent.objects.filter(action="clusters:diagnose", result=AuditEvent.Result.DENIED).exists()
