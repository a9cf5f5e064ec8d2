"""Retention by days: the hourly sweep deletes a schedule's backups once they are older than
its days — the object in the bucket and the row — keeps them until then, and always keeps
the newest completed one."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from backups import services, tasks
from backups.models import Backup
from cceone.audit.models import AuditEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def aged(backup, **delta):
    Backup.objects.filter(pk=backup.pk).update(created_at=timezone.now() - timedelta(**delta))


def test_a_backup_past_its_days_is_deleted_by_the_sweep_and_kept_before(tenant, source, location, s3):
    assert settings.CELERY_BEAT_SCHEDULE["backups-expire"]["task"] == "backups.tasks.expire_backups"
    schedule = services.save_schedule(tenant.user, name="daily", cluster=source, location=location,
                                      crontab="0 2 * * *", keep_days=3, namespaces=["shop"])
    old = services.scheduled_backup(schedule.pk)
    new = services.scheduled_backup(schedule.pk)
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.phase == new.phase == "completed"
    assert sorted(s3.keys(location.bucket)) == sorted([old.object_key, new.object_key])

    aged(old, days=2, hours=23)  # within its three days: kept
    assert tasks.expire_backups() == 0
    assert Backup.objects.filter(pk=old.pk).exists() and old.object_key in s3.keys(location.bucket)

    aged(old, days=3, minutes=1)  # past them: the sweep deletes the object and the row
    assert tasks.expire_backups() == 1
    assert not Backup.objects.filter(pk=old.pk).exists()
    assert s3.keys(location.bucket) == [new.object_key]
    event = AuditEvent.objects.get(action="backups:retention")
    assert event.target_name == old.name and event.details["schedule"] == "daily"
    page = client_for(tenant.user).get(reverse("backups:list")).content.decode()
    assert f">{new.name}</a>" in page and f">{old.name}</a>" not in page

    aged(new, days=30)  # the newest completed backup always stays, however old
    assert tasks.expire_backups() == 0
    assert s3.keys(location.bucket) == [new.object_key] and Backup.objects.filter(pk=new.pk).exists()


def test_a_backup_the_bucket_refuses_to_delete_stays_listed_until_a_later_sweep(tenant, source, location, s3):
    schedule = services.save_schedule(tenant.user, name="daily", cluster=source, location=location,
                                      crontab="0 2 * * *", keep_days=1, namespaces=["shop"])
    old = services.scheduled_backup(schedule.pk)
    services.scheduled_backup(schedule.pk)
    aged(old, days=2)
    secret = location.secret_key
    location.secret_key = "wrong"
    location.save()
    assert tasks.expire_backups() == 0 and Backup.objects.filter(pk=old.pk).exists()  # nothing half-deleted
    location.secret_key = secret
    location.save()
    assert tasks.expire_backups() == 1 and not Backup.objects.filter(pk=old.pk).exists()
    assert old.object_key not in s3.keys(location.bucket)
