from django.db import migrations

SYSTEM_POLICIES = ["ccseone-admin", "ccseone-user", "ccseone-viewer"]
REGIONS = [
    ("cn-east-1", "East China 1", "华东1", True, 1),
    ("cn-north-2", "North China 2", "华北2", False, 2),
    ("cn-south-1", "South China 1", "华南1", False, 3),
    ("cn-southwest-1", "Southwest China 1", "西南1", False, 4),
]


def seed(apps, schema_editor):
    Policy = apps.get_model("iam", "Policy")
    Region = apps.get_model("iam", "Region")
    for name in SYSTEM_POLICIES:
        # Their actions come from the catalogue by tier (cceone.iam.actions), not from this row.
        Policy.objects.get_or_create(account=None, name=name, defaults={"scope": "account"})
    for code, name, name_zh, is_default, order in REGIONS:
        Region.objects.get_or_create(code=code, defaults={"name": name, "name_zh": name_zh,
                                                          "is_default": is_default, "sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("iam", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
