"""The analytics pages in a real Chromium (Debian's, through Playwright), with a seeded
history; screenshots for a person to look at land in /screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.days import local_today
from analytics.tests.factories import make_business, seed_history
from businesses.tests.factories import make_merchant
from queues import services as queue_services
from waitify.tests.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def shops():
    owner = make_merchant("boulangeries@example.fr", plan="pro", first_name="Marie")
    yesterday = local_today() - timedelta(days=1)
    centre = make_business(owner, "Boulangerie Centre-Ville", basket_cents=1250)
    gare = make_business(owner, "Boulangerie Quartier Gare", basket_cents=900)
    seed_history(centre, last=yesterday, days=90, scale=1.4, seed=1)
    seed_history(gare, last=yesterday, days=90, scale=0.9, seed=2)
    queue_services.queue_open(business=centre)
    for number in range(4):
        queue_services.entry_join(business=centre, phone=f"06123456{number:02d}")
    return owner, centre, gare


@pytest.mark.parametrize("viewport, label", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_the_business_analytics_page_draws_its_charts(open_page, screenshot, shops, viewport,
                                                       label):
    owner, centre, _gare = shops
    page = open_page(viewport=viewport, user=owner)

    response = page.goto(f"/businesses/{centre.pk}/analytics/")

    assert response.status == 200
    assert page.locator("#history svg[role=img]").count() == 3
    assert page.locator(".kpis dd").first.inner_text() == "4"  # waiting now
    assert fits_the_screen(page)
    for chart in page.locator(".chart-plot svg[role=img]").all():
        box = chart.bounding_box()
        assert box["width"] > 250 and box["height"] > 150
    screenshot(page, f"analytics-business-fr-{label}")

    # The period tabs swap the history in place (htmx) and keep the URL shareable.
    page.get_by_role("link", name="7 derniers jours").click()
    page.wait_for_url("**period=last_7_days")
    page.wait_for_function(
        "document.querySelectorAll('.chart-served .chart-x span').length === 7")
    assert page.locator("#history svg[role=img]").count() == 3
    assert fits_the_screen(page)
    screenshot(page, f"analytics-business-7-days-fr-{label}")
    assert page.js_errors == []


@pytest.mark.parametrize("viewport, label", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_the_comparison_page(open_page, screenshot, shops, viewport, label):
    owner, _centre, _gare = shops
    page = open_page(viewport=viewport, user=owner, language="en")

    response = page.goto("/analytics/?period=last_30_days")

    assert response.status == 200
    assert page.locator("table.compare tbody tr").count() == 2
    assert page.get_by_text("Best performer").is_visible()
    assert page.locator(".suggestion-list li").count() >= 1
    assert fits_the_screen(page)
    screenshot(page, f"analytics-comparison-en-{label}")
    assert page.js_errors == []


def test_the_account_page_offers_the_digest_export_and_deletion(open_page, screenshot, shops):
    owner, _centre, _gare = shops
    page = open_page(viewport=PHONE, user=owner)

    page.goto("/account/")

    assert page.locator("input[name=daily_digest_enabled]").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger mes données (JSON)").click()
    assert download.value.suggested_filename.endswith(".json")
    assert fits_the_screen(page)
    screenshot(page, "analytics-account-data-fr-phone")
    page.get_by_role("link", name="Supprimer mon compte…").click()
    page.wait_for_url("**/account/delete/")
    screenshot(page, "analytics-account-delete-fr-phone")
    assert page.js_errors == []


def test_the_overview_leads_to_the_analytics(open_page, screenshot, shops):
    owner, centre, _gare = shops
    page = open_page(viewport=DESKTOP, user=owner)

    page.goto("/dashboard/")
    screenshot(page, "analytics-links-overview-fr-desktop")
    page.locator("article", has_text="Boulangerie Centre-Ville").get_by_role(
        "link", name="Statistiques").click()
    page.wait_for_url(f"**/businesses/{centre.pk}/analytics/")
    page.goto(f"/businesses/{centre.pk}/")
    screenshot(page, "analytics-links-business-fr-desktop")
    page.get_by_role("main").get_by_role("link", name="Statistiques").click()
    page.wait_for_url(f"**/businesses/{centre.pk}/analytics/")
    page.get_by_role("link", name="Comparer mes commerces").click()
    page.wait_for_url("**/analytics/")
    assert page.js_errors == []


def test_the_top_menu_leads_to_the_comparison(open_page, screenshot):
    owner = make_merchant("menu@example.fr", plan="pro")
    page = open_page(viewport=DESKTOP, user=owner)
    page.goto("/dashboard/")
    page.get_by_role("navigation").get_by_role("link", name="Statistiques").click()
    page.wait_for_url("**/analytics/")
    assert page.js_errors == []
