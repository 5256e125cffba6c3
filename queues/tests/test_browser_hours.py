"""Opening hours in a real browser: the closed join page on a phone reloads itself when
the merchant opens the queue; screenshots of the closed page and the hours form."""

from __future__ import annotations

import pytest
import time_machine

from businesses import services as business_services
from businesses.models import Business
from businesses.tests.factories import make_merchant
from businesses.tests.test_browser import fits_the_screen
from queues import services as queue_services
from queues.tests.test_opening_hours_joins import BAKERY
from waitify.tests.browser import DESKTOP, PHONE, SCREENSHOTS_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bakery(db):
    owner = make_merchant("hours@boulangerie.fr", plan="pro")
    business = business_services.business_create(owner=owner, name="Boulangerie du Marché",
                                                 business_type="bakery", opening_hours=BAKERY)
    return business


def test_the_closed_page_on_a_phone_opens_by_itself_when_the_merchant_opens(open_page, bakery,
                                                                            screenshot):
    # Opened once and closed: the live page of a never-opened business is another fix.
    queue_services.queue_close(business=queue_services.queue_open(business=bakery))
    with time_machine.travel("2026-12-01 10:00 +01:00"):
        customer = open_page(viewport=PHONE)
        customer.goto(f"/q/{bakery.qr_token}")
        assert customer.locator("#join-state").get_attribute("data-state") == "closed"
        assert customer.locator(".join-form input[name=phone]").count() == 0
        assert "La file est fermée pour le moment." in customer.locator("main").inner_text()

        merchant = open_page(viewport=DESKTOP, user=bakery.owner)
        merchant.goto(f"/businesses/{bakery.pk}/queue/")
        assert "Les clients ne peuvent pas rejoindre la file : elle est fermée." in \
            merchant.locator(".joins-note").inner_text()
        merchant.locator("button", has_text="Ouvrir la file").click()
        merchant.locator(".joins-note", has_text="jusqu'à la fermeture à 12:30").wait_for()

        # No reload by the test: the page polls its state and reloads itself.
        customer.locator(".join-form input[name=phone]").wait_for(timeout=15_000)
        assert customer.locator("#join-state").get_attribute("data-state") == "open"
        assert customer.locator(".badge.state-open").inner_text() == "Ouverte"
        assert fits_the_screen(customer)
        assert customer.js_errors == []
        assert merchant.js_errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_screenshots_of_the_join_page_outside_hours(open_page, bakery, screenshot, language):
    Business.objects.filter(pk=bakery.pk).update(is_queue_open=True)
    with time_machine.travel("2026-12-21 13:00 +01:00"):  # Monday: closed, Christmas ahead
        for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page = open_page(viewport=viewport, language=language)
            page.goto(f"/q/{bakery.qr_token}")
            text = page.locator("main").inner_text()
            assert page.locator(".badge.state-open").count() == 0
            assert ("Réouverture demain à 08:00." if language == "fr"
                    else "Opens again tomorrow at 08:00.") in text
            assert page.locator(".week-hours tr.today").count() == 1
            assert fits_the_screen(page)
            screenshot(page, f"join-closed-hours-{language}-{name}")
            assert page.js_errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_screenshots_of_the_hours_form(open_page, bakery, screenshot, language):
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = open_page(viewport=viewport, language=language, user=bakery.owner)
        page.goto(f"/businesses/{bakery.pk}/")
        hours = page.locator(".opening-hours")
        assert page.locator("[name=opening_hours-tuesday-1-end]").input_value() == "19:30"
        assert page.locator("[name=opening_hours-monday-closed]").is_checked()
        assert fits_the_screen(page)
        screenshot(page, f"hours-form-{language}-{name}")
        hours.screenshot(path=str(SCREENSHOTS_DIR / f"hours-form-widget-{language}-{name}.png"))
        if name == "phone":
            # A bad range comes back with a translated message and the typed values.
            page.fill("[name=opening_hours-friday-1-start]", "12:00")
            page.locator("main form.form button[type=submit]").first.click()
            page.locator(".hours-errors").wait_for()
            assert ("chevauche" if language == "fr" else "overlaps") in \
                page.locator(".hours-errors").inner_text()
            assert fits_the_screen(page)
            screenshot(page, f"hours-form-error-{language}-phone")
        assert page.js_errors == []
