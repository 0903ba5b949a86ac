from django.db import migrations, models

import keys_app.webhook_policy


def give_each_key_a_signing_secret(apps, schema_editor):
    # Encrypted as the model does it (keys_app.crypto, with the configured keys).
    from keys_app import crypto

    APIKey = apps.get_model("keys_app", "APIKey")
    for api_key in APIKey.objects.filter(webhook_secret_encrypted=""):
        webhook_secret = keys_app.webhook_policy.generate_signing_secret()
        api_key.webhook_secret_encrypted = crypto.encrypt_secret(webhook_secret)
        api_key.save(update_fields=["webhook_secret_encrypted"])


class Migration(migrations.Migration):
    dependencies = [
        ("keys_app", "0005_admin_login_failure"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="webhook_url",
            field=models.TextField(
                blank=True,
                help_text="Where the events of this key's tasks are sent when a task names "
                "no webhook_url of its own. Empty: none.",
                validators=[keys_app.webhook_policy.validate_webhook_url],
            ),
        ),
        migrations.AddField(
            model_name="apikey",
            name="webhook_secret_encrypted",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(give_each_key_a_signing_secret, migrations.RunPython.noop),
    ]
