"""Add-on management (R3.9) against an emulated cluster through the hub and its agent: install
with parameters (server-side apply, our field manager), upgrade, uninstall; uninstall leaves no
object with the add-on's label, and objects the add-on did not install are never touched."""
import re

import pytest
from django.urls import reverse

from addons import catalogue
from addons.models import AddonInstallation
from cceone.audit.models import AuditEvent, OperationLog
from tests.conftest import client_for
from tests.live import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


# What the cluster's own endpoint controllers make from a Service (they copy its labels, and go
# with it): not objects the add-on applied.
DERIVED = {"Endpoints", "EndpointSlice"}


def labelled(emulator, addon: str) -> list[tuple[str, str, str]]:
    """Every object in the emulated cluster carrying the add-on's label, of any kind the add-on
    applies (not the Endpoints derived from its Services)."""
    found = []
    for obj in _all_objects(emulator):
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(catalogue.LABEL_NAME) == addon and obj.get("kind") not in DERIVED:
            found.append((obj.get("kind"), obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))
    return sorted(found)


def _all_objects(emulator):
    for rt in emulator.emulator.registry.all():
        yield from ({**o, "kind": rt.kind} for o in emulator.emulator.store.iter(rt.key))


def installation(cluster, addon) -> AddonInstallation:
    return AddonInstallation.objects.get(cluster=cluster, addon=addon)


def test_install_upgrade_uninstall_through_hub_and_agent(connected_cluster, emulator, tenant):
    client = client_for(tenant.main)
    page = client.get(reverse("addons:cluster", args=[connected_cluster.pk])).content.decode()
    for name in catalogue.ADDONS:
        assert f'id="addon-{name}" data-status="uninstalled"' in page

    response = client.post(reverse("addons:install", args=[connected_cluster.pk, "ingress-nginx"]), {
        "version": "1.10.1", "replicas": "2", "service_type": "NodePort", "ingress_class": "public",
        "default_class": "on", "proxy_body_size": "8m", "image_registry": "mirror.example.com/k8s"})
    assert response.status_code == 302
    # The task ran (eagerly here) through the gateway, the hub and the agent.
    assert installation(connected_cluster, "ingress-nginx").status == "installed"
    deployment = emulator.emulator.get_object("apps/v1", "Deployment", "ingress-nginx-controller", "ingress-nginx")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "mirror.example.com/k8s/ingress-nginx/controller:v1.10.1"
    assert emulator.emulator.get_object("v1", "Service", "ingress-nginx-controller", "ingress-nginx")["spec"][
        "type"] == "NodePort"
    ingress_class = emulator.emulator.get_object("networking.k8s.io/v1", "IngressClass", "public")
    assert ingress_class["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
    installed = labelled(emulator, "ingress-nginx")
    assert len(installed) == len(catalogue.ADDONS["ingress-nginx"].render("1.10.1", catalogue.ADDONS[
        "ingress-nginx"].clean("1.10.1", {"ingress_class": "public", "default_class": True})))
    assert AuditEvent.objects.filter(action="addons:install", target_type="addon").exists()
    log = OperationLog.objects.get(target_type="addon", operation="create")
    assert log.status == "succeeded" and log.steps.filter(name="Apply").count() == len(installed)

    # Status: the installed version and its workloads, ready once the pods run.
    wait_until(lambda: "2/2" in _row(client, connected_cluster, "ingress-nginx"), timeout=20,
               what="the controller's replicas to be ready")
    row = _row(client, connected_cluster, "ingress-nginx")
    assert 'data-status="installed"' in row and "1.10.1" in row
    assert "Deployment ingress-nginx/ingress-nginx-controller" in row

    # Upgrade to the next version with one replica: the objects change in place.
    response = client.post(reverse("addons:upgrade", args=[connected_cluster.pk, "ingress-nginx"]), {
        "version": "1.11.2", "replicas": "1", "service_type": "ClusterIP", "ingress_class": "public",
        "proxy_body_size": "8m", "image_registry": "mirror.example.com/k8s"})
    assert response.status_code == 302
    assert installation(connected_cluster, "ingress-nginx").version == "1.11.2"
    deployment = emulator.emulator.get_object("apps/v1", "Deployment", "ingress-nginx-controller", "ingress-nginx")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1.11.2")
    assert deployment["metadata"]["labels"][catalogue.LABEL_VERSION] == "1.11.2"
    # An object of the user's own in the add-on's namespace is left alone by the uninstall.
    emulator.emulator.apply_object({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "mine", "namespace": "kube-system"}, "data": {"a": "1"}})
    response = client.post(reverse("addons:uninstall", args=[connected_cluster.pk, "ingress-nginx"]))
    assert response.status_code == 302
    assert installation(connected_cluster, "ingress-nginx").status == "uninstalled"
    assert labelled(emulator, "ingress-nginx") == []
    # What the cluster derived from its Services went with them.
    assert not [o for o in _all_objects(emulator)
                if ((o.get("metadata") or {}).get("labels") or {}).get(catalogue.LABEL_NAME) == "ingress-nginx"]
    assert emulator.emulator.get_object("v1", "Namespace", "ingress-nginx") is None or \
        emulator.emulator.get_object("v1", "Namespace", "ingress-nginx")["metadata"].get("deletionTimestamp")
    assert emulator.emulator.get_object("v1", "ConfigMap", "mine", "kube-system") is not None
    assert emulator.emulator.get_object("v1", "Namespace", "kube-system") is not None
    assert 'data-status="uninstalled"' in _row(client, connected_cluster, "ingress-nginx")


def _row(client, cluster, addon) -> str:
    html = client.get(reverse("addons:cluster", args=[cluster.pk])).content.decode()
    return re.search(rf'<tr id="addon-{addon}".*?</tr>', html, re.S).group(0)


def test_upgrade_prunes_what_the_new_parameters_no_longer_install(connected_cluster, emulator, tenant):
    client = client_for(tenant.main)
    url = f"/api/v1/addons/clusters/{connected_cluster.pk}/"
    response = client.post(url + "install/", {"addon": "backup-agent", "version": "1.0.0",
                                              "parameters": {"node_agent": True}}, content_type="application/json")
    assert response.status_code == 202, response.content
    assert ("DaemonSet", "cceone-backup", "node-agent") in labelled(emulator, "backup-agent")
    response = client.post(url + "upgrade/", {"addon": "backup-agent", "version": "1.1.0",
                                              "parameters": {"node_agent": False}}, content_type="application/json")
    assert response.status_code == 202
    assert ("DaemonSet", "cceone-backup", "node-agent") not in labelled(emulator, "backup-agent")
    status = {a["addon"]: a for a in client.get(url).json()["addons"]}["backup-agent"]
    assert status["installed_version"] == "1.1.0" and status["status"] == "installed"
    assert [w["name"] for w in status["workloads"]] == ["backup-agent"]
    response = client.post(url + "uninstall/", {"addon": "backup-agent"}, content_type="application/json")
    assert response.status_code == 202
    assert labelled(emulator, "backup-agent") == []


def test_parameters_are_validated_on_the_page_and_the_api(connected_cluster, tenant):
    client = client_for(tenant.main)
    page = client.post(reverse("addons:install", args=[connected_cluster.pk, "metrics-server"]),
                       {"version": "0.7.2", "replicas": "9", "image_registry": "Not A Registry!"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ensure this value is less than or equal to 5." in html
    api = client.post(f"/api/v1/addons/clusters/{connected_cluster.pk}/install/",
                      {"addon": "metrics-server", "version": "9.9.9",
                       "parameters": {"image_registry": "Not A Registry!", "colour": "blue"}},
                      content_type="application/json")
    assert api.status_code == 400
    errors = api.json()
    assert errors["version"] == ["metrics-server has no version 9.9.9 (available: 0.7.1, 0.7.2)."]
    assert errors["image_registry"] == ["Enter a registry host and path, such as registry.k8s.io or "
                                        "mirror.example.com/k8s."]
    assert errors["colour"] == ["metrics-server takes no parameter colour."]
    assert not AddonInstallation.objects.filter(cluster=connected_cluster).exists()


def test_an_object_the_addon_did_not_install_is_never_taken_over(connected_cluster, emulator, tenant):
    emulator.emulator.apply_object({"apiVersion": "v1", "kind": "ServiceAccount",
                                    "metadata": {"name": "metrics-server", "namespace": "kube-system"}})
    client = client_for(tenant.main)
    client.post(f"/api/v1/addons/clusters/{connected_cluster.pk}/install/", {"addon": "metrics-server"},
                content_type="application/json")
    failed = installation(connected_cluster, "metrics-server")
    assert failed.status == "failed"
    assert failed.display_message() == ("Failed: ServiceAccount kube-system/metrics-server already exists and was not "
                                        "installed by metrics-server: remove it or rename it first.")
    assert labelled(emulator, "metrics-server") == []  # nothing applied
    client.post(f"/api/v1/addons/clusters/{connected_cluster.pk}/uninstall/", {"addon": "metrics-server"},
                content_type="application/json")
    assert installation(connected_cluster, "metrics-server").status == "uninstalled"
    assert emulator.emulator.get_object("v1", "ServiceAccount", "metrics-server", "kube-system") is not None


def test_an_install_whose_worker_was_lost_is_resent_by_the_sweep_and_completes(connected_cluster, emulator, tenant,
                                                                               broker_queue, settings):
    """The message is sent to a queue no worker reads (the worker was lost): the beat sweep
    finds the silent operation and sends it again; run eagerly here, it installs everything."""
    from datetime import timedelta

    from celery import current_app
    from django.utils import timezone

    from addons import services
    from cceone.audit.models import OperationLog

    installation = services.install(tenant.main, connected_cluster, "node-exporter", "1.8.2", {})
    assert installation.status == "installing" and labelled(emulator, "node-exporter") == []
    OperationLog.objects.filter(pk=installation.operation_id).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.CCEONE_RECOVERY_STALE_SECONDS + 1))
    current_app.conf.task_always_eager = True  # the resent message runs here
    assert services.recover_stalled() == {"resumed": 1, "failed": 0}
    installation.refresh_from_db()
    assert installation.status == "installed" and installation.version == "1.8.2"
    assert ("DaemonSet", "kube-system", "node-exporter") in labelled(emulator, "node-exporter")
    assert OperationLog.objects.get(pk=installation.operation_id).resumes == 1


def test_the_create_or_replace_path_installs_and_upgrades_the_same(connected_cluster, emulator, tenant, monkeypatch):
    """For an API server without server-side apply: create, else replace, with our field manager."""
    from addons import kube, services

    monkeypatch.setattr(kube, "APPLY_MODE", "replace")
    services.install(tenant.main, connected_cluster, "metrics-server", "0.7.1", {"replicas": 2})
    assert installation(connected_cluster, "metrics-server").status == "installed"
    services.upgrade(tenant.main, installation(connected_cluster, "metrics-server"), "0.7.2", {"replicas": 3})
    assert installation(connected_cluster, "metrics-server").version == "0.7.2"
    deployment = emulator.emulator.get_object("apps/v1", "Deployment", "metrics-server", "kube-system")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v0.7.2")
    services.uninstall(tenant.main, installation(connected_cluster, "metrics-server"))
    assert labelled(emulator, "metrics-server") == []
