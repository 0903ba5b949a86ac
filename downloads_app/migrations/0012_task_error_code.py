from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("downloads_app", "0011_task_listed_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="error_code",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="task",
            name="retry_after",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
