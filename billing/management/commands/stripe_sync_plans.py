"""`manage.py stripe_sync_plans`: Stripe products and monthly prices from the Plan table.

Idempotent: each plan's product has a fixed id (`waitify_<name>`) and its price a
lookup key, so a second run finds them and changes nothing; a changed price
creates a new Stripe price (subscriptions on the old one keep it).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from billing import services
from billing.errors import BillingError


class Command(BaseCommand):
    help = "Create or update the Stripe products and prices of the plans (idempotent)."

    def handle(self, *args, **options) -> None:
        try:
            synced = services.plans_sync_to_stripe()
        except BillingError as error:
            raise CommandError(str(error.message)) from error
        for plan, price_id in synced:
            self.stdout.write(f"{plan.name}: {price_id}")
