"""The backup pages and their API twins as a user meets them: back up a namespace, watch it
complete, dry-run a restore into another cluster under a new namespace with the registry
replaced, restore it, download and delete; empty states say what to do; other tenants 404."""
import io
import tarfile

import pytest
from django.urls import reverse

from backups.models import Backup, BackupSchedule, Restore
from cceone.audit.models import AuditEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_empty_states_say_what_to_do(tenant):
    page = client_for(tenant.main).get(reverse("backups:list")).content.decode()
    assert "Add a storage location first." in page and reverse("backups:location-create") in page
    page = client_for(tenant.user).get(reverse("backups:list")).content.decode()
    assert "Ask your administrator to add a storage location." in page


def test_empty_backup_list_offers_to_create_one(tenant, location):
    page = client_for(tenant.user).get(reverse("backups:list")).content.decode()
    assert "There are no backups yet." in page and reverse("backups:create") in page
    page = client_for(tenant.viewer).get(reverse("backups:list")).content.decode()
    assert "Ask your administrator for the permission to back up clusters." in page


def test_back_up_dry_run_and_restore_through_the_pages(tenant, source, target, location, target_server):
    client = client_for(tenant.user)
    form = client.get(reverse("backups:create")).content.decode()
    assert "idc-source" in form and "oss-main" in form
    response = client.post(reverse("backups:create"), {
        "name": "shop-1", "cluster": source.pk, "location": location.pk, "namespaces": "shop",
        "excluded_kinds": "Widget", "include_pv_data": "on"})
    backup = Backup.objects.get(name="shop-1")
    assert response.status_code == 302 and response["Location"] == reverse("backups:detail", args=[backup.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'data-phase="completed"' in page and "Deployment" in page
    assert "Requested; volume data is not backed up (manifests only)." in page
    response = client.post(reverse("backups:restore", args=[backup.pk]), {
        "target": target.pk, "namespace_mapping": "shop=shop-cloud", "conflict_policy": "skip",
        "rule0_kinds": "Deployment", "rule0_attribute": "image", "rule0_old": "harbor.old", "rule0_new": "harbor.new",
        "submit": "dry-run"})
    dry = Restore.objects.get(dry_run=True)
    assert response["Location"] == reverse("backups:restore-detail", args=[dry.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Namespaces to create" in page and "shop-cloud" in page
    assert "harbor.new/shop/web:1.2" in page  # in the diff of the new deployment
    assert target_server.emulator.get_object("v1", "Namespace", "shop-cloud") is None
    response = client.post(reverse("backups:restore-apply", args=[dry.pk]))
    restore = Restore.objects.get(dry_run=False)
    assert restore.phase == "completed" and restore.cleansing_rules == dry.cleansing_rules
    page = client.get(response["Location"]).content.decode()
    assert "created" in page and "shop-cloud" in page
    deployment = target_server.emulator.get_object("apps/v1", "Deployment", "web", "shop-cloud")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "harbor.new/shop/web:1.2"
    assert AuditEvent.objects.filter(action="backups:restore", target_name=restore.name).exists()


def test_bad_restore_input_is_refused_on_the_form_and_nothing_starts(tenant, source, target, location):
    from backups import services

    backup = services.start_backup(tenant.user, cluster=source, location=location, name="shop-1",
                                   namespaces=["shop"])
    client = client_for(tenant.user)
    page = client.post(reverse("backups:restore", args=[backup.pk]), {
        "target": target.pk, "namespace_mapping": "shop=Shop_Cloud", "conflict_policy": "skip",
        "submit": "restore"}).content.decode()
    assert "“Shop_Cloud” is not a namespace name." in page
    page = client.post(reverse("backups:restore", args=[backup.pk]), {
        "target": target.pk, "conflict_policy": "skip", "rule0_attribute": "image", "rule0_old": "[", "rule0_new": "x",
        "rule0_mode": "regex", "submit": "restore"}).content.decode()
    assert "Cleansing rule 1: the regular expression does not compile" in page
    page = client.post(reverse("backups:restore", args=[backup.pk]), {
        "target": target.pk, "conflict_policy": "skip", "rule0_attribute": "spec..image", "rule0_old": "a",
        "rule0_new": "b", "submit": "restore"}).content.decode()
    assert "is not a path such as" in page
    assert not Restore.objects.exists()


def test_download_gives_the_tarball_and_delete_removes_it_from_the_bucket(tenant, source, location, s3):
    from backups import services

    backup = services.start_backup(tenant.user, cluster=source, location=location, name="shop-1",
                                   namespaces=["shop"])
    backup.refresh_from_db()
    assert client_for(tenant.viewer).get(reverse("backups:download", args=[backup.pk])).status_code == 403
    response = client_for(tenant.user).get(reverse("backups:download", args=[backup.pk]))
    data = b"".join(response.streaming_content)
    assert response["Content-Disposition"] == 'attachment; filename="shop-1.tar.gz"'
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert "manifest.json" in tar.getnames()
    api = client_for(tenant.user).get(f"/api/v1/backups/{backup.pk}/download/")
    assert b"".join(api.streaming_content) == data
    response = client_for(tenant.user).post(reverse("backups:delete", args=[backup.pk]))
    assert response.status_code == 302 and not Backup.objects.exists() and s3.keys(location.bucket) == []


def test_api_backup_and_dry_run_and_other_tenants(tenant, other_tenant, source, target, location, target_server):
    client = client_for(tenant.user)
    created = client.post("/api/v1/backups/", {"name": "shop-1", "cluster": source.pk, "location": location.pk,
                                               "namespaces": ["shop"], "excluded_kinds": ["Widget"]},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["phase"] == "completed" and created.json()["item_count"] > 5
    pk = created.json()["id"]
    dry = client.post(f"/api/v1/backups/{pk}/dry-run/", {
        "target": target.pk, "namespace_mapping": {"shop": "shop-cloud"},
        "cleansing_rules": [{"kinds": ["Deployment"], "operations": [{"attribute": "image", "old": "harbor.old",
                                                                       "new": "harbor.new"}]}]},
        content_type="application/json")
    assert dry.status_code == 201 and dry.json()["counts"]["new"] > 3
    assert dry.json()["preflight"]["namespaces_to_create"][0]["what"] == "shop-cloud"
    bad = client.post("/api/v1/backups/", {"name": "Shop 1", "cluster": source.pk, "location": location.pk},
                      content_type="application/json")
    assert bad.status_code == 400 and "lowercase letters" in bad.json()["name"][0]
    other = client_for(other_tenant.main)
    assert other.get(f"/api/v1/backups/{pk}/").status_code == 404
    assert other.get(reverse("backups:detail", args=[pk])).status_code == 404
    assert other.get(reverse("backups:restore-detail", args=[dry.json()["id"]])).status_code == 404
    assert other.post(f"/api/v1/backups/{pk}/restore/", {"target": target.pk},
                      content_type="application/json").status_code == 404
    foreign = other.post("/api/v1/backups/", {"name": "steal", "cluster": source.pk, "location": location.pk},
                         content_type="application/json")
    assert foreign.status_code == 400 and not Backup.objects.filter(name="steal").exists()
    assert other.get("/api/v1/backups/").json()["results"] == []
    # A viewer may look but not restore.
    viewer = client_for(tenant.viewer)
    assert viewer.get(f"/api/v1/backups/{pk}/").status_code == 200
    assert viewer.post(f"/api/v1/backups/{pk}/restore/", {"target": target.pk},
                       content_type="application/json").status_code == 403


def test_schedule_runs_backups_and_keeps_the_newest(tenant, source, location, s3):
    from django_celery_beat.models import PeriodicTask

    from backups import services, tasks

    client = client_for(tenant.user)
    response = client.post(reverse("backups:schedule-create"), {
        "name": "nightly", "cluster": source.pk, "location": location.pk, "crontab": "0 2 * * *", "keep_last": 2,
        "namespaces": "shop"})
    assert response.status_code == 302, response.content.decode()
    schedule = BackupSchedule.objects.get()
    beat = PeriodicTask.objects.get(name=f"backup-schedule-{schedule.pk}")
    assert beat.task == "backups.tasks.scheduled_backup" and str(beat.crontab.hour) == "2"
    bad = client.post(reverse("backups:schedule-create"), {
        "name": "broken", "cluster": source.pk, "location": location.pk, "crontab": "every night", "keep_last": 2})
    assert "Give five fields" in bad.content.decode()
    for _turn in range(3):
        tasks.scheduled_backup(schedule.pk)
    names = list(Backup.objects.filter(schedule=schedule).values_list("name", flat=True))
    assert len(names) == 2 and len(s3.keys(location.bucket)) == 2
    services.delete_schedule(tenant.user, schedule)
    assert not PeriodicTask.objects.filter(name=f"backup-schedule-{schedule.pk}").exists()
    assert Backup.objects.count() == 2  # the backups it made stay
