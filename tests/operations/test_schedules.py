"""Inspection schedules: validated crontab fields in the user's language, shown in words,
edited in place (one beat entry per cluster), deleted with their beat entry."""
import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from operations.models import InspectionSchedule
from tests.conftest import client_for
from tests.factories import ClusterFactory

pytestmark = pytest.mark.django_db

DAILY = {"minute": "0", "hour": "2", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*",
         "timezone": "Asia/Shanghai", "enabled": "on", "acknowledged": "on"}


def test_bad_rules_are_refused_in_the_users_language_and_change_nothing(tenant):
    cluster = ClusterFactory(account=tenant.account, status="running")
    url = reverse("operations:schedule", args=[cluster.pk])
    response = client_for(tenant.main).post(url, {**DAILY, "hour": "25", "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Unknown time zone Mars/Olympus" in body
    response = client_for(tenant.main).post(url, {**DAILY, "minute": "*"})
    assert "Inspect at most once an hour" in response.content.decode()
    response = client_for(tenant.main).post(url, {**DAILY, "hour": "25"})
    assert response.status_code == 400 and "Invalid value 25" in response.content.decode()
    # The notice must be acknowledged (the manual: 我已知晓并同意), said in the user's language.
    response = client_for(tenant.main, "zh-hans").post(url, {**DAILY, "acknowledged": ""})
    assert response.status_code == 400 and "该字段是必填项。" in response.content.decode()
    assert not InspectionSchedule.objects.exists() and not PeriodicTask.objects.filter(
        task="operations.tasks.run_scheduled_inspection").exists()


@pytest.mark.parametrize("fields, words", [
    ({}, "every day at 02:00 Asia/Shanghai"),
    ({"day_of_week": "1-5", "hour": "23", "minute": "45", "timezone": "UTC"}, "every weekday at 23:45 UTC"),
    ({"day_of_month": "1"}, "on day 1 of every month at 02:00 Asia/Shanghai"),
    ({"hour": "*/6", "minute": "15"}, "every 6 hours at minute 15 Asia/Shanghai"),
    ({"hour": "1,13", "minute": "5"}, "at cron 5 1,13 * * * Asia/Shanghai"),
])
def test_a_schedule_is_shown_in_words_and_edited_in_place(tenant, fields, words):
    cluster = ClusterFactory(account=tenant.account, status="running")
    client = client_for(tenant.main)
    client.post(reverse("operations:schedule", args=[cluster.pk]), DAILY)
    response = client.post(reverse("operations:schedule", args=[cluster.pk]), {**DAILY, **fields})
    assert response.status_code == 302
    assert f"Runs {words}." in client.get(reverse("operations:cluster", args=[cluster.pk])).content.decode()
    schedule = InspectionSchedule.objects.get()
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert (task.crontab.hour, str(task.crontab.timezone)) == (schedule.hour, schedule.timezone)
    assert PeriodicTask.objects.filter(task="operations.tasks.run_scheduled_inspection").count() == 1

    client.post(reverse("operations:schedule-delete", args=[cluster.pk]))
    assert not InspectionSchedule.objects.exists()
    assert not PeriodicTask.objects.filter(task="operations.tasks.run_scheduled_inspection").exists()


def test_a_user_runs_inspections_but_only_an_admin_edits_schedules(tenant):
    cluster = ClusterFactory(account=tenant.account, status="running")
    assert client_for(tenant.user).post(reverse("operations:schedule", args=[cluster.pk]), DAILY).status_code == 403
    assert client_for(tenant.admin).post(reverse("operations:schedule", args=[cluster.pk]), DAILY).status_code == 302
    page = client_for(tenant.user).get(reverse("operations:cluster", args=[cluster.pk])).content.decode()
    assert 'id="run-now"' in page and 'id="edit-schedule"' not in page
