from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # After dj-stripe's own receivers (djstripe comes first in INSTALLED_APPS),
        # so the event's object is already synced when ours run.
        from billing import gateway, webhooks

        webhooks.connect_receivers()
        gateway.configure_client()
