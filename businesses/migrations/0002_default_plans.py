from django.conf import settings
from django.db import migrations

from businesses.defaults import DEFAULT_PLANS



def seed_plans_and_settings(apps, schema_editor):
    Plan = apps.get_model("businesses", "Plan")
    PlatformSettings = apps.get_model("businesses", "PlatformSettings")
    for plan in DEFAULT_PLANS:
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
