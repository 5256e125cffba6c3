"""`python manage.py seed_demo`: the demo merchant and business (idempotent)."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from businesses import services
from businesses.models import Business, Plan, User
from queues import services as queue_services

DEMO_EMAIL = "demo@waitify.fr"
DEMO_PASSWORD = "waitify-demo"  # noqa: S105 - public demo credentials, printed on purpose
DEMO_BUSINESS = "Boulangerie Démo"


class Command(BaseCommand):
    help = "Create the demo merchant (demo@waitify.fr) and its open bakery queue."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        services.ensure_default_plans()
        pro = Plan.objects.get(name="pro")
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, plan=pro,
                                            first_name="Camille", last_name="Démo",
                                            subscription_status=User.Status.ACTIVE)
        self._mark_email_verified(user)
        business = Business.objects.filter(owner=user, name=DEMO_BUSINESS).first()
        if business is None:
            business = services.business_create(
                owner=user, name=DEMO_BUSINESS, business_type="bakery",
                address="12 rue des Boulangers", city="Paris", zip_code="75011",
                custom_message="Merci de votre visite !",
            )
        if not business.is_active:
            business = services.business_activate(business=business)
        queue_services.queue_open(business=business)
        self.stdout.write(self.style.SUCCESS("Waitify demo is ready."))
        self.stdout.write(f"  Merchant login : {settings.SITE_URL}/accounts/login/")
        self.stdout.write(f"  E-mail         : {DEMO_EMAIL}")
        self.stdout.write(f"  Password       : {DEMO_PASSWORD}")
        self.stdout.write(f"  Customer page  : {business.join_url}")

    def _mark_email_verified(self, user: User) -> None:
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
