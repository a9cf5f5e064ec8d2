"""S3-compatible object storage through boto3: the one module that talks to a bucket.
Failures become `StorageError` with a message saying what failed (credentials, bucket,
endpoint), in the caller's language."""
import uuid

import boto3
from botocore.client import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from boto3.s3.transfer import TransferConfig
from django.conf import settings
from django.utils.translation import gettext as _


class StorageError(Exception):
    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.message, self.code = message, code

    def __str__(self):
        return self.message


def client(location):
    return boto3.client(
        "s3", endpoint_url=location.endpoint, region_name=location.region or "us-east-1",
        aws_access_key_id=location.access_key, aws_secret_access_key=location.secret_key,
        config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 1},
                      s3={"addressing_style": "path"}, signature_version="s3v4"))


def explain(error: Exception, location, step: str) -> StorageError:
    """What failed, for the user: the step (write, read, delete …) and why."""
    where = {"step": step, "bucket": location.bucket, "endpoint": location.endpoint}
    if isinstance(error, EndpointConnectionError) or (isinstance(error, BotoCoreError)
                                                      and "connect" in str(error).lower()):
        return StorageError(_("%(step)s failed: the endpoint %(endpoint)s does not answer.") % where, "Unreachable")
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthorizationHeaderMalformed"):
            return StorageError(_("%(step)s failed: the access key or the secret key is wrong.") % where, code)
        if code == "NoSuchBucket":
            return StorageError(_("%(step)s failed: the bucket %(bucket)s does not exist.") % where, code)
        if code in ("AccessDenied", "403"):
            return StorageError(_("%(step)s failed: the key may not use bucket %(bucket)s.") % where, code)
        if code in ("NoSuchKey", "404"):
            return StorageError(_("%(step)s failed: the object is not in the bucket.") % where, code)
        message = error.response.get("Error", {}).get("Message", "") or code
        return StorageError(_("%(step)s failed: %(message)s") % {**where, "message": message}, code)
    return StorageError(_("%(step)s failed: %(message)s") % {**where, "message": error}, type(error).__name__)


def test_connection(location) -> list[tuple[str, bool, str]]:
    """Write, read back and delete a probe object: (step, passed, message) for each step
    tried; the first failure ends the check."""
    s3 = client(location)
    key = location.key_for(f".cceone-probe-{uuid.uuid4().hex}")
    body = b"cceone storage probe"
    steps = []
    for label, call in ((_("Write a probe object"), lambda: s3.put_object(Bucket=location.bucket, Key=key, Body=body)),
                        (_("Read it back"), lambda: _read_equal(s3, location, key, body)),
                        (_("Delete it"), lambda: s3.delete_object(Bucket=location.bucket, Key=key))):
        try:
            call()
        except (BotoCoreError, ClientError, StorageError) as error:
            failure = error if isinstance(error, StorageError) else explain(error, location, label)
            steps.append((label, False, failure.message))
            return steps
        steps.append((label, True, ""))
    return steps


def _read_equal(s3, location, key, body):
    read = s3.get_object(Bucket=location.bucket, Key=key)["Body"].read()
    if read != body:
        raise StorageError(_("The object read back differs from the one written."))


def _transfer_config() -> TransferConfig:
    size = settings.CCEONE_BACKUP_MULTIPART_BYTES
    return TransferConfig(multipart_threshold=size, multipart_chunksize=size, use_threads=False)


def upload(location, key: str, fileobj, metadata: dict | None = None) -> None:
    """Store `fileobj` under `key`; multipart above CCEONE_BACKUP_MULTIPART_BYTES. The object
    appears whole or not at all (S3 completes a multipart upload atomically)."""
    s3 = client(location)
    abort_unfinished(location, key, s3)  # a killed earlier run's parts
    try:
        s3.upload_fileobj(fileobj, location.bucket, key, ExtraArgs={"Metadata": metadata or {}},
                          Config=_transfer_config())
    except (BotoCoreError, ClientError) as error:
        raise explain(getattr(error, "last_exception", None) or error, location, _("Upload")) from error
    except Exception as error:  # boto3's S3UploadFailedError wraps the ClientError as text
        raise explain(error, location, _("Upload")) from error


def abort_unfinished(location, key: str, s3=None) -> int:
    s3 = s3 or client(location)
    try:
        uploads = s3.list_multipart_uploads(Bucket=location.bucket, Prefix=key).get("Uploads", [])
        for upload_ in uploads:
            if upload_["Key"] == key:
                s3.abort_multipart_upload(Bucket=location.bucket, Key=key, UploadId=upload_["UploadId"])
        return len(uploads)
    except (BotoCoreError, ClientError):
        return 0


def download(location, key: str, fileobj) -> None:
    try:
        client(location).download_fileobj(location.bucket, key, fileobj, Config=_transfer_config())
    except (BotoCoreError, ClientError) as error:
        raise explain(error, location, _("Download")) from error


def open_stream(location, key: str):
    """(body stream, length) of the object, for a download response."""
    try:
        answer = client(location).get_object(Bucket=location.bucket, Key=key)
    except (BotoCoreError, ClientError) as error:
        raise explain(error, location, _("Download")) from error
    return answer["Body"], answer.get("ContentLength")


def delete(location, key: str) -> None:
    try:
        client(location).delete_object(Bucket=location.bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return
        raise explain(error, location, _("Delete")) from error
    except BotoCoreError as error:
        raise explain(error, location, _("Delete")) from error


def exists(location, key: str) -> bool:
    try:
        client(location).head_object(Bucket=location.bucket, Key=key)
        return True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return False
        raise explain(error, location, _("Read")) from error
    except BotoCoreError as error:
        raise explain(error, location, _("Read")) from error
