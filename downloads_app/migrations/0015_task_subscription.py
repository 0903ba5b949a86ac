import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # After 0012 (Task.error_code); 0013 and 0014 are built beside this one, and the
    # merge puts this migration after them.
    dependencies = [
        ("downloads_app", "0014_task_site"),
        ("subscriptions_app", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="subscription",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="tasks",
                to="subscriptions_app.subscription",
            ),
        ),
    ]
