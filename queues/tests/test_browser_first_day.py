"""A merchant's first day, in real browsers, from a database that holds only what the
migrations put there: no demo seed, no factory.

Sign up with an e-mail and a password, confirm the address from the e-mail, create
the business with the form, open its live queue, open the queue; a customer joins
on a phone; the merchant calls, marks arrived and serves.
"""

from __future__ import annotations

import importlib
import re
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core import mail

from businesses.models import Business, User
from queues.models import EntryStatus, QueueEntry, QueueState
from waitify.tests.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Un-mot-de-passe-solide-42"


@pytest.fixture
def freshly_migrated_database():
    """What `migrate` leaves in an empty database (a transactional test's flush also
    removes the rows the data migrations seeded): plans and platform settings only."""
    seed = importlib.import_module("businesses.migrations.0002_default_plans")
    seed.seed_plans_and_settings(apps, None)
    assert not User.objects.exists() and not Business.objects.exists()
    assert not QueueState.objects.exists() and not QueueEntry.objects.exists()


def confirmation_path(message) -> str:
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    return urlsplit(link).path


def test_a_new_merchant_signs_up_opens_the_queue_and_serves_a_first_customer(
        freshly_migrated_database, open_page, screenshot):
    merchant = open_page(viewport=DESKTOP)
    merchant.goto("/accounts/signup/")
    merchant.fill("#id_email", "premier.jour@boulangerie.fr")
    merchant.fill("#id_password1", PASSWORD)
    merchant.fill("#id_password2", PASSWORD)
    merchant.locator("main form button[type=submit]").click()
    merchant.wait_for_url("**/accounts/confirm-email/")
    screenshot(merchant, "first-day-1-check-your-email")

    [message] = mail.outbox
    assert message.to == ["premier.jour@boulangerie.fr"]
    merchant.goto(confirmation_path(message))
    screenshot(merchant, "first-day-2-confirm-email")
    merchant.locator("main form button[type=submit]").click()
    merchant.wait_for_url("**/dashboard/")
    screenshot(merchant, "first-day-3-empty-dashboard")

    merchant.locator("main a[href='/businesses/new/']").first.click()
    merchant.wait_for_url("**/businesses/new/")
    merchant.fill("#id_name", "Boulangerie du Premier Jour")
    merchant.select_option("#id_business_type", "bakery")
    merchant.fill("#id_city", "Lyon")
    merchant.locator("main form.form button[type=submit]").click()
    merchant.wait_for_url(re.compile(r"/businesses/[0-9a-f-]{36}/$"))
    business = Business.objects.get(owner__email="premier.jour@boulangerie.fr")
    screenshot(merchant, "first-day-4-business-created")

    # "Gérer la file" on a business that was never opened.
    live_path = f"/businesses/{business.pk}/queue/"
    with merchant.expect_response(lambda r: urlsplit(r.url).path == live_path) as answer:
        merchant.locator(f"main a[href='{live_path}']").click()
    assert answer.value.status == 200
    assert merchant.locator("h1").inner_text() == "File en direct"
    display_link = merchant.locator("a[href^='/display/']")
    assert display_link.get_attribute("href") == (
        f"/display/{QueueState.objects.get(pk=business.pk).display_token}")
    screenshot(merchant, "first-day-5-live-queue-never-opened")

    merchant.get_by_role("button", name="Ouvrir la file").click()
    merchant.get_by_role("button", name="Fermer la file").wait_for()
    business.refresh_from_db()
    assert business.is_queue_open
    screenshot(merchant, "first-day-6-queue-open")

    customer = open_page(viewport=PHONE)
    customer.goto(business.join_path)
    customer.fill(".join-form input[name=phone]", "06 12 34 56 78")
    customer.fill("input[name=name]", "Léa")
    customer.locator(".join-form button[type=submit]").click()
    customer.wait_for_url("**/q/s/**")
    assert customer.locator(".ticket").inner_text() == "A-001"
    screenshot(customer, "first-day-7-customer-joined-phone")

    # The merchant's panel shows the newcomer by itself (it polls), then calls her.
    merchant.locator("#live-panel", has_text="Léa").wait_for(timeout=8000)
    merchant.get_by_role("button", name="Appeler le suivant").click()
    merchant.locator(".called-entry", has_text="Léa").wait_for()
    screenshot(merchant, "first-day-8-customer-called")
    customer.locator(".your-turn").wait_for(timeout=8000)
    screenshot(customer, "first-day-9-your-turn-phone")

    merchant.locator(".called-entry").get_by_role("button", name="Arrivé").click()
    merchant.locator(".called-entry", has_text="Au comptoir").wait_for()
    screenshot(merchant, "first-day-10-at-the-counter")
    merchant.locator(".called-entry").get_by_role("button", name="Servi").click()
    merchant.locator(".called-entry").wait_for(state="detached")
    screenshot(merchant, "first-day-11-served")

    entry = QueueEntry.objects.get()
    assert entry.status == EntryStatus.SERVED and entry.arrived_at is not None
    customer.locator(".status-served").wait_for(timeout=8000)
    screenshot(customer, "first-day-12-served-phone")
    assert merchant.js_errors == [] and customer.js_errors == []
