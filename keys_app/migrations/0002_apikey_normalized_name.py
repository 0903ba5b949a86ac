"""Key names become unique in their normal form, in three steps (PostgreSQL must not
alter a table in the transaction that updated its rows): this one adds the column, 0003
fills it, 0004 makes it unique."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("keys_app", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="normalized_name",
            field=models.CharField(editable=False, max_length=100, null=True),
        ),
    ]
