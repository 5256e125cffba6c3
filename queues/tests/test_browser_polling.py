"""On a phone, the status page polls as often as the customer's place needs, yet "your
turn" shows within 5 s of the call, and a page seen again asks for news at once."""

from __future__ import annotations

import time

import pytest

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from queues import services
from queues.tests.factories import fill
from waitify.tests.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(db):
    owner = make_merchant("comptoir@boulangerie.fr", plan="pro")
    business = business_services.business_create(owner=owner, name="Boulangerie du Marché",
                                                 business_type="bakery")
    return services.queue_open(business=business)


def a_poll_of(entry):
    return lambda response: f"/q/s/{entry.secret}?v=" in response.url


@pytest.mark.parametrize("language", ["fr", "en"])
def test_your_turn_shows_within_5_s_of_the_call_even_just_after_a_poll(
        open_page, shop, screenshot, language):
    first, second = fill(shop, 2)
    head, next_one = open_page(viewport=PHONE, language=language), open_page(viewport=PHONE)
    head.goto(f"/q/s/{first.secret}")
    next_one.goto(f"/q/s/{second.secret}")
    screenshot(head, f"polling-head-waiting-{language}-phone")

    # The worst moment: the merchant calls just after the page has asked.
    with head.expect_response(a_poll_of(first), timeout=10_000):
        pass
    called = time.monotonic()
    services.queue_call_next(business=shop)
    head.locator(".your-turn").wait_for(timeout=5_000)
    assert time.monotonic() - called < 5
    screenshot(head, f"polling-your-turn-{language}-phone")

    # The second in line was polling as the second: the next call reaches it as fast.
    next_one.locator("[data-position='1']").wait_for(timeout=5_000)
    with next_one.expect_response(a_poll_of(second), timeout=10_000):
        pass
    called = time.monotonic()
    services.queue_call_next(business=shop)
    next_one.locator(".your-turn").wait_for(timeout=5_000)
    assert time.monotonic() - called < 5
    assert head.js_errors == [] and next_one.js_errors == []


def test_a_page_far_back_asks_for_news_as_soon_as_it_is_seen_again(open_page, shop, screenshot):
    entries = fill(shop, 12)
    page = open_page(viewport=PHONE)
    page.goto(f"/q/s/{entries[-1].secret}")
    assert page.locator("#status-card").get_attribute("hx-trigger") == "every 20s, repoll"
    for entry in entries[:-1]:
        services.entry_cancel(entry=entry)

    seen_again = time.monotonic()
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.locator("[data-position='1']").wait_for(timeout=3_000)
    assert time.monotonic() - seen_again < 3  # long before the 20 s poll
    assert page.locator("#status-card").get_attribute("hx-trigger") == "every 4s, repoll"
    screenshot(page, "polling-seen-again-now-next-fr-phone")
    assert page.js_errors == []
