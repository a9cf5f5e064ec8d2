"""Runs on real Celery workers: a schedule's beat entry starts an inspection that a worker runs;
a worker killed mid-run leaves the run to the beat sweep (resent, then finished), never stuck
"running"; a run lost too often fails with the reason."""
import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler

from cceone.celery import app
from operations import services
from operations.models import Diagnosis, Inspection, InspectionSchedule
from tests.conftest import client_for
from tests.live import wait_until
from tests.worker import Worker, purge

STALE = 2  # seconds without a heartbeat before the sweep steps in (5 minutes in production)


def worker_env(live_hub):
    return {"CCEONE_HUB_INTERNAL_URL": live_hub.internal_url, "CCEONE_HUB_SECRET": live_hub.secret,
            "CCEONE_RECOVERY_STALE_SECONDS": str(STALE)}


def test_a_schedule_is_a_beat_entry_whose_firing_inspects_on_a_worker(cluster, tenant, live_hub, broker_queue,
                                                                      tmp_path):
    client = client_for(tenant.main)
    response = client.post(reverse("operations:schedule", args=[cluster.pk]), {
        "minute": "30", "hour": "2", "day_of_month": "*", "month_of_year": "*", "day_of_week": "1",
        "timezone": "Asia/Shanghai", "enabled": "on", "acknowledged": "on"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Runs every Monday at 02:30 Asia/Shanghai." in page

    # Beat's own scheduler reads the entry from the database, in the schedule's time zone.
    schedule = InspectionSchedule.objects.get(cluster=cluster)
    entry = DatabaseScheduler.Entry(schedule.periodic_task, app=app)
    assert entry.task == "operations.tasks.run_scheduled_inspection" and schedule.periodic_task.enabled
    assert entry.args == [schedule.pk] and entry.schedule.hour == {2} and entry.schedule.minute == {30}
    assert entry.schedule.day_of_week == {1} and str(entry.schedule.tz) == "Asia/Shanghai"

    worker = Worker("inspector", broker_queue, tmp_path, env=worker_env(live_hub))
    try:
        worker.wait_ready()
        # Fired as beat fires it: the task by name with the entry's arguments.
        app.send_task(entry.task, args=json.loads(schedule.periodic_task.args))
        inspection = wait_until(lambda: Inspection.objects.filter(cluster=cluster, status="succeeded").first(),
                                timeout=60, what="the scheduled inspection to finish")
    finally:
        worker.kill()
    assert inspection.trigger == "schedule" and inspection.score is not None and inspection.objects_inspected > 20


def test_a_killed_worker_leaves_the_run_to_the_sweep_which_finishes_it(cluster, tenant, live_hub, broker_queue,
                                                                      tmp_path):
    marker = tmp_path / "blocked.pid"
    # The pool process stops right after its second progress write: the run is running, beating no more.
    first = Worker("first", broker_queue, tmp_path, include="tests.worker_blocker",
                   env={**worker_env(live_hub), "WORKER_BLOCK_FILE": str(marker),
                        "WORKER_BLOCK_SQL": 'UPDATE "operations_diagnosis" SET "checks_done"', "WORKER_BLOCK_NTH": "2"})
    second = None
    try:
        first.wait_ready()
        client = client_for(tenant.main)
        query = f"?cluster={cluster.pk}&kind=pods&namespace=shop&name=crasher"
        assert client.post(reverse("operations:diagnosis-new") + query).status_code == 302
        wait_until(marker.exists, timeout=30, what="the worker to be mid-diagnosis")
        first.kill()
        purge(broker_queue)
        diagnosis = Diagnosis.objects.get()
        assert diagnosis.status == "running" and diagnosis.checks_done == 2
        # The page polls its progress meanwhile.
        progress = client.get(reverse("operations:diagnosis", args=[diagnosis.pk]) + "?progress=1",
                              HTTP_HX_REQUEST="true").content.decode()
        assert "Checks done: 2 / " in progress

        second = Worker("second", broker_queue, tmp_path, env=worker_env(live_hub))
        second.wait_ready()
        time.sleep(STALE + 0.5)
        app.send_task("operations.tasks.recover_stalled_runs")
        wait_until(lambda: Diagnosis.objects.get(pk=diagnosis.pk).status == "succeeded", timeout=60,
                   what="the sweep to carry the diagnosis through")
    finally:
        first.kill()
        if second:
            second.kill()
    diagnosis.refresh_from_db()
    assert diagnosis.attempt == 1 and diagnosis.checks_done == diagnosis.checks_total
    assert next(r for r in diagnosis.results if r["check"] == "POD-CRASHLOOP")["status"] == "abnormal"


@pytest.mark.django_db
def test_a_run_lost_too_often_fails_with_the_reason(settings, tenant):
    from tests.factories import ClusterFactory

    settings.CCEONE_RECOVERY_MAX_RESUMES = 3
    cluster = ClusterFactory(account=tenant.account, status="running")
    old = timezone.now() - timedelta(hours=1)
    lost = Inspection.objects.create(cluster=cluster, status="running", attempt=3, heartbeat_at=old)
    assert services.recover_stalled_runs() == {"resent": 0, "failed": 1}
    lost.refresh_from_db()
    assert lost.status == "failed" and lost.finished_at
    assert lost.display_message() == ("The run stopped making progress: the worker running it was lost 4 times. "
                                      "Start it again.")
