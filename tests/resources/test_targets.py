"""The resource pages know a target only through the target registry and the gateway's
target interface, so another kind of target (the federation's Karmada API server) is
served by the same views. Shown here with a target reached directly, not through a hub."""
from dataclasses import dataclass

import pytest

from cceone.audit.models import AuditEvent
from cceone.kube.targets import Endpoint
from resources import targets
from tests.conftest import client_for
from tests.live import grant
from tests.resources.conftest import page


@dataclass
class DirectTarget:
    """A KubeTarget that is no registered cluster: an API server reached with a token."""

    pk: int
    name: str
    account_id: int
    url: str

    def kube_endpoint(self):
        return Endpoint(host=self.url, cache_key=f"direct-{self.pk}", token="admin-token")

    def unreachable_message(self, *, answered=True):
        return f"{self.name} does not answer."


@pytest.fixture
def direct(emulator, tenant, monkeypatch):
    target = DirectTarget(pk=7, name="karmada-like", account_id=tenant.account.pk, url=emulator.url)

    def lookup(user, target_id, check_status):
        from django.http import Http404

        if target_id != "7" or user.account_id != target.account_id:
            raise Http404
        return target

    monkeypatch.setitem(targets._TYPES, "direct", targets.TargetType(
        name="direct", lookup=lookup, iam_action="clusters:get", kinds=("deployments", "pods", "configmaps"),
        label="Direct"))
    grant(emulator, tenant.main, "cluster-admin")
    return target


def test_the_same_views_serve_another_target_type(direct, tenant, emulator):
    client = client_for(tenant.main)
    listing = client.get(page(direct, "deployments", target_type="direct") + "?namespace=prod")
    text = listing.content.decode()
    assert listing.status_code == 200 and ">web</a>" in text and "karmada-like" in text
    tabs = text.split('id="target-tabs"', 1)[1].split("</ul>", 1)[0]
    assert "Workloads" in tabs and "Configuration" in tabs and "Nodes" not in tabs  # only the kinds it serves
    created = client.post(page(direct, "configmaps", action="create", target_type="direct"),
                          {"mode": "yaml", "yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: routed}",
                           "default_namespace": "prod"})
    assert created.status_code == 302
    assert created.url == page(direct, "configmaps", "prod", "routed", target_type="direct")
    assert emulator.emulator.get_object("v1", "ConfigMap", "routed", "prod") is not None
    event = AuditEvent.objects.get(action="k8s:create")
    assert (event.target_type, event.target_id, event.target_name) == ("direct", "7", "karmada-like")


def test_kinds_a_target_does_not_serve_are_not_found(direct, tenant):
    assert client_for(tenant.main).get(page(direct, "nodes", target_type="direct")).status_code == 404


def test_another_tenant_cannot_reach_it(direct, other_tenant):
    assert client_for(other_tenant.main).get(page(direct, "pods", target_type="direct")).status_code == 404


def test_an_unreachable_target_is_explained(direct, tenant):
    direct.url = "http://127.0.0.1:9"
    response = client_for(tenant.main).get(page(direct, "pods", target_type="direct") + "?namespace=prod")
    assert response.status_code == 502 and "karmada-like does not answer." in response.content.decode()
