"""Give every existing business its queue state row (until now it appeared only when the
queue was first opened, and the live page needed it for the shop display's link)."""

import secrets

from django.db import migrations


def create_missing_states(apps, schema_editor) -> None:
    Business = apps.get_model("businesses", "Business")
    QueueState = apps.get_model("queues", "QueueState")
    missing = Business.objects.filter(queue_state_row__isnull=True).values_list("pk", flat=True)
    QueueState.objects.bulk_create(
        [QueueState(business_id=pk, display_token=secrets.token_urlsafe(24)) for pk in missing],
        ignore_conflicts=True, batch_size=1000,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("queues", "0006_sms_sent_by_provider_id"),
    ]

    operations = [
        migrations.RunPython(create_missing_states, migrations.RunPython.noop),
    ]
