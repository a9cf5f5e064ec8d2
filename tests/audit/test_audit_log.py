"""The audit log: what gets recorded, who sees it, and its filters on page and API."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cceone.audit.models import AuditEvent
from tests.conftest import PERSONAS, client_for

READERS = {"main", "admin", "user", "viewer"}


@pytest.mark.parametrize("persona", PERSONAS)
def test_audit_page_access(tenant, persona):
    response = client_for(tenant.persona(persona)).get(reverse("audit:list"))
    assert response.status_code == (200 if persona in READERS else 403)


def test_a_denied_page_visit_is_recorded_with_where_it_came_from(tenant):
    client = client_for(tenant.viewer)
    client.get(reverse("iam:user-add"), HTTP_USER_AGENT="pytest-browser/1.0", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(result=AuditEvent.Result.DENIED)
    assert event.action == "iam:create"
    assert event.actor_name == "acme-viewer"
    assert event.source_ip == "10.1.2.3"
    assert event.user_agent == "pytest-browser/1.0"
    assert event.region == "cn-east-1"
    page = client_for(tenant.main).get(reverse("audit:list"), {"result": "denied"}).content.decode()
    assert "acme-viewer" in page and "iam:create" in page


def test_a_denied_api_call_is_recorded(tenant):
    response = client_for(tenant.viewer).post("/api/v1/iam/groups/", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert AuditEvent.objects.filter(actor=tenant.viewer, action="iam:create", result="denied").exists()


def test_filters_by_user_action_result_and_time(tenant):
    client = client_for(tenant.main)
    client.post(reverse("iam:project-add"), {"name": "alpha"})
    client_for(tenant.viewer).get(reverse("iam:project-add"))
    old = AuditEvent.objects.create(account=tenant.account, actor_name="acme", action="iam:update",
                                    target_name="ancient", time=timezone.now() - timedelta(days=40))
    api = "/api/v1/audit/events/"
    by_user = client.get(api, {"user": "acme-viewer"}).json()["results"]
    assert {e["actor_name"] for e in by_user} == {"acme-viewer"}
    created = client.get(api, {"action": "iam:create", "result": "success", "target": "alpha"}).json()["results"]
    assert [e["target_name"] for e in created] == ["alpha"]
    since = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    recent = client.get(reverse("audit:list"), {"since": since}).content.decode()
    assert "alpha" in recent and "ancient" not in recent
    assert old.target_name in client.get(reverse("audit:list")).content.decode()


def test_audit_list_paginates(tenant):
    before = AuditEvent.objects.filter(account=tenant.account).count()
    AuditEvent.objects.bulk_create([
        AuditEvent(account=tenant.account, actor_name="acme", action="iam:update", target_name=f"t{i}")
        for i in range(120)
    ])
    client = client_for(tenant.main)
    assert client.get("/api/v1/audit/events/").json()["count"] == before + 120
    page2 = client.get(reverse("audit:list"), {"page": 3}).content.decode()
    assert page2.count("iam:update") >= 20
    assert client.get(reverse("audit:list"), {"page": 2}, HTTP_HX_REQUEST="true",
                      HTTP_HX_TARGET="object-table").content.decode().lstrip().startswith("<div")
