"""Who may do what with registered clusters, in the pages and the API; two tenants; the
access configuration page's actions."""
from datetime import timedelta

import pytest
from django.urls import reverse

from cceone.audit.models import AuditEvent
from clusters.models import KubeconfigToken, RegisteredCluster
from tests.conftest import PERSONAS, client_for
from tests.factories import ClusterFactory

READ = {"main", "admin", "user", "viewer"}
WRITE = {"main", "admin", "user"}
ORDER = {"main", "admin"}


@pytest.fixture
def cluster(tenant):
    return ClusterFactory(account=tenant.account, name="edge-01", deletion_protection=False)


PAGES = [("clusters:overview", READ), ("clusters:access", READ), ("clusters:operations", READ),
         ("clusters:unsubscribe", ORDER)]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page, allowed", PAGES)
def test_cluster_pages_by_persona(tenant, cluster, persona, page, allowed):
    response = client_for(tenant.persona(persona)).get(reverse(page, args=[cluster.pk]))
    assert response.status_code == (200 if persona in allowed else 403)


@pytest.mark.parametrize("persona", PERSONAS)
def test_cluster_list_by_persona(tenant, cluster, persona):
    response = client_for(tenant.persona(persona)).get(reverse("clusters:list"))
    assert response.status_code == (200 if persona in READ else 403)
    if persona in READ:
        content = response.content.decode()
        assert "edge-01" in content
        assert ("Register cluster" in content) is (persona in ORDER)


@pytest.mark.parametrize("persona", PERSONAS)
def test_settings_changes_by_persona(tenant, cluster, persona, django_capture_on_commit_callbacks):
    client = client_for(tenant.persona(persona))
    client.post(reverse("clusters:access-action", args=[cluster.pk, "protection"]), {"enabled": "on"})
    with django_capture_on_commit_callbacks(execute=True):  # the worker binds it
        client.post(reverse("clusters:access-action", args=[cluster.pk, "bind-eip"]))
    cluster.refresh_from_db()
    assert cluster.deletion_protection is (persona in WRITE)
    assert bool(cluster.eip_address) is (persona in WRITE)


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_by_persona(tenant, cluster, persona):
    client = client_for(tenant.persona(persona))
    listing = client.get("/api/v1/clusters/")
    patched = client.patch(f"/api/v1/clusters/{cluster.pk}/", {"deletion_protection": True},
                           content_type="application/json")
    unsubscribed = client.post(f"/api/v1/clusters/{cluster.pk}/unsubscribe/")
    assert listing.status_code == (200 if persona in READ else 403)
    assert patched.status_code == (200 if persona in WRITE else 403)
    # Deletion protection was just turned on (by those allowed to): unsubscribe is refused.
    assert unsubscribed.status_code == (400 if persona in ORDER else 403)


def test_other_tenant_sees_nothing(tenant, other_tenant, cluster):
    client = client_for(other_tenant.main)
    assert "edge-01" not in client.get(reverse("clusters:list"), {"all_regions": "on"}).content.decode()
    assert "edge-01" not in client.get("/api/v1/clusters/", {"all_regions": "true"}).content.decode()
    for page in ("clusters:overview", "clusters:access", "clusters:operations", "clusters:unsubscribe"):
        assert client.get(reverse(page, args=[cluster.pk])).status_code == 404
    for action in ("protection", "bind-eip", "kubeconfig", "revoke-all"):
        assert client.post(reverse("clusters:access-action", args=[cluster.pk, action])).status_code == 404
    assert client.get(f"/api/v1/clusters/{cluster.pk}/").status_code == 404
    assert client.post(f"/api/v1/clusters/{cluster.pk}/unsubscribe/").status_code == 404
    assert client.post(f"/api/v1/clusters/{cluster.pk}/kubeconfigs/").status_code == 404
    assert client.get(reverse("clusters:agent-yaml", args=[cluster.pk, "public"])).status_code == 404
    cluster.refresh_from_db()
    assert cluster.status == "running" and not cluster.eip_address


def test_list_defaults_to_the_current_region(tenant):
    from cceone.iam.models import Region

    ClusterFactory(account=tenant.account, name="east-01")
    ClusterFactory(account=tenant.account, name="south-01", region=Region.objects.get(code="cn-south-1"))
    client = client_for(tenant.main)
    page = client.get(reverse("clusters:list")).content.decode()
    assert "east-01" in page and "south-01" not in page
    everything = client.get(reverse("clusters:list"), {"all_regions": "on"}).content.decode()
    assert "east-01" in everything and "south-01" in everything
    found = client.get(reverse("clusters:list"), {"q": "sou", "all_regions": "on"}).content.decode()
    assert "south-01" in found and "east-01" not in found


def test_deletion_protection_and_eip_changes_are_audited(tenant, cluster, django_capture_on_commit_callbacks):
    client = client_for(tenant.user)
    client.post(reverse("clusters:access-action", args=[cluster.pk, "protection"]), {"enabled": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("clusters:access-action", args=[cluster.pk, "bind-eip"]))
    cluster.refresh_from_db()
    page = client.get(reverse("clusters:access", args=[cluster.pk])).content.decode()
    assert cluster.eip_address in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("clusters:access-action", args=[cluster.pk, "unbind-eip"]))
    actions = list(AuditEvent.objects.filter(target_id=str(cluster.pk), actor=tenant.user)
                   .order_by("time").values_list("action", flat=True))
    assert actions == ["clusters:update", "clusters:bind-eip", "clusters:unbind-eip"]


def test_temporary_kubeconfig_expiry_bounds_and_revocation(tenant, cluster, settings):
    client = client_for(tenant.viewer)
    url = lambda action: reverse("clusters:access-action", args=[cluster.pk, action])  # noqa: E731
    too_long = client.post(url("temporary-kubeconfig"), {"hours": settings.CCEONE_KUBECONFIG_MAX_HOURS + 1})
    assert "Ensure this value is less than or equal to" in too_long.content.decode()
    assert client.post(url("temporary-kubeconfig"), {"hours": 0}).status_code == 200
    assert not KubeconfigToken.objects.exists()
    issued = client.post(url("temporary-kubeconfig"), {"hours": 2})
    assert issued.status_code == 302  # redirect after POST: a refresh issues nothing more
    page = client.get(issued["Location"]).content.decode()
    token = KubeconfigToken.objects.get(user=tenant.viewer)
    assert "kind: Config" in page and f"/k8s/clusters/{cluster.pk}" in page
    assert "kind: Config" not in client.get(issued["Location"]).content.decode()  # shown once
    assert timedelta(hours=1, minutes=59) < token.expires_at - token.created_at <= timedelta(hours=2)
    client.post(url("kubeconfig"))
    assert KubeconfigToken.objects.filter(user=tenant.viewer, revoked_at__isnull=True).count() == 2
    client.post(url("revoke-all"))
    assert KubeconfigToken.objects.filter(user=tenant.viewer, revoked_at__isnull=True).count() == 0
    listing = client.get(reverse("clusters:access", args=[cluster.pk]) + "?tab=connection").content.decode()
    assert listing.count("Revoked") >= 2


def test_kubeconfigs_through_the_api(tenant, cluster):
    client = client_for(tenant.user)
    issued = client.post(f"/api/v1/clusters/{cluster.pk}/kubeconfigs/", {"hours": 3},
                         content_type="application/json").json()
    assert "current-context" in issued["kubeconfig"] and issued["expires_at"]
    assert len(client.get(f"/api/v1/clusters/{cluster.pk}/kubeconfigs/").json()) == 1
    assert client.delete(f"/api/v1/clusters/{cluster.pk}/kubeconfigs/{issued['id']}/").status_code == 204
    assert KubeconfigToken.objects.get(pk=issued["id"]).revoked_at is not None
    # Someone else's kubeconfig cannot be revoked.
    other = client_for(tenant.main).post(f"/api/v1/clusters/{cluster.pk}/kubeconfigs/").json()
    assert client.delete(f"/api/v1/clusters/{cluster.pk}/kubeconfigs/{other['id']}/").status_code == 404


def test_order_through_the_api(tenant, django_capture_on_commit_callbacks):
    from tests.factories import make_inventory, ready_to_order

    inventory = make_inventory()
    ready_to_order(tenant.account)
    client = client_for(tenant.admin)
    body = {"cluster_type": "local", "name": "api-cluster-1", "provider": "k3s", "enterprise_project": "default",
            "vpc": inventory["vpc"].pk, "subnet": inventory["subnet"].pk,
            "apiserver_spec": inventory["apiserver_spec"].pk, "agreed": False}
    refused = client.post("/api/v1/clusters/", body, content_type="application/json")
    assert refused.status_code == 400 and "service agreement" in refused.content.decode()
    checks = client.post("/api/v1/clusters/precheck/", body, content_type="application/json").json()
    assert [c["key"] for c in checks["checks"]] == ["quota"] or "quota" in [c["key"] for c in checks["checks"]]
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/clusters/", {**body, "agreed": True}, content_type="application/json")
    assert created.status_code == 201
    cluster = RegisteredCluster.objects.get(name="api-cluster-1")
    assert cluster.status == "pending_access"
    yaml_text = client.get(f"/api/v1/clusters/{cluster.pk}/agent-yaml/", {"variant": "private"}).content.decode()
    assert "cceone-cluster-agent" in yaml_text
    logs = client.get(f"/api/v1/clusters/{cluster.pk}/operation-logs/").json()
    assert logs[0]["operation"] == "create" and logs[0]["steps"][0]["name"] == "Order accepted"


def _with_agent_token(cluster):
    from cceone import crypto
    from clusters import connectivity

    token = connectivity.issue_agent_token(cluster)
    cluster.agent_token_encrypted = crypto.encrypt(token)
    cluster.save(update_fields=["agent_token_encrypted"])
    return token


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_writers_see_the_agent_token(tenant, cluster, persona):
    """Whoever holds the agent token can connect as the cluster's agent: a viewer must not
    get it from the access tab, the YAML download or the API."""
    token = _with_agent_token(cluster)
    client = client_for(tenant.persona(persona))
    page = client.get(reverse("clusters:access", args=[cluster.pk]), {"tab": "access"})
    download = client.get(reverse("clusters:agent-yaml", args=[cluster.pk, "public"]))
    api = client.get(f"/api/v1/clusters/{cluster.pk}/agent-yaml/")
    writer = persona in WRITE
    assert page.status_code == (200 if persona in READ else 403)
    if persona in READ:
        content = page.content.decode()
        assert (token in content) is writer
        assert (reverse("clusters:agent-yaml", args=[cluster.pk, "public"]) in content) is writer
        assert ("only users who may change the cluster" in content) is not writer
    assert download.status_code == (200 if writer else 403)
    assert (token in download.content.decode()) is writer
    assert api.status_code == (200 if writer else 403)
    assert (token in api.content.decode()) is writer


@pytest.mark.parametrize("persona", PERSONAS)
def test_rotating_the_agent_token_by_persona(tenant, cluster, persona, settings, django_capture_on_commit_callbacks):
    settings.CCEONE_AGENT_TOKEN_GRACE_MINUTES = 30
    old = _with_agent_token(cluster)
    client = client_for(tenant.persona(persona))
    with django_capture_on_commit_callbacks(execute=True):  # each re-issue runs in the worker
        page = client.post(reverse("clusters:access-action", args=[cluster.pk, "rotate-agent-token"]), follow=True)
    with django_capture_on_commit_callbacks(execute=True):
        api = client.post(f"/api/v1/clusters/{cluster.pk}/rotate-agent-token/")
    cluster.refresh_from_db()
    from cceone.hub.directory import hash_token

    rotations = AuditEvent.objects.filter(action="clusters:rotate-agent-token", target_id=str(cluster.pk))
    if persona in WRITE:
        assert api.status_code == 202 and rotations.count() == 2
        assert "Apply the new agent YAML within 30 minutes" in page.content.decode()
        assert cluster.agent_token_hash != hash_token(old)
        # The second rotation's grace covers the first rotation's token, not the original one.
        assert cluster.previous_agent_token_hash not in (None, hash_token(old))
        assert timedelta(minutes=29) < cluster.previous_agent_token_expires_at - rotations.first().time
    else:
        assert api.status_code == 403 and rotations.count() == 0
        assert cluster.agent_token_hash == hash_token(old) and cluster.previous_agent_token_hash is None
