from django.db import migrations, models

FORMAT_FIELDS = ("video_format", "audio_format", "output_format")


def formats_to_options(apps, schema_editor):
    """The format columns become request fields in `options`; a blank one was never set."""
    Subscription = apps.get_model("subscriptions_app", "Subscription")
    for subscription in Subscription.objects.all():
        subscription.options = {
            name: getattr(subscription, name)
            for name in FORMAT_FIELDS
            if getattr(subscription, name)
        }
        subscription.save(update_fields=["options"])


def options_to_formats(apps, schema_editor):
    Subscription = apps.get_model("subscriptions_app", "Subscription")
    for subscription in Subscription.objects.all():
        for name in FORMAT_FIELDS:
            setattr(subscription, name, subscription.options.get(name) or "")
        subscription.save(update_fields=list(FORMAT_FIELDS))


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions_app", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="options",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="subscription",
            name="preset",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunPython(formats_to_options, options_to_formats),
        migrations.RemoveField(model_name="subscription", name="audio_format"),
        migrations.RemoveField(model_name="subscription", name="output_format"),
        migrations.RemoveField(model_name="subscription", name="video_format"),
    ]
