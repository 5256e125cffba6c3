"""The queue in real browsers: a customer on a phone, the merchant at the counter,
the shop's screen on the wall — each page follows the others without a reload."""

from __future__ import annotations

import pytest

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from queues import services
from queues.models import EntryStatus, QueueEntry, QueueState
from waitify.tests.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TV = {"width": 1920, "height": 1080}


@pytest.fixture
def shop(db):
    owner = make_merchant("counter@boulangerie.fr", plan="pro")
    business = business_services.business_create(owner=owner, name="Boulangerie du Marché",
                                                 business_type="bakery")
    return services.queue_open(business=business)


def test_a_customer_follows_the_call_live_on_the_phone_and_on_the_shop_screen(
        open_page, shop, screenshot):
    customer = open_page(viewport=PHONE)
    customer.goto(f"/q/{shop.qr_token}")
    customer.fill(".join-form input[name=phone]", "06 12 34 56 78")
    customer.fill("input[name=name]", "Léa")
    customer.locator(".join-form button[type=submit]").click()
    customer.wait_for_url("**/q/s/**")
    assert customer.locator(".ticket").inner_text() == "A-001"
    assert customer.locator(".position").inner_text().strip() == "Vous êtes le prochain !"
    screenshot(customer, "queue-customer-waiting-phone")

    display = open_page(viewport=TV)
    display.goto(f"/display/{QueueState.objects.get(pk=shop.pk).display_token}")
    assert display.locator(".display-ticket").inner_text() == "–"

    merchant = open_page(viewport=DESKTOP, user=shop.owner)
    merchant.goto(f"/businesses/{shop.pk}/queue/")
    assert "A-001" in merchant.locator(".queue-table").inner_text()
    merchant.keyboard.press("n")  # the one-key "call next"
    merchant.locator(".called-entry").wait_for()
    screenshot(merchant, "queue-merchant-called")

    # Both other pages change by themselves (polling every 4 s), without a reload.
    customer.locator(".your-turn").wait_for(timeout=6000)
    assert customer.locator(".your-turn").inner_text() == "C'est votre tour !"
    assert customer.locator(".countdown").inner_text().startswith(("4:", "5:"))
    screenshot(customer, "queue-customer-your-turn-phone")
    display.locator(".display-ticket", has_text="A-001").wait_for(timeout=6000)
    screenshot(display, "queue-display-tv")

    merchant.locator(".called-entry button", has_text="Servi").click()
    customer.locator(".status-served").wait_for(timeout=6000)
    assert QueueEntry.objects.get().status == EntryStatus.SERVED
    for page in (customer, display, merchant):
        assert page.js_errors == []


def test_refusals_render_as_clear_pages_on_a_phone(open_page, shop, screenshot):
    services.entry_join(business=shop, phone="0612345678")
    page = open_page(viewport=PHONE)
    page.goto(f"/q/{shop.qr_token}")
    page.fill(".join-form input[name=phone]", "06 12 34 56 78")
    page.locator(".join-form button[type=submit]").click()
    assert "Ce numéro a déjà une place dans cette file." in page.locator(
        ".alert-error").inner_text()
    assert page.locator("a[href*='/q/s/']").count() == 0  # another device: no way in
    screenshot(page, "queue-refused-already-in-phone")

    page.fill(".join-form input[name=phone]", "12")
    page.locator(".join-form button[type=submit]").click()
    assert "06 12 34 56 78" in page.locator(".field .error").inner_text()

    services.queue_close(business=shop)
    page.goto(f"/q/{shop.qr_token}")
    assert "La file est fermée pour le moment." in page.inner_text("main")
    assert page.locator(".join-form").count() == 0
    screenshot(page, "queue-refused-closed-phone")
    assert page.js_errors == []
