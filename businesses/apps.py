from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BusinessesConfig(AppConfig):
    name = "businesses"
    verbose_name = _("Merchants and businesses")
    default_auto_field = "django.db.models.BigAutoField"
