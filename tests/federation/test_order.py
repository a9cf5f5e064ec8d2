"""The federation order wizard (R5.1) over HTTP and the API: end to end against a Karmada-like
API server, and every way an order is refused — with a clear message and nothing created."""
import pytest
from django.urls import reverse

from cceone.audit.models import AuditEvent, OperationLog
from clusters.models import SecurityGroup
from federation.models import Federation, KarmadaControlPlane
from tests.conftest import client_for
from tests.factories import FleetFactory

from .conftest import KARMADA_VERSION, order_data, register_control_plane

pytestmark = pytest.mark.django_db


def post(client, data, step):
    return client.post(reverse("federation:order"), {**data, "step": step})


def test_order_end_to_end_over_a_fleet(orderable, inventory, karmada, django_capture_on_commit_callbacks):
    plane = register_control_plane(karmada)
    fleet = FleetFactory(account=orderable.account, name="fleet-east")
    client = client_for(orderable.admin)
    form = client.get(reverse("federation:order")).content.decode()
    assert "Federation name" in form and "Pay-as-you-go" in form and "fleet-east" in form
    data = order_data(orderable, inventory, fleet=fleet.pk)
    confirm = post(client, data, "configure").content.decode()
    assert "¥0.0000 / vCPU / hour" in confirm  # the price in force: federations are free
    assert "fed-shanghai" in confirm and "fleet-east" in confirm
    for label in ("Product quota check", "Account balance check", "Control plane capacity check"):
        assert label in confirm
    assert "Failed" not in confirm and "Re-check" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, {**data, "agreed": "on"}, "submit")
    assert response.status_code == 302 and response["Location"] == reverse("federation:list")
    federation = Federation.objects.get(name="fed-shanghai")
    assert federation.status == Federation.Status.RUNNING
    assert federation.karmada_version == KARMADA_VERSION
    assert federation.fleet == fleet and federation.control_plane == plane and not federation.is_sandbox
    assert federation.deletion_protection and federation.creator == orderable.admin
    assert federation.eip_address and federation.security_group.auto_created
    steps = list(OperationLog.objects.get(target_type="federation", target_id=str(federation.pk),
                                          operation="create").steps.values_list("name", flat=True))
    assert steps == ["Order accepted", "Create access endpoint", "Bind EIP", "Take a Karmada control plane",
                     "Connect to the Karmada API server"]
    listing = client.get(reverse("federation:list")).content.decode()
    assert "fed-shanghai" in listing and "Running" in listing and KARMADA_VERSION in listing
    page = client.get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert KARMADA_VERSION in page and "fleet-east" in page and "Take a Karmada control plane" in page
    assert AuditEvent.objects.filter(action="federations:create", target_id=str(federation.pk)).exists()


@pytest.mark.parametrize("name", ["abc", "1fed", "fed_01", "fed-", "f" * 41, "联邦一号", "fed 01"])
def test_names_outside_the_rule_are_refused(orderable, inventory, karmada, name):
    register_control_plane(karmada)
    response = post(client_for(orderable.main), order_data(orderable, inventory, name=name), "configure")
    page = response.content.decode()
    assert "Invalid federation name" in page or "Ensure this value has at most 40 characters" in page
    assert "Dependency checks" not in page and not Federation.objects.exists()


@pytest.mark.parametrize("name", ["fed1", "F-2-x", "a" * 40])
def test_names_inside_the_rule_reach_the_confirmation(orderable, inventory, karmada, name):
    register_control_plane(karmada)
    page = post(client_for(orderable.main), order_data(orderable, inventory, name=name), "configure").content.decode()
    assert "Dependency checks" in page


def test_a_live_name_is_taken_but_an_unsubscribed_one_is_free(orderable, inventory, karmada,
                                                             django_capture_on_commit_callbacks):
    register_control_plane(karmada)
    register_control_plane(karmada, name="karmada-b")
    client = client_for(orderable.main)
    data = {**order_data(orderable, inventory), "agreed": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        post(client, data, "submit")
    page = post(client, data, "configure").content.decode()
    assert "A federation named “fed-shanghai” already exists." in page
    Federation.objects.filter(name="fed-shanghai").update(status=Federation.Status.UNSUBSCRIBED)
    assert "Dependency checks" in post(client, data, "configure").content.decode()


def test_a_fleet_joins_at_most_one_federation(orderable, inventory, karmada, django_capture_on_commit_callbacks):
    register_control_plane(karmada)
    register_control_plane(karmada, name="karmada-b")
    fleet = FleetFactory(account=orderable.account, name="fleet-east")
    client = client_for(orderable.main)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, {**order_data(orderable, inventory, fleet=fleet.pk), "agreed": "on"}, "submit")
    form = client.get(reverse("federation:order")).content.decode()
    assert "fleet-east" not in form  # no longer offered
    page = post(client, order_data(orderable, inventory, name="fed-two", fleet=fleet.pk), "configure").content.decode()
    assert "Select a valid choice" in page
    assert Federation.objects.count() == 1


def test_another_tenants_fleet_cannot_be_chosen(orderable, other_tenant, inventory, karmada):
    register_control_plane(karmada)
    theirs = FleetFactory(account=other_tenant.account, name="their-fleet")
    page = post(client_for(orderable.main), order_data(orderable, inventory, fleet=theirs.pk),
                "configure").content.decode()
    assert "Select a valid choice" in page and not Federation.objects.exists()


def test_without_a_free_control_plane_the_check_fails_and_the_order_is_refused(orderable, inventory):
    client = client_for(orderable.main)
    data = order_data(orderable, inventory)
    confirm = post(client, data, "configure").content.decode()
    assert "No Karmada control plane is free" in confirm
    response = post(client, {**data, "agreed": "on"}, "submit").content.decode()
    assert "Control plane capacity check: No Karmada control plane is free" in response
    assert not Federation.objects.exists()


def test_recheck_runs_one_check_again(orderable, inventory, karmada):
    client = client_for(orderable.main)
    data = order_data(orderable, inventory)
    assert "No Karmada control plane is free" in post(client, data, "configure").content.decode()
    register_control_plane(karmada)  # an operator adds one meanwhile
    row = client.post(reverse("federation:order"), {**data, "step": "recheck", "check": "control-plane"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert 'id="check-control-plane"' in row and "Passed" in row


def test_the_agreement_is_required(orderable, inventory, karmada):
    register_control_plane(karmada)
    page = post(client_for(orderable.main), order_data(orderable, inventory), "submit").content.decode()
    assert "Read and accept the service agreement to continue." in page
    assert not Federation.objects.exists() and not SecurityGroup.objects.filter(auto_created=True).exists()


def test_the_quota_check(orderable, inventory, karmada, settings):
    settings.CCEONE_DEFAULT_FEDERATION_QUOTA = 0
    register_control_plane(karmada)
    page = post(client_for(orderable.main), {**order_data(orderable, inventory), "agreed": "on"},
                "submit").content.decode()
    assert "The account already holds 0 of at most 0 federations." in page and not Federation.objects.exists()


def test_gates_come_first(tenant, inventory):
    page = client_for(tenant.main).get(reverse("federation:order")).content.decode()
    assert 'id="gate-delegation"' in page and "Ordering federations requires real-name verification" in page
    assert "order-form" not in page


def test_order_over_the_api(orderable, inventory, karmada, django_capture_on_commit_callbacks):
    register_control_plane(karmada)
    client = client_for(orderable.main)
    body = {"name": "fed-api", "enterprise_project": "default", "vpc": inventory["vpc"].pk,
            "subnet": inventory["subnet"].pk, "apiserver_spec": inventory["apiserver_spec"].pk}
    checks = client.post("/api/v1/federations/precheck/", body, content_type="application/json").json()
    assert {c["key"]: c["passed"] for c in checks["checks"]} == {
        "federation-quota": True, "control-plane": True, "balance": True}
    refused = client.post("/api/v1/federations/", {**body, "name": "1-bad", "agreed": True},
                          content_type="application/json")
    assert refused.status_code == 400 and "Invalid federation name" in str(refused.json()["name"])
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/federations/", {**body, "agreed": True}, content_type="application/json")
    assert created.status_code == 201 and created.json()["status"] == "creating"
    federation = client.get(f"/api/v1/federations/{created.json()['id']}/").json()
    assert federation["status"] == "running" and federation["karmada_version"] == KARMADA_VERSION
    assert [f["name"] for f in client.get("/api/v1/federations/").json()["results"]] == ["fed-api"]
    logs = client.get(f"/api/v1/federations/{federation['id']}/operation-logs/").json()
    assert logs[0]["steps"][-1]["name"] == "Connect to the Karmada API server"


def test_a_second_order_takes_another_control_plane(orderable, inventory, karmada, django_capture_on_commit_callbacks):
    first, second = register_control_plane(karmada), register_control_plane(karmada, name="karmada-b")
    client = client_for(orderable.main)
    for name in ("fed-one", "fed-two"):
        with django_capture_on_commit_callbacks(execute=True):
            post(client, {**order_data(orderable, inventory, name=name), "agreed": "on"}, "submit")
    taken = dict(Federation.objects.values_list("name", "control_plane"))
    assert taken == {"fed-one": first.pk, "fed-two": second.pk}
    assert not KarmadaControlPlane.objects.filter(federation__isnull=True).exists()


def test_the_regions_only_vpc_and_subnet_come_chosen(orderable, inventory):
    """With one VPC in the region and one subnet in it there is nothing to choose: the form
    starts with them, so 'Next' with the defaults goes on."""
    form = client_for(orderable.admin).get(reverse("federation:order")).content.decode()
    assert f'<option value="{inventory["vpc"].pk}" selected>' in form
    assert f'<option value="{inventory["subnet"].pk}" selected>' in form
