"""`make run`'s S3-compatible endpoint (Procfile `s3`): moto's server, for the demo tenant's
sandbox storage location. moto keeps objects in memory; this command keeps them under
`var/s3/` (written every few seconds and on exit, read back at start), so backups survive
a restart of `make run`. For trying the console only, never for real data."""
import json
import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

BUCKET = "cceone-backups"


class Command(BaseCommand):
    help = "Serve the sandbox's S3-compatible endpoint (moto) with its objects kept under var/s3/."

    def handle(self, *args, **options):
        import logging
        from urllib.parse import urlparse

        import boto3
        from botocore.client import Config
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        address = urlparse(settings.CCEONE_SANDBOX_S3_URL)
        server = ThreadedMotoServer(ip_address=address.hostname, port=address.port, verbose=False)
        server.start()
        s3 = boto3.client("s3", endpoint_url=settings.CCEONE_SANDBOX_S3_URL, region_name="us-east-1",
                          aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
                          config=Config(s3={"addressing_style": "path"}))
        store = Path(settings.VAR_DIR) / "s3"
        loaded = load(s3, store)
        if BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=BUCKET)
        self.stdout.write(f"Sandbox S3 endpoint at {settings.CCEONE_SANDBOX_S3_URL} (bucket {BUCKET}, "
                          f"{loaded} objects from {store})", ending="\n")
        self.stdout.flush()
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        while not stop.wait(5):
            save(s3, store)
        save(s3, store)
        server.stop()


def _index(store: Path) -> dict:
    path = store / "index.json"
    return json.loads(path.read_text()) if path.exists() else {}


def load(s3, store: Path) -> int:
    count = 0
    for entry in _index(store).values():
        buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if entry["bucket"] not in buckets:
            s3.create_bucket(Bucket=entry["bucket"])
        data = (store / "objects" / entry["file"]).read_bytes()
        s3.put_object(Bucket=entry["bucket"], Key=entry["key"], Body=data, Metadata=entry.get("metadata", {}))
        count += 1
    return count


def save(s3, store: Path) -> None:
    """Mirror every object to disk (only those whose ETag changed are written again)."""
    import hashlib

    index, seen = _index(store), {}
    (store / "objects").mkdir(parents=True, exist_ok=True)
    for bucket in s3.list_buckets().get("Buckets", []):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                ident = f"{bucket['Name']}/{obj['Key']}"
                entry = index.get(ident)
                if entry is None or entry["etag"] != obj["ETag"]:
                    answer = s3.get_object(Bucket=bucket["Name"], Key=obj["Key"])
                    name = hashlib.sha256(ident.encode()).hexdigest()
                    (store / "objects" / name).write_bytes(answer["Body"].read())
                    entry = {"bucket": bucket["Name"], "key": obj["Key"], "etag": obj["ETag"], "file": name,
                             "metadata": answer.get("Metadata", {})}
                seen[ident] = entry
    for ident in set(index) - set(seen):
        (store / "objects" / index[ident]["file"]).unlink(missing_ok=True)
    if seen != index:
        (store / "index.json").write_text(json.dumps(seen))
