"""A cluster's console offers only what the cluster lets the user do (#13 item 20): the same
RBAC the API server applies to the impersonated user decides whether Create, Edit YAML,
Delete, Scale, Restart, Cordon, Drain, taints and labels are offered."""
import re

import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.live import grant
from tests.resources.conftest import page

WORKLOAD_BUTTONS = ['id="edit-button"', 'id="delete-button"', 'id="scale-form"', 'id="restart-button"']
NODE_BUTTONS = ['id="cordon-button"', 'id="drain-button"', 'id="taint-form"', 'id="labels-form"']


def read_nodes(emulator, user):
    """Built-in `view` and `edit` reach namespaces only; nodes are read with a role of their own."""
    emulator.emulator.put_object({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                  "metadata": {"name": "test-node-reader"},
                                  "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]})
    grant(emulator, user, "test-node-reader")


def pages(client, cluster):
    listing = client.get(page(cluster, "deployments") + "?namespace=prod")
    detail = client.get(page(cluster, "deployments", "prod", "web"))
    node = client.get(page(cluster, "nodes", name="worker-1"))
    assert listing.status_code == detail.status_code == node.status_code == 200
    return listing.content.decode(), detail.content.decode(), node.content.decode()


def test_a_read_only_user_is_offered_no_writes(cluster, emulator, tenant):
    grant(emulator, tenant.viewer, "view")
    read_nodes(emulator, tenant.viewer)
    listing, detail, node = pages(client_for(tenant.viewer), cluster)
    assert 'id="create-button"' not in listing
    assert "/_edit/" not in listing and "/_delete/" not in listing
    for button in WORKLOAD_BUTTONS:
        assert button not in detail
    for button in NODE_BUTTONS:
        assert button not in node
    assert 'id="node-labels"' in node  # the labels still show, read-only


def test_a_cluster_admin_is_offered_every_write(cluster, tenant):
    listing, detail, node = pages(client_for(tenant.main), cluster)
    assert 'id="create-button"' in listing
    assert "/prod/web/_edit/" in listing and "/prod/web/_delete/" in listing
    for button in WORKLOAD_BUTTONS:
        assert button in detail
    for button in NODE_BUTTONS:
        assert button in node
    # A federation's workloads lead to their placement and drift; a cluster's have neither.
    assert 'id="placement-button"' not in detail and 'id="drift-button"' not in detail
    assert 'id="status-note"' not in detail  # a cluster's status is its own
    assert re.findall(r'class="nav-entry active" href="([^"]+)"', detail) == [reverse("clusters:list")]


def test_an_editor_of_workloads_is_offered_their_writes_but_not_the_nodes(cluster, emulator, tenant):
    grant(emulator, tenant.user, "edit")
    read_nodes(emulator, tenant.user)
    listing, detail, node = pages(client_for(tenant.user), cluster)
    assert 'id="create-button"' in listing and "/prod/web/_edit/" in listing
    for button in WORKLOAD_BUTTONS:
        assert button in detail
    for button in NODE_BUTTONS:
        assert button not in node


@pytest.mark.parametrize("namespace, offered", [("prod", True), ("staging", False)])
def test_a_namespace_editor_is_offered_writes_only_in_that_namespace(cluster, emulator, tenant, namespace, offered):
    grant(emulator, tenant.user, "view")
    grant(emulator, tenant.user, "edit", namespace="prod")
    client = client_for(tenant.user)
    listing = client.get(page(cluster, "deployments") + f"?namespace={namespace}").content.decode()
    assert ('id="create-button"' in listing) is offered
    assert (f"/{namespace}/web/_edit/" in listing) is offered
