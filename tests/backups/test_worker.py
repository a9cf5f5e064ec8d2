"""Real Celery workers on the real broker and the test's database: a backup of a cluster
reached through the hub and its agent, restored into another cluster under a new namespace
with the image registry replaced; and a worker killed mid-backup, after which no backup is
listed as complete until the beat sweep has a new worker make a whole one."""
import time

import pytest

from backups import services
from backups.models import Backup
from cceone.audit.models import AuditEvent
from cceone.celery import app
from cceone.logs import bind_request_id, unbind_request_id
from tests.backups.conftest import shop
from tests.live import wait_until
from tests.worker import Worker, purge

pytestmark = pytest.mark.django_db(transaction=True)
STALE = 2  # seconds without a heartbeat before the sweep steps in (5 minutes in production)


def test_backup_through_the_agent_restored_into_another_cluster_by_a_worker(
        connected_cluster, emulator, target, target_server, tenant, location, live_hub, broker_queue, tmp_path):
    shop(emulator.emulator)
    env = {"CCEONE_HUB_INTERNAL_URL": live_hub.internal_url, "CCEONE_HUB_SECRET": live_hub.secret}
    worker = Worker("backups", broker_queue, tmp_path, env=env)
    try:
        worker.wait_ready()
        # As if a console request started it: the worker's audit events name that request.
        token = bind_request_id("console-req-backup-1")
        try:
            backup = services.start_backup(tenant.user, cluster=connected_cluster, location=location, name="shop-1",
                                           namespaces=["shop"])
        finally:
            unbind_request_id(token)
        wait_until(lambda: Backup.objects.get(pk=backup.pk).finished, timeout=60, what="the backup")
        backup.refresh_from_db()
        assert backup.phase == "completed", (backup.message, worker.log()[-3000:])
        ran = AuditEvent.objects.get(action="backups:run", target_id=str(backup.pk))
        assert ran.request_id == "console-req-backup-1"
        restore = services.start_restore(
            tenant.user, backup, target=target, namespace_mapping={"shop": "shop-cloud"}, excluded_kinds=["Widget"],
            cleansing_rules=[{"operations": [{"attribute": "image", "old": "harbor.old", "new": "harbor.new"}]}])
        wait_until(lambda: type(restore).objects.get(pk=restore.pk).finished, timeout=60, what="the restore")
    finally:
        worker.kill()
    restore.refresh_from_db()
    assert restore.phase == "completed", (restore.message, restore.results)
    deployment = target_server.emulator.get_object("apps/v1", "Deployment", "web", "shop-cloud")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "harbor.new/shop/web:1.2"
    assert target_server.emulator.get_object("v1", "ConfigMap", "web-config", "shop-cloud")["data"] == {
        "LOG_LEVEL": "info"}


def test_a_worker_killed_mid_backup_leaves_nothing_complete_and_the_sweep_makes_a_whole_one(
        tenant, source, location, s3, broker_queue, tmp_path):
    marker = tmp_path / "blocked.pid"
    env = {"CCEONE_RECOVERY_STALE_SECONDS": str(STALE)}
    # The pool process stops at its third heartbeat: the backup is running, halfway through the kinds.
    first = Worker("first", broker_queue, tmp_path, include="tests.worker_blocker",
                   env={**env, "WORKER_BLOCK_FILE": str(marker), "WORKER_BLOCK_SQL": 'UPDATE "backups_backup"',
                        "WORKER_BLOCK_NTH": "3"})
    second = None
    try:
        first.wait_ready()
        backup = services.start_backup(tenant.user, cluster=source, location=location, name="shop-1",
                                       namespaces=["shop"])
        wait_until(marker.exists, timeout=60, what="the worker to stop mid-backup")
        first.kill()
        purge(broker_queue)
        time.sleep(STALE + 0.5)
        backup.refresh_from_db()
        assert backup.phase == "running" and 0 < backup.progress < 90
        assert backup.object_key == "" and s3.keys(location.bucket) == []  # nothing listed, nothing stored
        assert not Backup.objects.filter(phase="completed").exists()

        second = Worker("second", broker_queue, tmp_path, env=env)
        second.wait_ready()
        app.send_task("backups.tasks.recover_stalled")
        wait_until(lambda: Backup.objects.get(pk=backup.pk).finished, timeout=60, what="the resumed backup")
    finally:
        first.kill()
        if second:
            second.kill()
    backup.refresh_from_db()
    assert backup.phase == "completed" and backup.run == 2, backup.message
    assert s3.keys(location.bucket) == [backup.object_key]
    stored = s3.client().get_object(Bucket=location.bucket, Key=backup.object_key)["Body"].read()
    import hashlib

    assert hashlib.sha256(stored).hexdigest() == backup.checksum
    assert backup.manifest["resources"]["deployments.apps"]["count"] == 1


def test_a_migration_moves_from_step_to_step_on_a_real_worker(tenant, source, target, target_server, location,
                                                               broker_queue, tmp_path):
    from backups.models import Migration

    worker = Worker("migration", broker_queue, tmp_path)
    try:
        worker.wait_ready()
        migration = services.start_migration(tenant.user, name="shop-move", source=source, target=target,
                                             location=location, namespaces=["shop"], excluded_kinds=["Widget"],
                                             namespace_mapping={"shop": "shop-cloud"})
        wait_until(lambda: Migration.objects.get(pk=migration.pk).state == "awaiting_confirmation", timeout=60,
                   what="the backup and the dry run")
        assert target_server.emulator.get_object("v1", "Namespace", "shop-cloud") is None
        services.confirm_migration(tenant.user, migration)
        wait_until(lambda: Migration.objects.get(pk=migration.pk).finished, timeout=60, what="the restore")
    finally:
        worker.kill()
    migration.refresh_from_db()
    assert migration.state == "completed", (migration.message, worker.log()[-3000:])
    assert target_server.emulator.get_object("apps/v1", "Deployment", "web", "shop-cloud") is not None
