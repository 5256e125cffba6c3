"""The status page on a phone says what "let one person pass" and a rejoin did."""

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
    owner = make_merchant("comptoir@pharmacie.fr", plan="pro")
    business = business_services.business_create(owner=owner, name="Pharmacie du Port",
                                                 business_type="pharmacy")
    return services.queue_open(business=business)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_status_page_confirms_a_pass_and_a_rejoin(open_page, shop, screenshot, language):
    first, second, last = fill(shop, 3)
    page = open_page(viewport=PHONE, language=language)

    page.goto(f"/q/s/{first.secret}")
    page.locator("form[action$='/snooze'] button").click()
    assert page.locator(".messages .alert-success").count() == 1
    screenshot(page, f"status-let-one-pass-{language}-phone")

    page.goto(f"/q/s/{last.secret}")
    page.locator("form[action$='/snooze'] button").click()
    assert page.locator(".messages .alert").count() == 1
    screenshot(page, f"status-nobody-behind-{language}-phone")

    services.queue_call_next(business=shop)  # `second` is first in line now
    services.entry_miss(entry=second)
    page.goto(f"/q/s/{second.secret}")
    window = {"fr": "Possible pendant 15 minutes", "en": "Possible for 15 minutes"}[language]
    assert window in page.locator("#status-card").inner_text()  # services.REJOIN_WINDOW
    screenshot(page, f"status-missed-can-rejoin-{language}-phone")
    page.locator("form[action$='/rejoin'] button").click()
    page.locator(".messages .alert-success").wait_for()
    assert "A-004" in page.locator(".messages").inner_text()
    screenshot(page, f"status-rejoined-{language}-phone")
    page.goto(f"/q/s/{second.secret}")
    assert page.locator(".rejoined").is_visible()
    screenshot(page, f"status-missed-after-rejoin-{language}-phone")
    assert page.js_errors == []
