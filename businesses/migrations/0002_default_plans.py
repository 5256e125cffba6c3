from django.conf import settings
from django.db import migrations

from businesses.defaults import DEFAULT_PLANS



def seed_plans_and_settings(apps, schema_editor):
    Plan = apps.get_model("businesses", "Plan")
    PlatformSettings = apps.get_model("businesses", "PlatformSettings")
    # Only the fields this model has at this point of the history (later migrations
    # add e.g. max_counters and set it themselves).
    known = {field.name for field in Plan._meta.get_fields()}
    for plan in DEFAULT_PLANS:
        plan = {key: value for key, value in plan.items() if key in known}
        Plan.objects.update_or_create(name=plan["name"], defaults=plan)
    PlatformSettings.objects.get_or_create(singleton=True)
    Site = apps.get_model("sites", "Site")
    domain = settings.SITE_URL.split("://", 1)[-1]
    Site.objects.update_or_create(id=settings.SITE_ID, defaults={"domain": domain,
                                                                 "name": "Waitify"})


class Migration(migrations.Migration):
    dependencies = [
        ("businesses", "0001_initial"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(seed_plans_and_settings, migrations.RunPython.noop)]
