"""The join page on a phone: a number already waiting gives a stranger nothing, while the
device that joined finds its ticket again; a tourist's number joins without SMS."""

from __future__ import annotations

import pytest

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from queues import services
from queues.models import QueueEntry, SmsLog, SmsType
from waitify.tests.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(db):
    owner = make_merchant("comptoir@boulangerie.fr", plan="pro")
    business = business_services.business_create(owner=owner, name="Boulangerie du Marché",
                                                 business_type="bakery")
    return services.queue_open(business=business)


def join(page, phone: str) -> None:
    page.fill(".join-form input[name=phone]", phone)
    page.locator(".join-form button[type=submit]").click()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_only_the_device_that_joined_is_led_back_to_its_ticket(
        open_page, shop, screenshot, language):
    owner = open_page(viewport=PHONE, language=language)
    owner.goto(f"/q/{shop.qr_token}")
    join(owner, "06 12 34 56 78")
    owner.wait_for_url("**/q/s/**")
    entry = QueueEntry.objects.get()

    owner.goto(f"/q/{shop.qr_token}")
    assert owner.locator(".device-ticket").get_attribute("data-ticket") == "A-001"
    join(owner, "06 12 34 56 78")
    assert owner.locator(".alert-error").get_attribute("data-code") == "4003"
    screenshot(owner, f"join-4003-own-device-{language}-phone")
    owner.locator(".device-ticket a").click()
    owner.wait_for_url(f"**/q/s/{entry.secret}")

    stranger = open_page(viewport=PHONE, language=language)
    stranger.goto(f"/q/{shop.qr_token}")
    join(stranger, "+33 6 12 34 56 78")
    assert stranger.locator(".alert-error").get_attribute("data-code") == "4003"
    html = stranger.content()
    assert entry.secret not in html and "A-001" not in html
    screenshot(stranger, f"join-4003-other-device-{language}-phone")
    stranger.locator(".alert-error button[type=submit]").click()
    stranger.locator(".alert-success").wait_for()
    screenshot(stranger, f"join-link-resent-{language}-phone")
    assert SmsLog.objects.filter(type=SmsType.LINK, entry=entry).count() == 1
    assert owner.js_errors == [] and stranger.js_errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_tourist_joins_without_sms_and_follows_the_turn_on_the_page(
        open_page, shop, screenshot, language):
    page = open_page(viewport=PHONE, language=language)
    page.goto(f"/q/{shop.qr_token}")
    screenshot(page, f"join-empty-queue-{language}-phone")
    join(page, "+44 7911 123456")
    assert page.locator(".alert-warning").get_attribute("data-error") == "destination_not_allowed"
    screenshot(page, f"join-foreign-number-{language}-phone")
    page.locator(".alert-warning .page-only button").click()
    page.wait_for_url("**/q/s/**")
    assert page.locator(".page-only-notice").is_visible()
    screenshot(page, f"status-page-only-{language}-phone")
    entry = QueueEntry.objects.get()
    assert (entry.phone, entry.notify_by_sms) == ("+447911123456", False)
    assert not SmsLog.objects.exists()
    assert page.js_errors == []
