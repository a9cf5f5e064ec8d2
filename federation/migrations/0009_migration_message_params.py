from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("federation", "0008_federation_migration"),
    ]

    operations = [
        migrations.AddField(
            model_name="federationmigration",
            name="message_params",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
