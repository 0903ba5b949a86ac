from django.db import migrations, models


def zero_meant_the_setting(apps, schema_editor):
    """Before, a request_limit of 0 fell back to REQUEST_LIMIT (as empty does); now it
    means no limit. A key that had 0 keeps the limit it had."""
    APIKey = apps.get_model("keys_app", "APIKey")
    APIKey.objects.using(schema_editor.connection.alias).filter(request_limit=0).update(
        request_limit=None
    )


class Migration(migrations.Migration):
    dependencies = [
        ("keys_app", "0006_apikey_webhooks"),
    ]

    operations = [
        migrations.RunPython(zero_meant_the_setting, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apikey",
            name="request_limit",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Task-creating requests allowed per TASK_CLEANUP_TIME window. "
                "Empty: the REQUEST_LIMIT setting. 0: no limit.",
                null=True,
            ),
        ),
    ]
