"""Re-encrypt every secret kept at rest with the newest key of CCEONE_ENCRYPTION_KEYS.

Rotation: put a new key first in CCEONE_ENCRYPTION_KEYS (keep the old ones after it),
restart, run this command, then drop the old keys."""
from django.core.management.base import BaseCommand
from django.db import transaction

from cceone import crypto
from clusters.models import CloudProviderCluster, RegisteredCluster

FIELDS = [(CloudProviderCluster, "credentials_encrypted"), (RegisteredCluster, "agent_token_encrypted")]


class Command(BaseCommand):
    help = "Re-encrypt stored secrets with the first key of CCEONE_ENCRYPTION_KEYS."

    @transaction.atomic
    def handle(self, *args, **options):
        total = 0
        for model, field in FIELDS:
            for obj in model.objects.exclude(**{field: ""}).only("pk", field):
                setattr(obj, field, crypto.rotate(getattr(obj, field)))
                obj.save(update_fields=[field])
                total += 1
        self.stdout.write(f"re-encrypted {total} value(s)")
