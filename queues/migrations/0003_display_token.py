import secrets

from django.db import migrations, models

import queues.models


def give_every_queue_a_display_token(apps, schema_editor):
    QueueState = apps.get_model("queues", "QueueState")
    for state in QueueState.objects.filter(display_token__isnull=True):
        state.display_token = secrets.token_urlsafe(24)
        state.save(update_fields=["display_token"])


class Migration(migrations.Migration):
    dependencies = [("queues", "0002_queuestate_queueentry_rejoined_from")]

    operations = [
        migrations.AddField(
            model_name="queuestate",
            name="display_token",
            field=models.CharField(max_length=64, null=True, unique=True),
        ),
        migrations.RunPython(give_every_queue_a_display_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="queuestate",
            name="display_token",
            field=models.CharField(default=queues.models.new_display_token, max_length=64,
                                   unique=True),
        ),
    ]
