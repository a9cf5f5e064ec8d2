"""`make run`: the demo tenant gets a storage location on the S3 endpoint `manage.py runs3`
serves, labelled sandbox; that endpoint keeps its objects under var/ across a restart."""
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.client import Config
from django.core.management import call_command
from django.urls import reverse

from backups.models import StorageLocation
from tests.conftest import client_for, ensure_reference_data
from tests.live import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_demo_tenant_has_a_sandbox_location(db, settings, capsys):
    ensure_reference_data()  # the system policies, as migrations leave them (a flush may have removed them)
    call_command("seed_demo")
    location = StorageLocation.objects.get(account__owner__username="demo")
    assert location.sandbox and location.endpoint == settings.CCEONE_SANDBOX_S3_URL
    assert location.bucket == "cceone-backups" and location.secret_key == "sandbox"
    page = client_for(location.account.owner).get(reverse("backups:locations")).content.decode()
    assert "sandbox-s3" in page and ">sandbox</span>" in page
    call_command("seed_demo")  # again: still one
    assert StorageLocation.objects.filter(account=location.account).count() == 1


def runs3(url, var_dir):
    env = dict(os.environ, CCEONE_SANDBOX_S3_URL=url, CCEONE_VAR_DIR=str(var_dir),
               DJANGO_SETTINGS_MODULE="cceone.settings")
    return subprocess.Popen([sys.executable, "manage.py", "runs3"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)


def test_runs3_keeps_objects_under_var_across_a_restart(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="sandbox",
                      aws_secret_access_key="sandbox", config=Config(s3={"addressing_style": "path"}))

    def up():
        try:
            return "cceone-backups" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
        except Exception:  # noqa: BLE001 - not listening yet
            return False

    server = runs3(url, tmp_path)
    try:
        wait_until(up, timeout=30, what="runs3 to serve")
        s3.put_object(Bucket="cceone-backups", Key="demo/backups/a/a.tar.gz", Body=b"backup bytes")
    finally:
        server.send_signal(signal.SIGTERM)  # as honcho stops it
        server.wait(20)
    assert (tmp_path / "s3" / "index.json").exists()
    server = runs3(url, tmp_path)
    try:
        wait_until(up, timeout=30, what="runs3 to serve again")
        assert s3.get_object(Bucket="cceone-backups", Key="demo/backups/a/a.tar.gz")["Body"].read() == b"backup bytes"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
