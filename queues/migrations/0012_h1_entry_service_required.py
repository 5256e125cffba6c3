import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Every entry has a service (filled by 0011, in its own transaction before this)."""

    dependencies = [
        ("queues", "0011_h1_counters_services"),
    ]

    operations = [
        migrations.AlterField(
            model_name="queueentry",
            name="service",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                    related_name="entries", to="queues.service",
                                    verbose_name="service"),
        ),
    ]
