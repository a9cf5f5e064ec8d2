"""A schedule saved on its page fires through celery beat itself (django-celery-beat's
database scheduler, the one `make run` starts) and a real worker inspects the cluster; a
paused schedule does not fire. The daily time is the start of the current hour, and the
entry's last run is put two days back (as if beat had been down since): beat then runs it at
once, and not again until the next day. (The scheduler loads crontab entries only within two
hours of their time, so a 02:00 entry cannot be made due in the afternoon.)"""
import threading
import time
import zoneinfo
from datetime import timedelta

import pytest
from celery.beat import Service
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from cceone.celery import app
from operations.models import Inspection, InspectionSchedule
from tests.conftest import client_for
from tests.live import wait_until
from tests.operations.test_worker import worker_env
from tests.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)

ZONE = "Asia/Shanghai"


def daily_this_hour() -> dict:
    hour = timezone.now().astimezone(zoneinfo.ZoneInfo(ZONE)).hour
    return {"minute": "0", "hour": str(hour), "day_of_month": "*", "month_of_year": "*", "day_of_week": "*",
            "timezone": ZONE, "acknowledged": "on"}


class Beat:
    """celery beat's own service in a thread, with only the database's entries (the
    console's fixed sweeps are left out of this test)."""

    def __init__(self):
        self.saved, app.conf.beat_schedule = app.conf.beat_schedule, {}
        self.service = Service(app, max_interval=0.5, scheduler_cls=DatabaseScheduler)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.service.start()
        finally:
            connection.close()

    def stop(self):
        self.service.stop()
        self.thread.join(10)
        app.conf.beat_schedule = self.saved


def scheduled(cluster):
    return Inspection.objects.filter(cluster=cluster, trigger="schedule")


def test_beat_fires_the_schedule_and_a_worker_inspects(cluster, tenant, live_hub, broker_queue, tmp_path):
    client = client_for(tenant.main)
    assert client.post(reverse("operations:schedule", args=[cluster.pk]), {**daily_this_hour(), "enabled": "on"}).status_code == 302
    task = InspectionSchedule.objects.get(cluster=cluster).periodic_task
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=timezone.now() - timedelta(days=2))

    worker = Worker("scheduled", broker_queue, tmp_path, env=worker_env(live_hub))
    beat = None
    try:
        worker.wait_ready()
        beat = Beat()
        inspection = wait_until(lambda: scheduled(cluster).filter(status="succeeded").first(), timeout=60,
                                what="beat to fire the schedule and the worker to inspect")
        time.sleep(2)  # beat keeps ticking: the entry is not due again before tomorrow 02:00
        assert scheduled(cluster).count() == 1
    finally:
        if beat:
            beat.stop()
        worker.kill()
    assert inspection.score is not None and inspection.objects_inspected > 0 and inspection.requested_by is None
    assert PeriodicTask.objects.get(pk=task.pk).last_run_at > timezone.now() - timedelta(minutes=5)
    report = client.get(reverse("operations:inspection", args=[inspection.pk])).content.decode()
    assert f'id="inspection-score">{inspection.score}<' in report and "Schedule" in report


def test_a_paused_schedule_does_not_fire(cluster, tenant, broker_queue):
    client = client_for(tenant.main)
    values = daily_this_hour()  # not enabled
    assert client.post(reverse("operations:schedule", args=[cluster.pk]), values).status_code == 302
    page = client.get(reverse("operations:cluster", args=[cluster.pk])).content.decode()
    assert f"Paused (every day at {int(values['hour']):02d}:00 Asia/Shanghai)." in page
    task = InspectionSchedule.objects.get(cluster=cluster).periodic_task
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=timezone.now() - timedelta(days=2))
    beat = Beat()
    try:
        time.sleep(3)
    finally:
        beat.stop()
    assert not scheduled(cluster).exists()
