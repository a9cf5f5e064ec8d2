from django.db import migrations, models


def claim_what_was_promoted(apps, schema_editor):
    """Migrations started before claims were kept claim what they promoted."""
    FederationMigration = apps.get_model("federation", "FederationMigration")
    for row in FederationMigration.objects.exclude(promoted=[]):
        row.claimed = sorted(f"{o['kind']}/{o['name']}" for o in row.promoted)
        row.save(update_fields=["claimed"])


class Migration(migrations.Migration):

    dependencies = [
        ("federation", "0009_migration_message_params"),
    ]

    operations = [
        migrations.AddField(
            model_name="federationmigration",
            name="claimed",
            field=models.JSONField(default=list),
        ),
        migrations.RunPython(claim_what_was_promoted, migrations.RunPython.noop),
    ]
