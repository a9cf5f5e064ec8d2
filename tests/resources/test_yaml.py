"""The YAML editor: multi-document creation, optimistic concurrency on edit, and every
kind of bad input explained next to the editor with nothing changed."""
import pytest
import yaml

from tests.conftest import client_for
from tests.resources.conftest import page, textarea

BUNDLE = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec: {containers: [{name: cart, image: "nginx:1.27"}]}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{port: 80}]
"""


def _create(client, cluster, text, kind="deployments", namespace="default"):
    return client.post(page(cluster, kind, action="create"), {"mode": "yaml", "yaml": text,
                                                              "default_namespace": namespace})


def _errors(response) -> str:
    return response.content.decode().split('id="editor-errors"', 1)[1].split("</div>\n", 1)[0]


def test_a_multi_document_yaml_creates_every_object_in_order(cluster, tenant, emulator):
    client = client_for(tenant.main)
    response = _create(client, cluster, BUNDLE)
    assert response.status_code == 302 and response.url == page(cluster, "deployments", "shop", "cart")
    assert emulator.emulator.get_object("v1", "Namespace", "shop") is not None
    assert emulator.emulator.get_object("v1", "Service", "cart", "shop") is not None
    pods = emulator.emulator.list_objects("v1", "Pod", "shop", label_selector="app=cart")
    assert len(pods) == 2  # the Deployment really runs
    follow = client.get(response.url)
    assert "Created Namespace shop, Deployment cart, Service cart." in follow.content.decode()


def test_objects_without_a_namespace_go_to_the_chosen_one(cluster, tenant, emulator):
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n"
    assert _create(client_for(tenant.main), cluster, text, "configmaps", "staging").status_code == 302
    assert emulator.emulator.get_object("v1", "ConfigMap", "settings", "staging")["data"] == {"a": "1"}


@pytest.mark.parametrize("text, reason", [
    ("kind: [unclosed", "Invalid YAML at line 1, column 16: expected &#x27;,&#x27; or &#x27;]&#x27;"),
    ("a: b\n  c: d\n", "Invalid YAML at line 2, column 4: mapping values are not allowed here"),
    ("- just\n- a list\n", "Document 1 is not a Kubernetes object."),
    ("metadata: {name: x}\n", "Document 1 needs apiVersion and kind."),
    ("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
     "Document 1: Widget (example.com/v1) is not a kind this console manages."),
    ("apiVersion: v1\nkind: ConfigMap\ndata: {}\n", "Document 1 has no metadata.name."),
    ("", "The YAML contains no object."),
])
def test_bad_yaml_is_explained_next_to_the_editor(cluster, tenant, text, reason):
    response = _create(client_for(tenant.main), cluster, text)
    assert response.status_code == 422
    assert reason in _errors(response)
    assert textarea(response) == text or text == ""  # the user's text stays in the editor


def test_a_server_side_validation_error_is_shown_and_nothing_is_created(cluster, tenant, emulator):
    broken = BUNDLE.replace("template:\n    metadata: {labels: {app: cart}}",
                            "template:\n    metadata: {labels: {app: other}}")
    response = _create(client_for(tenant.main), cluster, broken.split("---", 1)[1].replace(
        "namespace: shop", "namespace: default"))
    assert response.status_code == 422
    errors = _errors(response)
    assert "Document 1 (Deployment cart)" in errors and "`selector` does not match template `labels`" in errors
    assert emulator.emulator.get_object("apps/v1", "Deployment", "cart", "default") is None
    assert emulator.emulator.get_object("v1", "Service", "cart", "default") is None  # the valid one neither


def test_a_bad_document_after_good_ones_creates_nothing(cluster, tenant, emulator):
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n"
            "apiVersion: v1\nkind: Pod\nmetadata: {name: second}\nspec: {containers: []}\n")
    response = _create(client_for(tenant.main), cluster, text)
    assert response.status_code == 422
    assert "Document 2 (Pod second)" in _errors(response) and "spec.containers: Required value" in _errors(response)
    assert emulator.emulator.get_object("v1", "ConfigMap", "first", "default") is None


def test_creating_an_existing_object_says_so(cluster, tenant):
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: prod}\n"
    response = _create(client_for(tenant.main), cluster, text, "configmaps")
    assert response.status_code == 409
    assert "already exists" in _errors(response)


# --- edit ---------------------------------------------------------------------------------

def _editor(client, cluster):
    response = client.get(page(cluster, "configmaps", "prod", "web-config", "edit"))
    return yaml.safe_load(textarea(response))


def test_edit_saves_with_the_resource_version_it_was_read_at(cluster, tenant, emulator):
    client = client_for(tenant.main)
    obj = _editor(client, cluster)
    assert "status" not in obj and "managedFields" not in obj["metadata"]
    obj["data"] = {"mode": "fast"}
    response = client.post(page(cluster, "configmaps", "prod", "web-config", "edit"), {"yaml": yaml.safe_dump(obj)})
    assert response.status_code == 302
    assert emulator.emulator.get_object("v1", "ConfigMap", "web-config", "prod")["data"] == {"mode": "fast"}


def test_a_concurrent_change_is_a_conflict_that_shows_the_new_version(cluster, tenant, emulator):
    client = client_for(tenant.main)
    mine = _editor(client, cluster)
    theirs = emulator.emulator.get_object("v1", "ConfigMap", "web-config", "prod")
    emulator.emulator.apply_object({**theirs, "data": {"changed": "by-someone-else"}})
    mine["data"] = {"changed": "by-me"}
    response = client.post(page(cluster, "configmaps", "prod", "web-config", "edit"), {"yaml": yaml.safe_dump(mine)})
    assert response.status_code == 409
    assert "Someone else changed this ConfigMap since you opened it." in _errors(response)
    latest = yaml.safe_load(textarea(response))
    assert latest["data"] == {"changed": "by-someone-else"}
    assert latest["metadata"]["resourceVersion"] != mine["metadata"]["resourceVersion"]
    assert "by-me" in response.content.decode().split('id="your-version"', 1)[1]
    assert emulator.emulator.get_object("v1", "ConfigMap", "web-config", "prod")["data"] == {
        "changed": "by-someone-else"}


@pytest.mark.parametrize("change, reason", [
    (lambda o: o.update(kind="Secret"), "The kind cannot be changed: this object is a ConfigMap (v1)."),
    (lambda o: o["metadata"].update(name="renamed"), "The name and namespace cannot be changed"),
    (lambda o: o["metadata"].update(namespace="staging"), "The name and namespace cannot be changed"),
    (lambda o: o["metadata"].pop("resourceVersion"), "Keep metadata.resourceVersion"),
])
def test_edits_the_console_cannot_make_are_refused(cluster, tenant, emulator, change, reason):
    client = client_for(tenant.main)
    obj = _editor(client, cluster)
    before = emulator.emulator.get_object("v1", "ConfigMap", "web-config", "prod")
    change(obj)
    response = client.post(page(cluster, "configmaps", "prod", "web-config", "edit"), {"yaml": yaml.safe_dump(obj)})
    assert response.status_code == 422
    assert reason in _errors(response)
    assert emulator.emulator.get_object("v1", "ConfigMap", "web-config", "prod") == before


def test_an_edit_the_server_rejects_is_explained(cluster, tenant, emulator):
    client = client_for(tenant.main)
    response = client.get(page(cluster, "deployments", "prod", "web", "edit"))
    obj = yaml.safe_load(textarea(response))
    obj["spec"]["template"]["spec"]["containers"] = []
    saved = client.post(page(cluster, "deployments", "prod", "web", "edit"), {"yaml": yaml.safe_dump(obj)})
    assert saved.status_code == 422
    assert "spec.template.spec.containers: Required value" in _errors(saved)
    assert emulator.emulator.get_object("apps/v1", "Deployment", "web", "prod")["spec"]["template"]["spec"]["containers"]
