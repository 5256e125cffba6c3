"""Real-browser look at the pages whose words and layout changed: the plan-limit page, the
sign-up page, in French and English, on a phone and a desktop."""

from __future__ import annotations

import pytest

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from waitify.tests.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("stripe", [True, False])
@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(("device", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_plan_limit_page_shows_the_way_to_more_businesses(open_page, screenshot, settings,
                                                              stripe, language, device,
                                                              viewport):
    business_services.ensure_default_plans()  # a transactional test's flush removes them
    settings.STRIPE_ENABLED = stripe
    owner = make_merchant("full@example.fr", plan="basic")
    business_services.business_create(owner=owner, name="Boulangerie Démo",
                                      business_type="bakery")
    page = open_page(viewport=viewport, language=language, user=owner)

    page.goto("/businesses/new/")

    prompt = page.locator("#plan-limit")
    assert prompt.is_visible()
    assert page.locator("form.form").count() == 0
    link = page.get_by_role("link", name="Voir les formules" if language == "fr"
                            else "See the plans")
    assert link.count() == (1 if stripe else 0)
    assert page.locator('a[href^="mailto:"]').count() == (0 if stripe else 1)
    assert fits_the_screen(page)
    billing = "billing-on" if stripe else "billing-off"
    screenshot(page, f"plan-limit-{billing}-{language}-{device}")


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(("device", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_sign_up_page_reads_well(open_page, screenshot, language, device, viewport):
    business_services.ensure_default_plans()
    page = open_page(viewport=viewport, language=language)

    page.goto("/accounts/signup/")

    button = "Créer mon compte" if language == "fr" else "Sign Up"
    assert page.get_by_role("button", name=button).is_visible()
    assert fits_the_screen(page)
    screenshot(page, f"signup-{language}-{device}")
