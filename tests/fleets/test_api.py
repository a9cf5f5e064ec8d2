"""The fleet and permission API (R8.2): the same operations and rules as the pages, in the
OpenAPI schema."""
from django.core.management import call_command

from cceone.audit.models import AuditEvent
from clusters.models import RegisteredCluster
from fleets.models import Fleet
from permissions.models import ClusterPermissionSync, CustomPermission, PermissionBinding
from tests.conftest import client_for
from tests.factories import ClusterFactory, FleetFactory

JSON = "application/json"


def test_fleet_lifecycle_through_the_api(tenant, django_capture_on_commit_callbacks):
    client = client_for(tenant.user)
    first, second = ClusterFactory(account=tenant.account, name="api-1"), ClusterFactory(account=tenant.account,
                                                                                         name="api-2")
    with django_capture_on_commit_callbacks(execute=True):  # each join is a change the worker applies
        created = client.post("/api/v1/fleets/", {"name": "api-fleet", "description": "d", "clusters": [first.pk]},
                              content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    assert [m["name"] for m in body["members"]] == ["api-1"]
    assert body["statistics"]["clusters"] == 1 and body["creator"] == "acme-user"
    fleet_id = body["id"]

    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(f"/api/v1/fleets/{fleet_id}/add-clusters/", {"clusters": [second.pk]},
                            content_type=JSON)
    assert added.status_code == 200 and {m["name"] for m in added.json()["members"]} == {"api-1", "api-2"}
    again = client.post(f"/api/v1/fleets/{fleet_id}/add-clusters/", {"clusters": [second.pk]}, content_type=JSON)
    assert again.status_code == 400 and "already in this fleet" in again.content.decode()

    refused = client.delete(f"/api/v1/fleets/{fleet_id}/")
    assert refused.status_code == 400
    assert "Remove its 2 cluster(s) from the fleet first." in refused.content.decode()

    for cluster in (first, second):
        with django_capture_on_commit_callbacks(execute=True):
            left = client.post(f"/api/v1/fleets/{fleet_id}/remove-cluster/", {"cluster": cluster.pk},
                               content_type=JSON)
        assert left.status_code == 200
    assert client.patch(f"/api/v1/fleets/{fleet_id}/", {"description": "empty now"},
                        content_type=JSON).json()["description"] == "empty now"
    assert client.delete(f"/api/v1/fleets/{fleet_id}/").status_code == 204
    assert not Fleet.objects.exists()
    assert list(AuditEvent.objects.filter(action__startswith="fleets:").order_by("id").values_list(
        "action", flat=True)) == ["fleets:create", "fleets:add-cluster", "fleets:add-cluster",
                                  "fleets:remove-cluster", "fleets:remove-cluster", "fleets:update",
                                  "fleets:delete"]


def test_custom_permissions_and_presets_through_the_api(tenant):
    client = client_for(tenant.admin)
    presets = client.get("/api/v1/permissions/presets/").json()
    assert [p["cluster_role"] for p in presets] == ["cceone:admin", "cceone:ops", "cceone:developer",
                                                    "cceone:restricted"]
    created = client.post("/api/v1/permissions/", {"name": "cm-reader", "description": "read config", "rules": [
        {"verbs": ["get", "list"], "resources": ["configmaps"]}]}, content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["cluster_role"] == f"cceone:custom:{body['id']}"
    assert body["policy_rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
    bad = client.post("/api/v1/permissions/", {"name": "bad", "rules": [{"verbs": [], "resources": "*"}]},
                      content_type=JSON)
    assert bad.status_code == 400 and "choose at least one operation" in bad.content.decode()
    changed = client.patch(f"/api/v1/permissions/{body['id']}/", {"rules": [{"verbs": ["get"], "resources": "*"}]},
                           content_type=JSON)
    assert changed.status_code == 200 and changed.json()["rules"] == [{"verbs": ["get"], "resources": "*"}]
    assert client.delete(f"/api/v1/permissions/{body['id']}/").status_code == 204
    assert not CustomPermission.objects.exists()


def test_associations_and_sync_state_through_the_api(tenant, django_capture_on_commit_callbacks):
    client = client_for(tenant.main)
    cluster = ClusterFactory(account=tenant.account, name="c-api")
    fleet = FleetFactory(account=tenant.account, name="f-api")
    with django_capture_on_commit_callbacks(execute=True):  # the sync runs, and fails: no agent
        created = client.post("/api/v1/permission-associations/", {
            "cluster": cluster.pk, "user": tenant.user.pk, "all_namespaces": False, "namespaces": ["a", "b"],
            "preset": "developer"}, content_type=JSON)
    assert created.status_code == 201, created.content
    binding = created.json()
    assert (binding["permission_name"], binding["namespaces"], binding["fleet"]) == ("Developer", ["a", "b"], None)
    state = client.get(f"/api/v1/permission-sync/{cluster.pk}/").json()
    assert state["permission_sync"]["state"] == "failed"
    assert state["permission_sync"]["error"] == "Cluster c-api is unreachable: the access hub does not answer."
    both = client.post("/api/v1/permission-associations/", {
        "cluster": cluster.pk, "fleet": fleet.pk, "user": tenant.user.pk, "preset": "ops"}, content_type=JSON)
    assert both.status_code == 400
    updated = client.patch(f"/api/v1/permission-associations/{binding['id']}/", {"preset": "restricted"},
                           content_type=JSON)
    assert updated.status_code == 200 and updated.json()["preset"] == "restricted"
    moved = client.patch(f"/api/v1/permission-associations/{binding['id']}/", {"user": tenant.viewer.pk},
                         content_type=JSON)
    assert moved.status_code == 400 and "cannot change" in moved.content.decode()

    retried = client.post(f"/api/v1/permission-sync/{cluster.pk}/retry/")
    assert retried.status_code == 202
    assert ClusterPermissionSync.objects.get(pk=cluster.pk).generation == 3  # associate, update, retry
    assert AuditEvent.objects.filter(action="permissions:sync-retry", target_id=str(cluster.pk)).exists()
    listing = client.get("/api/v1/permission-sync/?state=pending").json()
    assert [c["name"] for c in listing["results"]] == ["c-api"]

    assert client.delete(f"/api/v1/permission-associations/{binding['id']}/").status_code == 204
    assert not PermissionBinding.objects.exists()


def test_an_unsubscribed_cluster_takes_no_associations(tenant):
    gone = ClusterFactory(account=tenant.account, status=RegisteredCluster.Status.UNSUBSCRIBED)
    response = client_for(tenant.main).post("/api/v1/permission-associations/", {
        "cluster": gone.pk, "user": tenant.user.pk, "preset": "restricted"}, content_type=JSON)
    assert response.status_code == 400 and "unsubscribed" in response.content.decode()


def test_the_endpoints_are_in_the_openapi_schema_without_warnings(tenant, tmp_path):
    schema = client_for(tenant.main).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/fleets/", "/api/v1/fleets/{id}/add-clusters/", "/api/v1/fleets/{id}/remove-cluster/",
                 "/api/v1/permissions/", "/api/v1/permissions/presets/", "/api/v1/permission-associations/{id}/",
                 "/api/v1/permission-sync/{id}/retry/"):
        assert path in schema["paths"]
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
