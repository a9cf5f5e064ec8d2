"""Backups' part of the demo tenant (`manage.py seed_demo`, on `demo_seeded`): a storage
location on the S3 endpoint `make run` starts itself (`manage.py runs3`), labelled sandbox."""
from django.conf import settings

from .models import StorageLocation


def sandbox_location(sender, account, **kwargs) -> None:
    if StorageLocation.objects.filter(account=account, sandbox=True).exists():
        return
    location = StorageLocation(account=account, name="sandbox-s3", endpoint=settings.CCEONE_SANDBOX_S3_URL,
                               region="us-east-1", bucket="cceone-backups", prefix=f"account-{account.pk}",
                               access_key="sandbox", sandbox=True, creator=account.owner)
    location.secret_key = "sandbox"
    location.save()
