"""On a phone, the wait is a range that counts down, "less than 2 minutes" when
next with a free counter."""

from __future__ import annotations

import pytest

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from queues import services
from queues.tests.factories import fill
from waitify.tests.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(db):
    owner = make_merchant("estimate@boulangerie.fr", plan="pro")
    business = business_services.business_create(owner=owner, name="Boulangerie du Port",
                                                 business_type="bakery")
    return services.queue_open(business=business)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_status_page_shows_the_wait_as_a_range(open_page, shop, screenshot, language):
    first, *_middle, last = fill(shop, 5)
    page = open_page(viewport=PHONE, language=language)

    page.goto(f"/q/s/{last.secret}")
    estimate = page.locator(".estimate .wait-estimate").inner_text()
    assert ("entre" if language == "fr" else "between") in estimate
    assert page.locator("[data-countdown-seconds]").count() == 3
    screenshot(page, f"status-estimate-range-{language}-phone")

    page.goto(f"/q/s/{first.secret}")
    soon = page.locator(".estimate .wait-estimate").inner_text()
    assert soon == ("moins de 2 minutes" if language == "fr" else "less than 2 minutes")
    screenshot(page, f"status-estimate-soon-{language}-phone")
    assert page.js_errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_join_page_shows_the_range_before_joining(open_page, shop, screenshot, language):
    fill(shop, 6)
    page = open_page(viewport=PHONE, language=language)
    page.goto(f"/q/{shop.qr_token}")
    figure = page.locator("[data-estimate]").inner_text()
    assert ("entre" if language == "fr" else "between") in figure
    screenshot(page, f"join-estimate-range-{language}-phone")
    assert page.js_errors == []
