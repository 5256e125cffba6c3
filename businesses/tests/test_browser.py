"""Real-browser tests: Debian's chromium through Playwright, against the live server.

They also leave a screenshot of every page (French and English, desktop and phone)
in /screenshots/ for a person to look at.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from businesses import services as business_services
from businesses.models import Business, User
from waitify.tests.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NEW_PASSWORD = "Un-mot-de-passe-solide-42"


def fits_the_screen(page) -> bool:
    """Nothing sticks out sideways: no horizontal scrolling on a phone."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def confirmation_path(message) -> str:
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    return urlsplit(link).path


def test_a_merchant_signs_up_creates_a_business_and_downloads_its_qr_code(
    open_page, screenshot
):
    business_services.ensure_default_plans()  # a transactional test's flush removes them
    page = open_page()
    page.goto("/accounts/signup/")
    page.fill("#id_email", "nouvelle@boulangerie.fr")
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/accounts/confirm-email/")
    screenshot(page, "flow-1-verification-sent")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nouvelle@boulangerie.fr"]
    page.goto(confirmation_path(mail.outbox[0]))
    screenshot(page, "flow-2-confirm-email")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/dashboard/")
    assert EmailAddress.objects.get(email="nouvelle@boulangerie.fr").verified

    page.locator("main a[href='/businesses/new/']").first.click()
    page.wait_for_url("**/businesses/new/")
    page.fill("#id_name", "Boulangerie du Canal")
    page.select_option("#id_business_type", "bakery")
    page.fill("#id_city", "Paris")
    page.locator("main form.form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/businesses/[0-9a-f-]{36}/$"))

    business = Business.objects.get(owner__email="nouvelle@boulangerie.fr")
    assert business.name == "Boulangerie du Canal"
    assert page.locator("h1").inner_text().startswith("Boulangerie du Canal")
    qr_image = page.locator(".qr-panel img")
    assert qr_image.evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "flow-3-business-created")

    with page.expect_download() as download_info:
        page.locator(f".qr-panel a[href='/businesses/{business.pk}/qr.png']").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".png")
    with open(download.path(), "rb") as png:
        assert png.read(8) == PNG_SIGNATURE
    assert page.js_errors == []


def test_the_customer_page_works_on_a_phone_without_javascript_errors(
    open_page, screenshot, business
):
    Business.objects.filter(pk=business.pk).update(is_queue_open=True)
    page = open_page(viewport=PHONE)

    response = page.goto(business.join_path)

    assert response.status == 200
    assert page.locator("h1").inner_text() == "Boulangerie Martin"
    assert page.locator(".badge.state-open").is_visible()
    assert fits_the_screen(page)
    screenshot(page, "flow-customer-phone")
    assert page.js_errors == []


def test_an_old_qr_code_shows_a_friendly_page(open_page, business):
    page = open_page(viewport=PHONE)

    response = page.goto("/q/this-code-was-replaced")

    assert response.status == 404
    assert page.locator(".join-invalid").is_visible()
    assert "Boulangerie Martin" not in page.content()
    assert fits_the_screen(page)
    assert page.js_errors == []


def test_social_login_buttons_show_only_for_configured_providers(open_page, screenshot, settings):
    page = open_page()
    page.goto("/accounts/login/")
    assert page.locator(".provider").count() == 0

    google = {**settings.SOCIALACCOUNT_PROVIDERS["google"],
              "APPS": [{"client_id": "google-id", "secret": "google-secret", "key": ""}]}
    settings.SOCIALACCOUNT_PROVIDERS = {**settings.SOCIALACCOUNT_PROVIDERS, "google": google}
    page.goto("/accounts/login/")

    screenshot(page, "login-with-google-fr-desktop")
    assert page.locator(".provider-google").is_visible()
    assert page.locator(".provider-facebook").count() == 0
    assert page.js_errors == []


def test_forms_show_their_errors_next_to_the_fields(open_page, screenshot, merchant):
    page = open_page(language="en")
    page.goto("/accounts/login/")
    page.fill("#id_login", merchant.email)
    page.fill("#id_password", "not-the-password")
    page.locator("main form button[type=submit]").click()
    assert page.locator(".auth-card .alert-error").is_visible()
    screenshot(page, "login-error-en-desktop")

    page = open_page(viewport=PHONE, language="en", user=merchant)
    page.goto("/businesses/new/")
    page.fill("#id_zip_code", "750")
    page.fill("[name=opening_hours-monday-0-start]", "18:00")
    page.fill("[name=opening_hours-monday-0-end]", "09:00")
    page.locator("main form.form button[type=submit]").click()
    assert page.locator("#id_name").evaluate("input => input.closest('.field.has-error') !== null")
    assert page.locator(".hours-errors").is_visible()
    assert fits_the_screen(page)
    screenshot(page, "business-create-errors-en-phone")
    assert page.js_errors == []


def _tour_data(merchant: User, newcomer: User, business: Business) -> dict[str, str]:
    """Every page of the product, with the data each one needs."""
    for user in (merchant, newcomer):
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Business.objects.filter(pk=business.pk).update(
        is_queue_open=True, address="12 rue de la Roquette", city="Paris", zip_code="75011",
        opening_hours={"weekly": {"monday": [], "tuesday": [["07:00", "19:30"]]}},
    )
    closed = business_services.business_create(owner=merchant, name="Salon Coiffure Élise",
                                      business_type="hairdresser", city="Lyon")
    inactive = business_services.business_create(owner=merchant, name="Pharmacie du Marché",
                                        business_type="pharmacy", city="Lille")
    Business.objects.filter(pk=inactive.pk).update(is_active=False)
    paused = business_services.business_create(owner=merchant, name="Garage des Deux Ponts",
                                      business_type="garage", city="Nantes")
    Business.objects.filter(pk=paused.pk).update(is_queue_open=True, is_queue_paused=True)
    return {
        "join-open": business.join_path,
        "join-closed": closed.join_path,
        "join-paused": paused.join_path,
        "join-inactive": inactive.join_path,
        "join-invalid": "/q/an-old-code",
    }


PUBLIC_PAGES = {
    "home": "/",
    "login": "/accounts/login/",
    "signup": "/accounts/signup/",
    "password-reset": "/accounts/password/reset/",
    "password-reset-done": "/accounts/password/reset/done/",
    "verification-sent": "/accounts/confirm-email/",
    "confirm-email-expired": "/accounts/confirm-email/an-expired-key/",
    "password-reset-expired": "/accounts/password/reset/key/1-an-expired-key/",
}
MERCHANT_PAGES = {
    "dashboard": "/dashboard/",
    "business-create": "/businesses/new/",
    "account": "/account/",
    "password-change": "/accounts/password/change/",
    "emails": "/accounts/email/",
    "connections": "/accounts/3rdparty/",
    "logout": "/accounts/logout/",
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_page_renders_cleanly_on_desktop_and_phone(
    open_page, screenshot, merchant, outsider, business, language
):
    customer_pages = _tour_data(merchant, outsider, business)
    tours = [
        (None, PUBLIC_PAGES | customer_pages),
        (merchant, MERCHANT_PAGES | {"business-detail": f"/businesses/{business.pk}/"}),
        (outsider, {"dashboard-empty": "/dashboard/"}),
    ]
    problems = []
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for user, pages in tours:
            page = open_page(viewport=viewport, language=language, user=user)
            for name, path in pages.items():
                response = page.goto(path)
                screenshot(page, f"{name}-{language}-{size}")
                if response.status >= 500:
                    problems.append(f"{path}: HTTP {response.status}")
                if page.js_errors:
                    problems.append(f"{path} ({size}): {page.js_errors}")
                    page.js_errors.clear()
                if not fits_the_screen(page):
                    problems.append(f"{path} ({size}): wider than the screen")
                if page.locator("html").get_attribute("lang") != language:
                    problems.append(f"{path}: not in {language}")
    assert problems == []
