"""Import (the manual's 上传): a downloaded backup file put into another cluster's backup list,
then restored there; a truncated or foreign file is refused with the reason, nothing stored."""
import io
import json
import tarfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from backups import services
from backups.models import Backup
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def downloaded(tenant, source, location) -> bytes:
    backup = services.start_backup(tenant.user, cluster=source, location=location, name="shop-1",
                                   namespaces=["shop"], excluded_kinds=["Widget"])
    response = client_for(tenant.user).get(reverse("backups:download", args=[backup.pk]))
    return b"".join(response.streaming_content)


def upload(client, target, location, data: bytes, name="imported-1"):
    return client.post(reverse("backups:import"), {"name": name, "cluster": target.pk, "location": location.pk,
                                                   "file": SimpleUploadedFile("shop-1.tar.gz", data)})


def test_an_uploaded_backup_joins_the_target_s_list_and_restores_there(tenant, source, target, location, s3,
                                                                      target_server):
    data = downloaded(tenant, source, location)
    response = upload(client_for(tenant.user), target, location, data)
    imported = Backup.objects.get(name="imported-1")
    assert response.status_code == 302 and imported.cluster == target and imported.phase == "completed"
    assert imported.object_key in s3.keys(location.bucket) and imported.manifest["source"]["cluster"] == "idc-source"
    restore = services.start_restore(tenant.user, imported, target=target)
    restore.refresh_from_db()
    assert restore.phase == "completed", restore.results
    assert target_server.emulator.get_object("apps/v1", "Deployment", "web", "shop") is not None


@pytest.mark.parametrize("damage, reason", [
    (lambda data: data[: len(data) // 2], "it is not a complete gzip-compressed tar archive"),
    (lambda data: b"PK\x03\x04 a zip file", "it is not a complete gzip-compressed tar archive"),
    ("foreign", "the archive has no manifest.json"),
    ("tampered", "does not match its checksum in the manifest"),
])
def test_a_truncated_foreign_or_tampered_file_is_refused_and_nothing_is_stored(tenant, source, target, location,
                                                                              s3, damage, reason):
    data = downloaded(tenant, source, location)
    if damage == "foreign":
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w:gz") as tar:
            info = tarfile.TarInfo("velero-backup.json")
            body = json.dumps({"kind": "Backup"}).encode()
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        data = out.getvalue()
    elif damage == "tampered":
        out = io.BytesIO()
        with tarfile.open(fileobj=io.BytesIO(data)) as original, tarfile.open(fileobj=out, mode="w:gz") as tar:
            for member in original:
                body = original.extractfile(member).read()
                if member.name.endswith("web-config.yaml"):
                    body = body.replace(b"info", b"evil")
                member.size = len(body)
                tar.addfile(member, io.BytesIO(body))
        data = out.getvalue()
    else:
        data = damage(data)
    keys = s3.keys(location.bucket)
    page = upload(client_for(tenant.user), target, location, data).content.decode()
    assert "This file cannot be imported:" in page and reason in page
    assert not Backup.objects.filter(name="imported-1").exists() and s3.keys(location.bucket) == keys


def test_api_import_and_permissions(tenant, other_tenant, source, target, location):
    data = downloaded(tenant, source, location)
    payload = {"name": "imported-2", "cluster": target.pk, "location": location.pk}
    viewer = client_for(tenant.viewer).post("/api/v1/backups/import/", {
        **payload, "file": SimpleUploadedFile("b.tar.gz", data)})
    assert viewer.status_code == 403
    other = client_for(other_tenant.main).post("/api/v1/backups/import/", {
        **payload, "file": SimpleUploadedFile("b.tar.gz", data)})
    assert other.status_code == 400 and not Backup.objects.filter(name="imported-2").exists()
    created = client_for(tenant.user).post("/api/v1/backups/import/", {
        **payload, "file": SimpleUploadedFile("b.tar.gz", data)})
    assert created.status_code == 201 and created.json()["phase"] == "completed"
