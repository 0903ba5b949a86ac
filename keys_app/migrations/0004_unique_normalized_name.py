import keys_app.models
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("keys_app", "0003_normalize_key_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="apikey",
            name="normalized_name",
            field=models.CharField(editable=False, max_length=100, unique=True),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="name",
            field=models.CharField(
                max_length=100, unique=True, validators=[keys_app.models.validate_key_name]
            ),
        ),
    ]
