from datetime import datetime, timezone
from decimal import Decimal

from django.db import migrations

# The manual's table (§2.2), ¥ per vCPU per hour.
PRICES = {"cloud": "0.0556", "third_party": "0.0556", "local": "0.1668", "federation": "0"}


def seed(apps, schema_editor):
    Price = apps.get_model("billing", "Price")
    since = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for instance_type, price in PRICES.items():
        Price.objects.get_or_create(instance_type=instance_type, effective_from=since,
                                    defaults={"unit_price": Decimal(price)})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
