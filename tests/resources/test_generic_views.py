"""The generic resource pages serve every kind of the registry, on a cluster reached
through the hub and its agent: list, detail, create from YAML, edit as YAML, delete.
Parametrized over the registry, so a kind added to it is tested by adding it."""
import re

import pytest
import yaml

from cceone.audit.models import AuditEvent
from resources import registry
from resources.targets import get_type
from tests.conftest import client_for
from tests.resources.conftest import page, textarea

KINDS = [kind.plural for kind in registry.all_kinds() if get_type("cluster").serves(kind)]


def test_the_registry_describes_every_kind_the_console_shows():
    assert set(KINDS) == {
        "namespaces", "deployments", "statefulsets", "daemonsets", "jobs", "cronjobs", "pods", "services",
        "ingresses", "configmaps", "secrets", "persistentvolumes", "persistentvolumeclaims", "storageclasses",
        "nodes", "events"}
    for kind in registry.all_kinds():
        if kind.creatable:
            template = yaml.safe_load(kind.template)
            assert (template["apiVersion"], template["kind"]) == (kind.api_version, kind.kind)
        assert kind.category in registry.CATEGORIES and kind.nav_section in registry.SECTIONS


@pytest.mark.parametrize("plural", KINDS)
def test_every_kind_lists_and_shows_its_objects(cluster, tenant, emulator, plural):
    kind = registry.get(plural)
    seeded = emulator.emulator.list_objects(kind.api_version, kind.kind)
    assert seeded, f"the local-3node seed has no {kind.kind}"
    obj = seeded[-1]["metadata"]
    client = client_for(tenant.main)
    listing = client.get(page(cluster, plural) + "?namespace=")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert f">{obj['name']}</a>" in text and str(kind.label) in text
    for column in kind.columns:
        assert f"{column.label}" in text
    namespace = obj.get("namespace") if kind.namespaced else None
    detail = client.get(page(cluster, plural, namespace, obj["name"]))
    assert detail.status_code == 200
    assert obj["name"] in detail.content.decode() and 'id="metadata"' in detail.content.decode()
    as_yaml = client.get(page(cluster, plural, namespace, obj["name"]) + "?tab=yaml")
    assert f"kind: {kind.kind}" in as_yaml.content.decode()


def _create(client, cluster, kind, text):
    return client.post(page(cluster, kind.plural, action="create"),
                       {"mode": "yaml", "yaml": text, "default_namespace": "default"})


@pytest.mark.parametrize("plural", KINDS)
def test_every_kind_is_created_edited_and_deleted_from_yaml(cluster, tenant, emulator, plural):
    kind = registry.get(plural)
    client = client_for(tenant.main)
    name = yaml.safe_load(kind.template)["metadata"]["name"]
    namespace = "default" if kind.namespaced else None

    created = _create(client, cluster, kind, kind.template)
    assert created.status_code == 302
    assert created.url == page(cluster, plural, namespace, name)
    assert emulator.emulator.get_object(kind.api_version, kind.kind, name, namespace) is not None
    assert name in client.get(created.url).content.decode()
    listing = client.get(page(cluster, plural) + ("?namespace=default" if namespace else ""))
    assert f">{name}</a>" in listing.content.decode()

    editor = client.get(page(cluster, plural, namespace, name, "edit"))
    assert editor.status_code == 200
    edited = yaml.safe_load(textarea(editor))
    assert edited["metadata"]["resourceVersion"]
    edited["metadata"].setdefault("labels", {})["edited-by"] = "console"
    saved = client.post(page(cluster, plural, namespace, name, "edit"), {"yaml": yaml.safe_dump(edited)})
    assert saved.status_code == 302
    stored = emulator.emulator.get_object(kind.api_version, kind.kind, name, namespace)
    assert stored["metadata"]["labels"]["edited-by"] == "console"

    confirm = client.get(page(cluster, plural, namespace, name, "delete"))
    assert confirm.status_code == 200
    deleted = client.post(page(cluster, plural, namespace, name, "delete"), {"confirmation": name})
    assert deleted.status_code == 302 and deleted.url == page(cluster, plural)
    assert emulator.emulator.get_object(kind.api_version, kind.kind, name, namespace) is None

    audited = AuditEvent.objects.filter(actor=tenant.main, target_type="cluster", target_id=str(cluster.pk),
                                        details__kind=kind.kind, details__name=name, result="success")
    expected = {"k8s:create", "k8s:update", "k8s:delete"} | ({"k8s:reveal-secret"} if plural == "secrets" else set())
    assert set(audited.values_list("action", flat=True)) == expected


def test_the_create_page_starts_from_the_kinds_template(cluster, tenant):
    response = client_for(tenant.main).get(page(cluster, "statefulsets", action="create") + "?mode=yaml")
    assert "kind: StatefulSet" in textarea(response)


@pytest.mark.parametrize("plural", ["namespaces", "deployments", "statefulsets", "daemonsets", "jobs", "cronjobs",
                                    "services", "ingresses", "configmaps", "secrets", "persistentvolumeclaims",
                                    "persistentvolumes", "storageclasses"])
def test_kinds_with_a_form_open_it_first(cluster, tenant, plural):
    response = client_for(tenant.main).get(page(cluster, plural, action="create"))
    assert 'id="form-tab"' in response.content.decode() and 'name="name"' in response.content.decode()


def test_an_objects_creation_time_is_in_the_consoles_time_zone(cluster, tenant, emulator):
    web = emulator.emulator.get_object("apps/v1", "Deployment", "web", "prod")
    web["metadata"]["creationTimestamp"] = "2026-01-02T03:04:05Z"
    emulator.emulator.put_object(web)
    page_text = client_for(tenant.main).get(page(cluster, "deployments", "prod", "web")).content.decode()
    assert re.search(r'id="object-created">2026-01-02 11:04:05 \(', page_text)  # Asia/Shanghai, as every table


def test_an_object_that_does_not_exist_is_a_clear_404(cluster, tenant):
    response = client_for(tenant.main).get(page(cluster, "deployments", "prod", "no-such-app"))
    assert response.status_code == 404
    assert "Not found" in response.content.decode() and "no-such-app" in response.content.decode()


def test_a_kind_outside_the_registry_is_not_found(cluster, tenant):
    assert client_for(tenant.main).get(page(cluster, "rolebindings")).status_code == 404


def test_scope_mismatch_in_the_url_is_not_found(cluster, tenant):
    client = client_for(tenant.main)
    assert client.get(page(cluster, "nodes", "default", "worker-1")).status_code == 404
    assert client.get(page(cluster, "deployments", None, "web")).status_code == 404


@pytest.mark.parametrize("url", [
    ("deployments", "prod", "web", "logs"), ("configmaps", "prod", "web-config", "reveal"),
    ("pods", "prod", "web-9dc7954c7-fffd7", "drain"), ("services", "prod", "web", "cordon"),
    ("persistentvolumes", None, "pvc-bf92c077-421c-5b05-be43-69e6afc826cb", "taints"),
])
def test_kind_specific_pages_exist_only_for_their_kind(cluster, tenant, url):
    plural, namespace, name, action = url
    client = client_for(tenant.main)
    assert client.get(page(cluster, plural, namespace, name, action)).status_code == 404
    assert client.post(page(cluster, plural, namespace, name, action)).status_code == 404


def test_a_reference_to_a_name_no_page_can_hold_is_shown_as_text(cluster, tenant, emulator):
    # The API server checks an object's own name, not the names inside its owner references.
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "Not a DNS name!", "uid": "u-1"}
    emulator.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}, "metadata": {
        "name": "odd-owner", "namespace": "prod", "ownerReferences": [owner]}})
    emulator.emulator.put_object({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "odd-pod", "namespace": "prod",
                                                        "ownerReferences": [{**owner, "kind": "ReplicaSet"}]},
        "spec": {"nodeName": "worker-1", "containers": [{"name": "app", "image": "nginx"}]},
        "status": {"phase": "Running"}})
    client = client_for(tenant.main)
    for plural, name, shown in (("configmaps", "odd-owner", "Deployment/Not a DNS name!"),
                                ("pods", "odd-pod", "ReplicaSet/Not a DNS name!")):
        response = client.get(page(cluster, plural, "prod", name))
        assert response.status_code == 200, plural
        assert shown in response.content.decode()
