from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BusinessesConfig(AppConfig):
    name = "businesses"
    verbose_name = _("Merchants and businesses")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from businesses import services

        user_logged_in.connect(services.remember_language_at_login,
                               dispatch_uid="businesses.language")
        user_logged_in.connect(services.join_staff_at_login,
                               dispatch_uid="businesses.join_staff")
