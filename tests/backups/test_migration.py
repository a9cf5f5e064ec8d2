"""The migration wizard (R6.1): an application moved from one registered cluster to another
by backup, dry run and — once the user confirmed — restore, with the steps' progress and
results on one page and its API twin. End to end through the hub and two agents; the API
and the failures against clusters reached directly."""
import pytest
from django.urls import reverse

from backups import services
from backups.models import Backup, Migration, Restore
from cceone.audit.models import AuditEvent
from sandbox.kubesim.runner import EmulatorServer
from tests.backups.conftest import shop
from tests.conftest import client_for
from tests.live import connect_cluster

pytestmark = pytest.mark.django_db(transaction=True)

REGISTRY_RULE = [{"kinds": ["Deployment"], "operations": [{"attribute": "image", "old": "harbor.old",
                                                             "new": "harbor.new"}]}]


@pytest.fixture
def second_emulator():
    with EmulatorServer(seed_files=["local-3node"]) as server:
        yield server


@pytest.fixture
def edge_target(tenant, start_agent, second_emulator, tmp_path):
    """A second local cluster, its own emulator behind its own agent."""
    return connect_cluster(tenant.account, start_agent, "edge-02",
                           kubeconfig_path=second_emulator.write_kubeconfig(tmp_path / "edge-02.yaml"))


def step_states(page: str) -> list[str]:
    import re

    return re.findall(r'data-step="\d" data-state="(\w+)"', page)


def test_migrate_an_application_between_two_agent_clusters_through_the_wizard(
        tenant, connected_cluster, emulator, edge_target, second_emulator, location):
    shop(emulator.emulator)
    client = client_for(tenant.user)
    form = client.get(f"{reverse('backups:migration-create')}?source={connected_cluster.pk}").content.decode()
    assert "edge-01" in form and "edge-02" in form and "oss-main" in form
    assert f'<option value="{connected_cluster.pk}" selected>' in form
    response = client.post(reverse("backups:migration-create"), {
        "name": "shop-to-edge", "source": connected_cluster.pk, "target": edge_target.pk, "location": location.pk,
        "namespaces": "shop", "excluded_kinds": "Widget", "namespace_mapping": "shop=shop-edge",
        "conflict_policy": "skip", "rule0_kinds": "Deployment", "rule0_attribute": "image",
        "rule0_old": "harbor.old", "rule0_new": "harbor.new"})
    migration = Migration.objects.get()
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert response["Location"] == reverse("backups:migration-detail", args=[migration.pk])

    # Backed up and dry-run: the flow waits for the user, nothing is written to the target yet.
    assert migration.state == "awaiting_confirmation", migration.message
    assert migration.backup.name == "shop-to-edge-backup" and migration.backup.phase == "completed"
    assert migration.dry_run.dry_run and migration.dry_run.target == edge_target
    page = client.get(response["Location"]).content.decode()
    assert step_states(page) == ["done", "done", "running", "waiting"]
    assert 'id="confirm-migration"' in page
    assert "<code>shop-edge</code>" in page  # the pre-flight: a namespace to create
    # The claim's storage class "nfs" is not in the target: said before anything is written.
    assert "<code>nfs</code>" in page and "The pre-flight found 1 problem that would make objects fail" in page
    assert "New: " in page  # the dry run's counts
    assert second_emulator.emulator.get_object("v1", "Namespace", "shop-edge") is None

    response = client.post(reverse("backups:migration-confirm", args=[migration.pk]))
    assert response["Location"] == reverse("backups:migration-detail", args=[migration.pk])
    migration.refresh_from_db()
    assert migration.state == "completed", (migration.message, migration.restore.results)
    page = client.get(response["Location"]).content.decode()
    assert step_states(page) == ["done", "done", "done", "done"]
    assert "Created: " in page and 'data-state="completed"' in page and 'id="confirm-migration"' not in page
    deployment = second_emulator.emulator.get_object("apps/v1", "Deployment", "web", "shop-edge")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "harbor.new/shop/web:1.2"
    assert second_emulator.emulator.get_object("v1", "ConfigMap", "web-config", "shop-edge")["data"] == {
        "LOG_LEVEL": "info"}
    assert emulator.emulator.get_object("apps/v1", "Deployment", "web", "shop") is not None  # the source stays

    operations = [e.details.get("operation") for e in AuditEvent.objects.filter(
        action="backups:migrate", target_name="shop-to-edge").order_by("pk")]
    assert operations == ["start", "confirm", "finish"]
    again = client.post(reverse("backups:migration-confirm", args=[migration.pk]), follow=True).content.decode()
    assert "is not waiting for confirmation" in again and Restore.objects.filter(dry_run=False).count() == 1

    # Both clusters' consoles reach it: the source lists the backup, the target the restore.
    overview = client.get(reverse("clusters:overview", args=[connected_cluster.pk])).content.decode()
    assert reverse("backups:cluster", args=[connected_cluster.pk]) in overview
    source_page = client.get(reverse("backups:cluster", args=[connected_cluster.pk])).content.decode()
    assert "shop-to-edge-backup" in source_page and reverse("backups:migration-detail", args=[migration.pk]) in \
        source_page
    target_page = client.get(reverse("backups:cluster", args=[edge_target.pk])).content.decode()
    assert "shop-to-edge-restore" in target_page and "shop-to-edge-backup" not in target_page.split(
        'id="cluster-restores"')[0]


def test_the_api_twin_starts_confirms_and_cancels(tenant, other_tenant, source, target, location, target_server):
    client = client_for(tenant.user)
    body = {"name": "shop-move", "source": source.pk, "target": target.pk, "location": location.pk,
            "namespaces": ["shop"], "excluded_kinds": ["Widget"], "namespace_mapping": {"shop": "shop-cloud"},
            "cleansing_rules": REGISTRY_RULE}
    same = client.post("/api/v1/backup-migrations/", {**body, "target": source.pk}, content_type="application/json")
    assert same.status_code == 400 and same.json()["target"] == ["Choose a target cluster other than the source."]
    viewer = client_for(tenant.viewer).post("/api/v1/backup-migrations/", body, content_type="application/json")
    assert viewer.status_code == 403 and not Migration.objects.exists()
    created = client.post("/api/v1/backup-migrations/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["state"] == "awaiting_confirmation" and data["backup"] and data["dry_run"] and data["restore"] is None
    dry = client.get(f"/api/v1/restores/{data['dry_run']}/").json()
    assert dry["preflight"]["namespaces_to_create"][0]["what"] == "shop-cloud" and dry["counts"]["new"] > 3
    taken = client.post("/api/v1/backup-migrations/", body, content_type="application/json")
    assert taken.status_code == 400 and taken.json()["name"] == ["A migration with this name exists."]

    other = client_for(other_tenant.main)
    assert other.get(f"/api/v1/backup-migrations/{data['id']}/").status_code == 404
    assert other.post(f"/api/v1/backup-migrations/{data['id']}/confirm/").status_code == 404
    assert other.get(reverse("backups:migration-detail", args=[data["id"]])).status_code == 404
    assert other.get("/api/v1/backup-migrations/").json()["results"] == []
    assert client_for(tenant.viewer).post(f"/api/v1/backup-migrations/{data['id']}/confirm/").status_code == 403

    done = client.post(f"/api/v1/backup-migrations/{data['id']}/confirm/")
    assert done.status_code == 200 and done.json()["state"] == "completed", done.json()
    assert target_server.emulator.get_object("apps/v1", "Deployment", "web", "shop-cloud")["spec"]["template"][
        "spec"]["containers"][0]["image"] == "harbor.new/shop/web:1.2"
    assert client.post(f"/api/v1/backup-migrations/{data['id']}/cancel/").status_code == 400

    # Stopped after the dry run: nothing restored, the backup stays.
    second = client.post("/api/v1/backup-migrations/", {**body, "name": "shop-try",
                                                        "namespace_mapping": {"shop": "shop-try"}},
                         content_type="application/json").json()
    cancelled = client.post(f"/api/v1/backup-migrations/{second['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.post(f"/api/v1/backup-migrations/{second['id']}/confirm/").json() == {
        "detail": ["Migration “shop-try” is not waiting for confirmation."]}
    assert target_server.emulator.get_object("v1", "Namespace", "shop-try") is None
    assert Backup.objects.filter(name="shop-try-backup", phase="completed").exists()
    page = client.get(reverse("backups:migration-detail", args=[second["id"]])).content.decode()
    assert step_states(page) == ["done", "done", "skipped", "skipped"]
    listed = client.get(reverse("backups:migrations")).content.decode()
    assert "shop-move" in listed and "shop-try" in listed


def test_a_failed_backup_ends_the_migration_with_its_reason_and_nothing_is_restored(
        tenant, source, target, location, s3, target_server):
    s3.client().delete_bucket(Bucket=location.bucket)
    before = target_server.emulator.resource_version
    migration = services.start_migration(tenant.user, name="doomed", source=source, target=target, location=location,
                                         namespaces=["shop"])
    migration.refresh_from_db()
    assert migration.state == "failed" and migration.message.startswith("The backup of the source failed:")
    assert "bucket" in migration.message.lower()
    assert not Restore.objects.exists() and target_server.emulator.resource_version == before
    page = client_for(tenant.user).get(reverse("backups:migration-detail", args=[migration.pk])).content.decode()
    assert step_states(page) == ["failed", "skipped", "skipped", "skipped"]
    assert migration.message.split(":")[0] in page
    finish = AuditEvent.objects.get(action="backups:migrate", details__operation="finish")
    assert finish.result == "failed"


def test_wizard_refuses_bad_input_on_the_form_and_nothing_starts(tenant, source, target, location):
    client = client_for(tenant.user)
    page = client.post(reverse("backups:migration-create"), {
        "name": "Shop Move", "source": source.pk, "target": target.pk, "location": location.pk,
        "conflict_policy": "skip"}).content.decode()
    assert "2-40 characters" in page
    page = client.post(reverse("backups:migration-create"), {
        "name": "shop-move", "source": source.pk, "target": target.pk, "location": location.pk,
        "namespace_mapping": "shop=Shop_Cloud", "conflict_policy": "skip"}).content.decode()
    assert "“Shop_Cloud” is not a namespace name." in page
    page = client.post(reverse("backups:migration-create"), {
        "name": "shop-move", "source": source.pk, "target": target.pk, "location": location.pk,
        "conflict_policy": "skip", "rule0_attribute": "image", "rule0_old": "[", "rule0_new": "x",
        "rule0_mode": "regex"}).content.decode()
    assert "Cleansing rule 1: the regular expression does not compile" in page
    assert not Migration.objects.exists() and not Backup.objects.exists()
    assert client_for(tenant.viewer).get(reverse("backups:migration-create")).status_code == 403
