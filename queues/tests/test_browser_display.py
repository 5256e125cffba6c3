"""The shop display in a real browser: two calls at two counters a second apart are both
shown, and both announced, one after the other, in the order of the calls.

Chromium's speech engine is replaced by a recorder (an init script, which the page's
Content-Security-Policy does not apply to): it keeps each sentence and takes 2.5 s to
"say" it (so a call arriving at the next poll finds the screen still speaking), and notes
any sentence started while another one is still being said."""

from __future__ import annotations

import time

import pytest

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from queues import services
from queues.models import Counter, QueueState
from queues.tests.factories import fill

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TV = {"width": 1920, "height": 1080}

RECORD_SPEECH = """
(() => {
  const spoken = [];
  let speaking = false;
  window.__spoken = spoken;
  window.SpeechSynthesisUtterance = function (text) { this.text = text; };
  const recorder = {
    getVoices: () => [],
    cancel: () => {},
    speak(utterance) {
      if (speaking) { spoken.push("OVERLAP"); }
      speaking = true;
      spoken.push(utterance.text);
      setTimeout(() => { speaking = false; if (utterance.onend) { utterance.onend(); } }, 2500);
    },
  };
  Object.defineProperty(window, "speechSynthesis", { value: recorder, configurable: true });
})();
"""


@pytest.fixture
def pharmacy(db):
    owner = make_merchant("comptoir@pharmacie.fr", plan="pro")
    business = business_services.business_create(owner=owner, name="Pharmacie du Marché",
                                                 business_type="pharmacy")
    services.queue_open(business=business)
    Counter.objects.filter(business=business).update(name="Guichet 1")
    Counter.objects.create(business=business, name="Guichet 2", position=1)
    return business


def open_display(open_page, business):
    display = open_page(viewport=TV)
    display.add_init_script(RECORD_SPEECH)
    display.goto(f"/display/{QueueState.objects.get(pk=business.pk).display_token}")
    return display


def spoken(display) -> list[str]:
    return display.evaluate("window.__spoken.slice()")


def wait_until_spoken(display, count: int, timeout_ms: int = 20000) -> list[str]:
    """Polls from the test: `wait_for_function` evaluates strings, which the CSP forbids."""
    for _ in range(timeout_ms // 100):
        if len(sentences := spoken(display)) >= count:
            return sentences
        display.wait_for_timeout(100)
    raise AssertionError(f"{count} sentences expected, spoken: {spoken(display)}")


def test_two_calls_a_second_apart_are_both_shown_and_announced_in_order(
        open_page, pharmacy, screenshot):
    counter_1, counter_2 = Counter.objects.filter(business=pharmacy).order_by("position")
    fill(pharmacy, 3)
    display = open_display(open_page, pharmacy)
    assert display.locator(".display-ticket").inner_text() == "–"
    display.locator("#sound-toggle").click()  # the one tap that lets the browser speak
    assert display.locator("#sound-toggle").inner_text() == "Annonces vocales : activées"
    wait_until_spoken(display, 1)

    services.queue_call_next(business=pharmacy, counter=counter_1, by=pharmacy.owner)
    time.sleep(1)  # the second agent presses "next" a second later
    services.queue_call_next(business=pharmacy, counter=counter_2, by=pharmacy.owner)

    display.locator(".call.latest .display-ticket", has_text="A-002").wait_for(timeout=8000)
    assert display.locator(".call .call-counter").all_inner_texts() == ["Guichet 2", "Guichet 1"]
    assert display.locator(".call .display-ticket").all_inner_texts() == ["A-002", "A-001"]
    wait_until_spoken(display, 3)
    screenshot(display, "display-two-counters-tv")
    assert spoken(display) == ["Annonces vocales activées.", "Ticket A 1, Guichet 1",
                               "Ticket A 2, Guichet 2"]
    assert display.js_errors == []


def test_the_screen_stays_silent_until_a_tap_anywhere(open_page, pharmacy, screenshot):
    counter_1 = Counter.objects.filter(business=pharmacy).order_by("position").first()
    fill(pharmacy, 2)
    services.queue_call_next(business=pharmacy, counter=counter_1)  # history, not news
    display = open_display(open_page, pharmacy)
    assert display.locator("#sound-toggle").inner_text() == "Touchez l'écran pour activer le son"
    screenshot(display, "display-sound-off-tv")

    services.queue_call_next(business=pharmacy, counter=counter_1)
    display.locator(".call.latest.fresh .display-ticket", has_text="A-002").wait_for(timeout=8000)
    assert spoken(display) == []  # shown, flashing, but not spoken: the browser forbids it

    display.mouse.click(300, 600)  # one tap on the board
    wait_until_spoken(display, 1)
    assert display.locator("#sound-toggle").inner_text() == "Annonces vocales : activées"
    assert display.locator(".call .display-ticket").all_inner_texts() == ["A-002", "A-001"]
    assert display.js_errors == []


def test_the_display_speaks_english_when_the_screen_reads_english(open_page, pharmacy,
                                                                    screenshot):
    counter_1, counter_2 = Counter.objects.filter(business=pharmacy).order_by("position")
    fill(pharmacy, 4)
    for counter in (counter_1, counter_2, counter_1):
        services.queue_call_next(business=pharmacy, counter=counter)
    display = open_page(viewport=TV, language="en")
    display.add_init_script(RECORD_SPEECH)
    display.goto(f"/display/{QueueState.objects.get(pk=pharmacy.pk).display_token}")
    display.locator("#sound-toggle", has_text="Tap to turn on the sound").click()
    wait_until_spoken(display, 1)
    services.queue_call_next(business=pharmacy, counter=counter_2)
    wait_until_spoken(display, 2)
    assert spoken(display) == ["Voice announcements are on.", "Ticket A 4, Guichet 2"]
    assert display.locator(".call .display-ticket").all_inner_texts() == [
        "A-004", "A-003", "A-002", "A-001"]  # the last four calls
    screenshot(display, "display-four-calls-en-tv")
    assert display.js_errors == []
