"""Storage locations: saved only once the bucket took, returned and deleted a probe object;
the secret key encrypted at rest; bad input says exactly what failed and stores nothing."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from backups import services
from backups.models import Backup, StorageLocation
from cceone.audit.models import AuditEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def values(s3, bucket_name, **changes):
    return {"name": "oss-main", "endpoint": s3.url, "region": "us-east-1", "bucket": bucket_name, "prefix": "cce",
            "access_key": s3.access_key, "secret_key": s3.secret_key, **changes}


def test_a_location_is_saved_after_the_probe_and_its_secret_is_encrypted(tenant, s3):
    bucket = s3.new_bucket()
    location = services.save_location(tenant.admin, None, **values(s3, bucket))
    assert location.last_check_ok and s3.keys(bucket) == []  # the probe object was deleted again
    stored = StorageLocation.objects.values_list("secret_key_encrypted", flat=True).get()
    assert s3.secret_key not in stored and StorageLocation.objects.get().secret_key == s3.secret_key
    assert AuditEvent.objects.filter(action="backups:locations", target_name="oss-main").exists()


@pytest.mark.parametrize("change, message", [
    ({"secret_key": "wrong-secret"}, "Write a probe object failed: the access key or the secret key is wrong."),
    ({"access_key": "AKIANOSUCHKEY"}, "Write a probe object failed: the access key or the secret key is wrong."),
    ({"bucket": "no-such-bucket"}, "Write a probe object failed: the bucket no-such-bucket does not exist."),
    ({"endpoint": "http://127.0.0.1:9"}, "Write a probe object failed: the endpoint http://127.0.0.1:9 does not "
                                        "answer."),
])
def test_bad_credentials_bucket_or_endpoint_say_what_failed_and_store_nothing(tenant, s3, change, message):
    with pytest.raises(ValidationError) as error:
        services.save_location(tenant.admin, None, **values(s3, s3.new_bucket(), **change))
    assert error.value.messages == [f"The storage location was not saved: {message}"]
    assert not StorageLocation.objects.exists()


def test_the_page_shows_the_reason_and_a_change_with_a_wrong_key_keeps_the_old_one(tenant, s3):
    bucket = s3.new_bucket()
    client = client_for(tenant.admin)
    response = client.post(reverse("backups:location-create"), values(s3, bucket, secret_key="wrong"))
    assert response.status_code == 200
    assert "the access key or the secret key is wrong" in response.content.decode()
    assert not StorageLocation.objects.exists()
    location = services.save_location(tenant.admin, None, **values(s3, bucket))
    response = client_for(tenant.admin).post(reverse("backups:location-edit", args=[location.pk]),
                                             values(s3, bucket, secret_key="wrong", prefix="other"))
    assert "the access key or the secret key is wrong" in response.content.decode()
    location.refresh_from_db()
    assert location.prefix == "cce" and location.secret_key == s3.secret_key
    # Blank keeps the stored secret key.
    client_for(tenant.admin).post(reverse("backups:location-edit", args=[location.pk]),
                                  values(s3, bucket, secret_key="", prefix="other"))
    location.refresh_from_db()
    assert location.prefix == "other" and location.secret_key == s3.secret_key


def test_test_connection_reports_the_failing_step_after_the_key_was_revoked(tenant, location, s3):
    client = client_for(tenant.admin)
    page = client.post(reverse("backups:location-check", args=[location.pk]), follow=True).content.decode()
    assert "a probe object was written, read back and deleted" in page
    StorageLocation.objects.filter(pk=location.pk).update(bucket="gone-bucket")
    page = client.post(reverse("backups:location-check", args=[location.pk]), follow=True).content.decode()
    assert "Write a probe object failed: the bucket gone-bucket does not exist." in page
    assert StorageLocation.objects.get(pk=location.pk).last_check_ok is False


def test_only_admins_manage_locations_and_other_tenants_do_not_see_them(tenant, other_tenant, location, s3):
    assert client_for(tenant.user).get(reverse("backups:location-create")).status_code == 403
    assert client_for(tenant.user).post("/api/v1/backup-locations/", values(s3, s3.new_bucket()),
                                        content_type="application/json").status_code == 403
    listing = client_for(tenant.viewer).get("/api/v1/backup-locations/").json()
    assert [row["name"] for row in listing["results"]] == ["oss-main"] and "secret_key" not in listing["results"][0]
    assert client_for(other_tenant.main).get(reverse("backups:location-edit", args=[location.pk])).status_code == 404
    assert client_for(other_tenant.main).get(f"/api/v1/backup-locations/{location.pk}/"
                                             ).status_code == 404
    assert client_for(other_tenant.main).get("/api/v1/backup-locations/").json()["results"] == []


def test_a_location_in_use_cannot_be_deleted(tenant, location, source):
    Backup.objects.create(account=tenant.account, cluster=source, location=location, name="kept", phase="completed")
    with pytest.raises(ValidationError, match="still use storage location"):
        services.delete_location(tenant.admin, location)
    assert StorageLocation.objects.filter(pk=location.pk).exists()
