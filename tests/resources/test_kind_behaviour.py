"""A kind's behaviour is declared on its registry entry, and the generic pages follow it: a
kind another app registers gets redaction, a typed-name delete confirmation, its related
objects, its detail extras and its own pages by declaring them, with no page of its own."""
import pytest

from cceone.audit.models import AuditEvent
from resources import registry, related
from tests.conftest import client_for
from tests.resources.conftest import page


def _hide_pull_secrets(obj: dict) -> None:
    obj["imagePullSecrets"] = [{"name": "<hidden>"} for _ref in obj.get("imagePullSecrets") or []]


def _pull_secrets(api, obj) -> list:
    names = [ref["name"] for ref in obj.get("imagePullSecrets") or []]
    return [related.Related("Pull secrets", links=[(n, "secrets", obj["metadata"]["namespace"], n) for n in names])]


def _token_count(view, obj) -> dict:
    return {"config_data": [("pull secrets", str(len(obj.get("imagePullSecrets") or [])))]}


@pytest.fixture
def service_accounts(monkeypatch, emulator):
    """ServiceAccounts, declared as another app would: hidden pull secrets in the YAML view
    (revealed, audited, in the editor), a typed-name delete, the pull secrets as related
    objects and an extra on the detail page."""
    kind = registry.Kind(
        "ServiceAccount", "serviceaccounts", "", "v1", True, "configuration", "ServiceAccounts", "ServiceAccount",
        conditions=False, show_status=False, redact=_hide_pull_secrets, related=_pull_secrets, events=False,
        delete_confirmation=registry.DeleteConfirmation(
            warning="Pods running as it lose their identity.", refusal="Type %(name)s to delete it."),
        detail_context=_token_count, detail_template="resources/partials/configmap_data.html",
        template="apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: robot\n")
    monkeypatch.setitem(registry._KINDS, kind.plural, kind)  # registered for this test only
    emulator.emulator.put_objects([{"apiVersion": "v1", "kind": "ServiceAccount",
                                    "metadata": {"name": "robot", "namespace": "prod"},
                                    "imagePullSecrets": [{"name": "registry-token"}]}])
    return kind


def test_a_declared_kind_is_listed_and_shown_with_its_behaviour(cluster, tenant, service_accounts):
    client = client_for(tenant.main)
    assert ">robot</a>" in client.get(page(cluster, "serviceaccounts") + "?namespace=prod").content.decode()
    detail = client.get(page(cluster, "serviceaccounts", "prod", "robot")).content.decode()
    assert "Pull secrets" in detail and page(cluster, "secrets", "prod", "registry-token") in detail
    assert 'id="config-data"' in detail and "pull secrets" in detail
    as_yaml = client.get(page(cluster, "serviceaccounts", "prod", "robot") + "?tab=yaml").content.decode()
    assert "registry-token" not in as_yaml and "&lt;hidden&gt;" in as_yaml
    editor = client.get(page(cluster, "serviceaccounts", "prod", "robot", "edit")).content.decode()
    assert "registry-token" in editor  # the editor shows what the YAML view hides: an audited reveal
    assert AuditEvent.objects.filter(actor=tenant.main, action="k8s:reveal-serviceaccount",
                                     details__name="robot").exists()


def test_a_declared_delete_confirmation_is_asked_for(cluster, tenant, emulator, service_accounts):
    client = client_for(tenant.main)
    url = page(cluster, "serviceaccounts", "prod", "robot", "delete")
    assert "Pods running as it lose their identity." in client.get(url).content.decode()
    refused = client.post(url, {"confirmation": "nope"})
    assert refused.status_code == 422 and "Type robot to delete it." in refused.content.decode()
    assert emulator.emulator.get_object("v1", "ServiceAccount", "robot", "prod") is not None
    assert client.post(url, {"confirmation": "robot"}).status_code == 302
    assert emulator.emulator.get_object("v1", "ServiceAccount", "robot", "prod") is None


def test_a_kinds_own_pages_exist_only_if_it_declares_them(cluster, tenant, service_accounts):
    client = client_for(tenant.main)
    assert client.get(page(cluster, "serviceaccounts", "prod", "robot", "logs")).status_code == 404
    assert client.post(page(cluster, "serviceaccounts", "prod", "robot", "cordon")).status_code == 404
