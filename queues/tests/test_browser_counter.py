"""The live queue at the counter, in a real browser: on a phone held in one hand and on
the shop's desktop, in French and in English."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from queues import services
from queues.models import EntryStatus, QueueEntry
from waitify.tests.browser import DESKTOP, PHONE, SCREENSHOTS_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE_BUTTONS = "#live-panel button, #walk-in button, #undo-bar button, .live-head .button"


@pytest.fixture
def shop(db):
    owner = make_merchant("comptoir@pharmacie.fr", plan="pro")
    business = business_services.business_create(
        owner=owner, name="Pharmacie de la Place du Marché-aux-Fleurs", business_type="pharmacy")
    business = services.queue_open(business=business)
    for phone, name in (("0612345678", "Jean-Baptiste-Alexandre"), ("0612345679", "Ana"),
                        ("0612345680", "")):
        services.entry_join(business=business, phone=phone, name=name)
    services.queue_call_next(business=business)
    return business


@pytest.fixture
def counter_page(browser, live_server):
    """A tab logged in as the shop's owner; `touch=True` is a phone (touch screen, no
    mouse: the keyboard hint's media query is false there)."""
    contexts = []

    def _open(user, *, viewport: dict, touch: bool = False, language: str = "fr"):
        context = browser.new_context(viewport=viewport, base_url=live_server.url,
                                      locale="fr-FR", is_mobile=touch, has_touch=touch)
        contexts.append(context)
        client = Client()
        client.force_login(user)
        context.add_cookies([
            {"name": settings.SESSION_COOKIE_NAME,
             "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url},
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
        ])
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda error: page.js_errors.append(str(error)))
        return page

    yield _open
    for context in contexts:
        context.close()


def phone_screenshot(page, name: str) -> None:
    """The whole page as the phone shows it: a full-page capture would drop the touch
    emulation for its duration (and show the keyboard hint a phone never shows)."""
    SCREENSHOTS_DIR.mkdir(exist_ok=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": PHONE["width"], "height": height})
    page.screenshot(path=str(SCREENSHOTS_DIR / f"{name}.png"))
    page.set_viewport_size(PHONE)


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def smallest_button_height(page) -> float:
    return page.evaluate(f"""Math.min(...[...document.querySelectorAll({LIVE_BUTTONS!r})]
        .filter(b => b.offsetParent !== null)
        .map(b => b.getBoundingClientRect().height))""")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_live_queue_fits_a_phone_with_thumb_sized_buttons(counter_page, shop, screenshot,
                                                               language):
    page = counter_page(shop.owner, viewport=PHONE, touch=True, language=language)
    page.goto(f"/businesses/{shop.pk}/queue/")
    assert fits_the_screen(page)
    assert smallest_button_height(page) >= 44
    assert page.locator(".queue-row").count() == 2
    assert not page.locator(".keyboard-hint").is_visible()  # no keyboard on a phone
    walk_in = page.locator("#walk-in-name").bounding_box()
    assert walk_in["x"] >= 0 and walk_in["x"] + walk_in["width"] <= PHONE["width"]
    phone_screenshot(page, f"counter-live-phone-{language}")
    assert page.js_errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_live_queue_on_a_desktop_shows_the_table_and_the_keyboard_hint(
        counter_page, shop, screenshot, language):
    page = counter_page(shop.owner, viewport=DESKTOP, language=language)
    page.goto(f"/businesses/{shop.pk}/queue/")
    screenshot(page, f"counter-live-desktop-{language}")
    assert page.locator(".queue-table thead").is_visible()
    assert page.locator(".keyboard-hint").is_visible()
    assert smallest_button_height(page) >= 44
    assert page.js_errors == []


def test_a_removal_is_confirmed_first_and_can_be_undone(counter_page, shop, screenshot):
    page = counter_page(shop.owner, viewport=PHONE, touch=True)
    page.goto(f"/businesses/{shop.pk}/queue/")
    remove = page.locator(".queue-row", has_text="A-002").get_by_role("button", name="Retirer")

    page.once("dialog", lambda dialog: dialog.dismiss())
    remove.click()
    page.wait_for_timeout(500)
    assert QueueEntry.objects.get(ticket_number=2).status == EntryStatus.WAITING

    page.once("dialog", lambda dialog: dialog.accept())
    remove.click()
    page.locator("#undo-bar", has_text="Ticket A-002 retiré de la liste.").wait_for()
    assert QueueEntry.objects.get(ticket_number=2).status == EntryStatus.CANCELLED
    phone_screenshot(page, "counter-undo-offer-phone-fr")

    page.locator("#undo-bar").get_by_role("button", name="Annuler").click()
    page.locator(".queue-row", has_text="A-002").wait_for()
    assert QueueEntry.objects.get(ticket_number=2).status == EntryStatus.WAITING
    assert page.locator(".queue-row").first.inner_text().startswith("1")
    assert page.js_errors == []


def test_a_walk_in_name_survives_the_refresh_and_gets_a_printable_ticket(counter_page, shop,
                                                                        screenshot):
    page = counter_page(shop.owner, viewport=DESKTOP)
    page.goto(f"/businesses/{shop.pk}/queue/")
    page.fill("#walk-in-name", "Mme Lef")
    services.entry_join(business=shop, phone="0612345681", name="Zoé")
    page.locator("#live-panel", has_text="Zoé").wait_for(timeout=8000)  # the panel refreshed
    assert page.input_value("#walk-in-name") == "Mme Lef"

    page.fill("#walk-in-name", "Mme Lefèvre")
    page.get_by_role("button", name="Donner un ticket").click()
    confirmation = page.locator(".walk-in-ticket")
    confirmation.wait_for()
    assert "Ticket A-005 remis." in confirmation.inner_text()
    assert "Position 4 dans la file" in confirmation.inner_text()
    assert page.input_value("#walk-in-name") == ""
    screenshot(page, "counter-walk-in-given-desktop-fr")

    with page.context.expect_page() as opened:
        confirmation.get_by_role("link", name="Imprimer le ticket").click()
    ticket = opened.value
    ticket.wait_for_load_state()
    assert ticket.locator(".ticket-number").inner_text() == "A-005"
    screenshot(ticket, "counter-ticket-screen")
    for paper in ("58", "80", "a6"):
        ticket.goto(f"{ticket.url.split('?')[0]}?paper={paper}")
        ticket.emulate_media(media="print")
        assert not ticket.locator(".ticket-tools").is_visible()
        screenshot(ticket, f"counter-ticket-print-{paper}")
        ticket.emulate_media(media="screen")
    assert page.js_errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_waiting_customer_is_told_when_the_shop_closes_its_queue(open_page, shop, screenshot,
                                                                    language):
    entry = QueueEntry.objects.get(ticket_number=2)  # next in line: "you are next"
    page = open_page(viewport=PHONE, language=language)
    page.goto(f"/q/s/{entry.secret}")
    business_services.business_deactivate(business=shop)
    page.locator(".shop-closed").wait_for(timeout=8000)  # the status page polls
    screenshot(page, f"counter-shop-closed-customer-phone-{language}")
    text = page.locator("main").inner_text()
    expected = {"fr": "Le commerce a fermé sa file", "en": "The shop has closed its queue"}
    assert expected[language] in text
    assert "prochain" not in text and "next" not in text.lower()
    assert page.locator("main a[href^='/q/']").count() == 0  # no queue to join any more
    assert page.js_errors == []
