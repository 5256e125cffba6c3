"""The billing page in a real browser (Debian's chromium through Playwright).

Stripe's API is the fake; Stripe's hosted Checkout page is answered by the browser's
route stub, so nothing leaves the machine. Screenshots land in /screenshots/.
"""

from __future__ import annotations

import pytest

from billing import selectors
from billing.tests.test_usage import send_sms
from businesses import services as business_services
from waitify.tests.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHECKOUT_STUB = "<!doctype html><title>Stripe Checkout</title><h1>Stripe Checkout (stub)</h1>"


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def busy_trial(subscriber):
    shop = business_services.business_create(owner=subscriber, name="Boulangerie du Canal",
                                             business_type="bakery")
    send_sms(shop, 1234, month=selectors.month_of())
    return subscriber


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_the_billing_page_shows_the_meter_and_the_plans(open_page, screenshot, busy_trial,
                                                        viewport, label):
    page = open_page(viewport=viewport, user=busy_trial)
    response = page.goto("/billing/")
    assert response.status == 200
    meter = page.locator(".usage-meter")
    assert meter.locator(".sms-used").inner_text() == "1234 / 1000"
    assert meter.locator(".overage-cost").inner_text() == "7,02\xa0€"
    assert meter.locator(".bar.over").count() == 1
    assert page.locator(".plan-card").count() == 3
    assert page.locator(".plan-card button[type=submit]").count() == 3
    assert fits_the_screen(page)
    assert page.js_errors == []
    screenshot(page, f"billing-trial-fr-{label}")


def test_the_upgrade_button_leads_to_stripe_checkout(open_page, screenshot, busy_trial,
                                                     fake_stripe):
    page = open_page(user=busy_trial)
    page.route("https://checkout.stripe.com/**",
               lambda route: route.fulfill(status=200, content_type="text/html",
                                           body=CHECKOUT_STUB))
    page.goto("/billing/")
    page.locator(".plan-card[data-plan=pro] button[type=submit]").click()
    page.wait_for_url("https://checkout.stripe.com/**")
    [session] = fake_stripe.of_type("checkout.session")
    assert page.url == session["url"]
    assert page.locator("h1").inner_text() == "Stripe Checkout (stub)"
    assert session["line_items"] == [{"price": "price_pro", "quantity": "1"}]


def test_the_billing_page_in_english_and_with_billing_off(open_page, screenshot, merchant,
                                                          settings):
    settings.STRIPE_ENABLED = False
    shop = business_services.business_create(owner=merchant, name="Garage", business_type="garage")
    send_sms(shop, 300, month=selectors.month_of())
    page = open_page(user=merchant, language="en")
    page.goto("/billing/")
    assert "Online billing is off" in page.locator(".billing-off").inner_text()
    assert page.js_errors == []
    screenshot(page, "billing-off-en-desktop")


def test_the_dashboard_banner_of_a_read_only_account(open_page, screenshot, subscriber):
    type(subscriber).objects.filter(pk=subscriber.pk).update(subscription_status="read_only")
    for viewport, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = open_page(viewport=viewport, user=subscriber)
        page.goto("/dashboard/")
        banner = page.locator(".account-banner")
        assert banner.is_visible()
        screenshot(page, f"dashboard-read-only-fr-{label}")
        banner.locator("a").click()
        page.wait_for_url("**/billing/")
        assert fits_the_screen(page)
        screenshot(page, f"billing-read-only-fr-{label}")


def test_a_subscriber_sees_the_current_plan_the_switches_and_the_invoices(open_page, screenshot,
                                                                          scenario):
    from django.test import Client

    from billing.tests import stripe_objects as so

    so.deliver(Client(), scenario.subscribe())
    so.deliver(Client(), so.event("invoice.payment_succeeded", scenario.invoice))  # 1st month
    so.deliver(Client(), scenario.renewal_fails(attempt=1))
    so.deliver(Client(), scenario.payment_succeeds())
    for name in ("Boulangerie du Canal", "Boulangerie Gare", "Boulangerie Halles"):
        business_services.business_create(owner=scenario.account, name=name,
                                          business_type="bakery")
    for viewport, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = open_page(viewport=viewport, user=scenario.account)
        page.goto("/billing/")
        assert page.locator(".plan-card.current").get_attribute("data-plan") == "pro"
        assert page.locator(".plan-card[data-plan=basic] .plan-refusal").is_visible()
        assert page.locator(".plan-card[data-plan=enterprise] button").inner_text() \
            == "Passer à Entreprise"
        assert page.locator(".billing-table tbody tr").count() == 2
        assert fits_the_screen(page)
        assert page.js_errors == []
        screenshot(page, f"billing-active-fr-{label}")
