"""Provisioning (issue #14 item 3): the provisioners, failures that end in `failed` with the
reason the user reads, the sandbox label, and the beat sweep for work that stopped moving."""
import base64
from datetime import timedelta

import pytest
import yaml
from django.urls import reverse
from django.utils import timezone

from cceone.audit.models import OperationLog
from cceone.iam.models import EnterpriseProject, Region
from clusters.models import CloudProviderCluster, RegisteredCluster
from federation import services, tasks
from federation.models import Federation, KarmadaControlPlane, KarmadaOperatorHost
from sandbox.kubesim.runner import EmulatorServer
from tests.conftest import client_for
from tests.factories import ClusterFactory

from .conftest import KARMADA_VERSION, register_control_plane

pytestmark = pytest.mark.django_db
Status = Federation.Status


def order(tenant, inventory, name="fed-one", **overrides):
    return services.Order(region=Region.default(), name=name,
                          enterprise_project=EnterpriseProject.objects.get(account=tenant.account, name="default"),
                          vpc=inventory["vpc"], subnet=inventory["subnet"],
                          apiserver_spec=inventory["apiserver_spec"], **overrides)


def place(tenant, inventory, capture, **overrides):
    with capture(execute=True):
        federation = services.place_order(tenant.main, order(tenant, inventory, **overrides), agreed=True)
    federation.refresh_from_db()
    return federation


def create_log(federation):
    return OperationLog.objects.get(target_type="federation", target_id=str(federation.pk), operation="create")


def test_an_endpoint_that_does_not_answer_fails_with_the_reason(orderable, inventory, karmada,
                                                                django_capture_on_commit_callbacks):
    plane = register_control_plane(karmada)
    plane.api_endpoint = "https://127.0.0.1:9"  # nothing listens
    plane.save()
    federation = place(orderable, inventory, django_capture_on_commit_callbacks)
    assert federation.status == Status.FAILED and federation.control_plane is None
    log = create_log(federation)
    assert log.status == "failed"
    failed = log.steps.get(status="failed")
    assert failed.name == "Connect to the Karmada API server"
    assert "its Karmada API server does not answer" in failed.display_message
    page = client_for(orderable.main).get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert "Creation failed: Federation fed-one is unreachable: its Karmada API server does not answer." in page
    assert KarmadaControlPlane.objects.filter(federation__isnull=True, pk=plane.pk).exists()  # back in the pool


def test_an_api_server_that_is_not_karmada_fails(orderable, inventory, plain_kubernetes,
                                                 django_capture_on_commit_callbacks):
    register_control_plane(plain_kubernetes)
    federation = place(orderable, inventory, django_capture_on_commit_callbacks)
    assert federation.status == Status.FAILED and not federation.karmada_version
    reason = client_for(orderable.main).get(f"/api/v1/federations/{federation.pk}/").json()["status_reason"]
    assert "does not serve Karmada's cluster.karmada.io API: it is not a Karmada control plane." in reason


def test_wrong_credentials_fail_with_the_api_servers_refusal(orderable, inventory, karmada,
                                                             django_capture_on_commit_callbacks):
    register_control_plane(karmada, token="not-the-admin-token")
    federation = place(orderable, inventory, django_capture_on_commit_callbacks)
    assert federation.status == Status.FAILED
    assert create_log(federation).steps.get(status="failed").display_message
    # The control plane goes back to the pool for the operators to fix; the federation holds nothing.
    assert KarmadaControlPlane.objects.filter(federation__isnull=True).count() == 1


def test_no_free_control_plane_at_provisioning_time_fails(orderable, inventory, karmada,
                                                          django_capture_on_commit_callbacks):
    plane = register_control_plane(karmada)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        federation = services.place_order(orderable.main, order(orderable, inventory), agreed=True)
    plane.delete()  # the operators withdrew it between the order and the worker
    for callback in callbacks:
        callback()
    federation.refresh_from_db()
    assert federation.status == Status.FAILED
    assert create_log(federation).steps.get(status="failed").display_message == \
        f"No Karmada control plane is free in {Region.default().code}."


def test_sandbox_provisioner_uses_the_sandbox_karmada_and_labels_it(orderable, inventory, karmada, settings,
                                                                    django_capture_on_commit_callbacks):
    settings.CCEONE_FEDERATION_PROVISIONER = "sandbox"
    settings.CCEONE_SANDBOX_KARMADA_URL = karmada.url
    settings.CCEONE_SANDBOX_KARMADA_TOKEN = "admin-token"
    settings.CCEONE_SANDBOX_KARMADA_CA_FILE = karmada.ca_file
    federation = place(orderable, inventory, django_capture_on_commit_callbacks)
    assert federation.status == Status.RUNNING and federation.is_sandbox
    assert federation.provisioner == "sandbox" and federation.karmada_version == KARMADA_VERSION
    assert federation.control_plane.source == "sandbox" and federation.control_plane.api_endpoint == karmada.url
    assert "admin-token" not in federation.control_plane.credentials_encrypted  # encrypted at rest
    listing = client_for(orderable.main).get(reverse("federation:list")).content.decode()
    assert "bg-sandbox" in listing and "sandbox" in listing
    # The sandbox Karmada is taken: a second order is told so before it is placed.
    confirm = client_for(orderable.main).post(reverse("federation:order"), {
        "billing_mode": "on_demand", "name": "fed-two", "enterprise_project": federation.enterprise_project.pk,
        "vpc": inventory["vpc"].pk, "subnet": inventory["subnet"].pk, "security_group": "auto",
        "apiserver_spec": inventory["apiserver_spec"].pk, "step": "configure"}).content.decode()
    assert "Every sandbox Karmada is in use by another federation." in confirm


def test_the_sweep_resumes_provisioning_that_stopped_and_then_gives_up(orderable, inventory, karmada, settings,
                                                                       django_capture_on_commit_callbacks):
    register_control_plane(karmada)
    register_control_plane(karmada, name="karmada-b")
    with django_capture_on_commit_callbacks(execute=False):  # the worker never got the message
        federation = services.place_order(orderable.main, order(orderable, inventory), agreed=True)
    stale = timezone.now() - timedelta(seconds=settings.CCEONE_RECOVERY_STALE_SECONDS + 1)
    OperationLog.objects.filter(pk=create_log(federation).pk).update(heartbeat_at=stale)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.recover_stalled_operations() == {"resumed": 1, "failed": 0}
    federation.refresh_from_db()
    assert federation.status == Status.RUNNING
    assert "Resume after a lost worker" in create_log(federation).steps.values_list("name", flat=True)

    settings.CCEONE_RECOVERY_MAX_RESUMES = 0
    with django_capture_on_commit_callbacks(execute=False):
        stuck = services.place_order(orderable.main, order(orderable, inventory, name="fed-two"), agreed=True)
    OperationLog.objects.filter(pk=create_log(stuck).pk).update(heartbeat_at=stale)
    assert tasks.recover_stalled_operations() == {"resumed": 0, "failed": 1}
    stuck.refresh_from_db()
    assert stuck.status == Status.FAILED and create_log(stuck).status == "failed"


def test_provisioning_twice_does_nothing_twice(orderable, inventory, karmada, django_capture_on_commit_callbacks):
    register_control_plane(karmada)
    federation = place(orderable, inventory, django_capture_on_commit_callbacks)
    steps = create_log(federation).steps.count()
    assert services.provision(federation.pk) is None
    assert create_log(federation).steps.count() == steps


# --- karmada-operator ------------------------------------------------------------------

KARMADA_OPERATOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "karmadas.operator.karmada.io"},
    "spec": {"group": "operator.karmada.io", "scope": "Namespaced",
             "names": {"plural": "karmadas", "singular": "karmada", "kind": "Karmada", "listKind": "KarmadaList"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}


@pytest.fixture
def host_cluster(tenant):
    """A registered cluster running karmada-operator (reached directly here; through the hub
    in production: the provisioner only sees the gateway)."""
    server = EmulatorServer(tls=True, controllers=False).start()
    server.emulator.apply_object(KARMADA_OPERATOR_CRD)
    server.emulator.apply_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "karmada-system"}})
    cloud = CloudProviderCluster(account=tenant.account, region=Region.default(), name="karmada-host",
                                 edition="cce_managed", api_endpoint=server.url,
                                 ca_data=server.certificates.ca_pem.decode())
    cloud.token = "admin-token"
    cloud.save()
    cluster = ClusterFactory(account=tenant.account, name="karmada-host", cloud_cluster=cloud,
                             connection_mode=RegisteredCluster.ConnectionMode.DIRECT)
    KarmadaOperatorHost.objects.create(region=Region.default(), cluster=cluster, namespace="karmada-system")
    yield server
    server.stop()


def act_as_karmada_operator(host, karmada, name):
    """What karmada-operator does for a Karmada object: the control plane comes up, the admin
    kubeconfig is written to a Secret (with a client certificate in system:masters, as
    karmada-operator writes it), the object's status says Ready and names the Secret."""
    kubeconfig = karmada.kubeconfig("admin-token")
    cert, key = karmada.certificates.client_certificate("system:admin", ("system:masters",))
    kubeconfig["users"][0]["user"] = {"client-certificate-data": base64.b64encode(cert).decode(),
                                      "client-key-data": base64.b64encode(key).decode()}
    host.emulator.put_object({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                              "metadata": {"name": f"{name}-admin-config", "namespace": "karmada-system"},
                              "data": {"karmada.config": base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()}})
    obj = host.emulator.get_object("operator.karmada.io/v1alpha1", "Karmada", name, "karmada-system")
    obj["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "Completed"}],
                     "secretRef": {"namespace": "karmada-system", "name": f"{name}-admin-config"}}
    host.emulator.put_object(obj)


def test_karmada_operator_creates_the_object_waits_for_ready_and_keeps_the_kubeconfig(
        orderable, inventory, karmada, host_cluster, settings, django_capture_on_commit_callbacks):
    settings.CCEONE_FEDERATION_PROVISIONER = "karmada-operator"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        federation = services.place_order(orderable.main, order(orderable, inventory), agreed=True)
    assert services.provision(federation.pk) == settings.CCEONE_FEDERATION_POLL_SECONDS
    created = host_cluster.api_client()
    from kubernetes import client as k8s

    objects = k8s.CustomObjectsApi(created).list_namespaced_custom_object(
        "operator.karmada.io", "v1alpha1", "karmada-system", "karmadas")["items"]
    assert [o["metadata"]["name"] for o in objects] == [f"federation-{federation.pk}"]
    assert objects[0]["metadata"]["labels"] == {"cceone.io/federation": str(federation.pk)}
    # Not ready yet: the federation waits (and says nothing failed).
    assert services.provision(federation.pk) == settings.CCEONE_FEDERATION_POLL_SECONDS
    federation.refresh_from_db()
    assert federation.status == Status.CREATING
    act_as_karmada_operator(host_cluster, karmada, f"federation-{federation.pk}")
    assert services.provision(federation.pk) is None
    federation.refresh_from_db()
    assert federation.status == Status.RUNNING and federation.karmada_version == KARMADA_VERSION
    plane = federation.control_plane
    assert plane.source == "karmada_operator" and plane.api_endpoint == karmada.url
    assert plane.token == "" and plane.client_cert.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" in plane.client_key and "PRIVATE KEY" not in plane.client_key_encrypted
    names = list(create_log(federation).steps.values_list("name", flat=True))
    assert names[-3:] == ["Create the Karmada object", "Karmada control plane ready",
                          "Connect to the Karmada API server"]
    assert callbacks  # the order sent its provisioning


def test_karmada_operator_not_ready_in_time_fails(orderable, inventory, host_cluster, settings,
                                                  django_capture_on_commit_callbacks):
    settings.CCEONE_FEDERATION_PROVISIONER = "karmada-operator"
    settings.CCEONE_FEDERATION_OPERATOR_TIMEOUT = 0
    with django_capture_on_commit_callbacks(execute=False):
        federation = services.place_order(orderable.main, order(orderable, inventory), agreed=True)
    services.provision(federation.pk)
    assert services.provision(federation.pk) is None
    federation.refresh_from_db()
    assert federation.status == Status.FAILED
    message = create_log(federation).steps.get(status="failed").display_message
    assert message.startswith("The Karmada control plane was not ready after 0 minutes")
    # Failing deletes what it created: the Karmada object and the control-plane record.
    assert not KarmadaControlPlane.objects.exists()
    assert host_cluster.emulator.list_objects("operator.karmada.io/v1alpha1", "Karmada", "karmada-system") == []


def test_karmada_operator_without_a_host_is_refused_at_the_order(orderable, inventory, settings):
    settings.CCEONE_FEDERATION_PROVISIONER = "karmada-operator"
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.place_order(orderable.main, order(orderable, inventory), agreed=True)
    assert "No host cluster for Karmada control planes" in str(refused.value)
    assert not Federation.objects.exists()


def test_an_upgrade_is_recorded_in_the_operation_log(orderable, inventory, karmada,
                                                     django_capture_on_commit_callbacks):
    register_control_plane(karmada)
    federation = place(orderable, inventory, django_capture_on_commit_callbacks)
    assert tasks.refresh_versions() == {"checked": 1, "upgraded": 0}
    karmada.emulator.version = "v1.13.0"  # the operators upgraded the control plane
    assert tasks.refresh_versions() == {"checked": 1, "upgraded": 1}
    federation.refresh_from_db()
    assert federation.karmada_version == "v1.13.0"
    upgrade = OperationLog.objects.get(target_type="federation", target_id=str(federation.pk), operation="upgrade")
    assert [(s.name, s.display_message) for s in upgrade.steps.all()] == [
        ("Karmada upgraded", f"From {KARMADA_VERSION} to v1.13.0.")]
    page = client_for(orderable.main).get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert "Karmada upgraded" in page and "v1.13.0" in page
