"""Counters, services and priority in a real browser: two agents at two counters on two
screens, the counters-and-services page, and the join page with services and the priority
declaration on a phone, in French and in English."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from businesses.tests.personas import make_member
from queues import services
from queues.models import EntryStatus, QueueEntry
from waitify.tests.browser import DESKTOP, PHONE, SCREENSHOTS_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("WAITIFY_SHOTS", SCREENSHOTS_DIR))


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def pharmacy(db):
    owner = make_merchant("comptoirs@pharmacie.fr", plan="pro")
    business = business_services.business_create(owner=owner, name="Pharmacie du Port",
                                                 business_type="pharmacy")
    business = services.queue_open(business=business)
    prescriptions = services.service_update(service=business.services.get(),
                                            name="Ordonnance", ticket_prefix="O")
    para = services.service_create(business=business, name="Parapharmacie",
                                   ticket_prefix="P")
    services.counter_update(counter=business.counters.get(), name="Guichet 1")
    services.counter_create(business=business, name="Guichet 2")
    for phone, service in (("0612345601", prescriptions), ("0612345602", para),
                           ("0612345603", prescriptions), ("0612345604", para)):
        services.entry_join(business=business, phone=phone, service=service)
    return business


@pytest.mark.parametrize("language", ["fr", "en"])
def test_two_agents_at_two_counters_each_call_their_own_customer(open_page, pharmacy,
                                                                  language):
    agents = [make_member(pharmacy.owner, f"agent-{number}@pharmacie.fr", "agent", [pharmacy])
              for number in (1, 2)]
    first = open_page(viewport=DESKTOP, language=language, user=agents[0])
    second = open_page(viewport=DESKTOP, language=language, user=agents[1])
    for page, name in ((first, "Guichet 1"), (second, "Guichet 2")):
        page.goto(f"/businesses/{pharmacy.pk}/queue/")
        page.locator(f"[data-counter-choice='{name}']").click()
        page.wait_for_selector(f"[data-counter-choice='{name}'][aria-current='true']")

    first.locator("#call-next").click()
    first.wait_for_selector(".called-entry:not(.other-counter)")
    second.locator("#call-next").click()
    second.wait_for_selector(".called-entry:not(.other-counter)")

    called = {entry.counter.name: entry.ticket_label
              for entry in QueueEntry.objects.filter(status=EntryStatus.CALLED)
              .select_related("counter")}
    assert called == {"Guichet 1": "O-001", "Guichet 2": "P-001"}
    callers = {entry.counter.name: entry.called_by.email
               for entry in QueueEntry.objects.filter(status=EntryStatus.CALLED)
               .select_related("counter", "called_by")}
    assert callers == {"Guichet 1": "agent-1@pharmacie.fr", "Guichet 2": "agent-2@pharmacie.fr"}
    # Each screen shows its own customer first, the other counter's call below it.
    second.wait_for_selector(".called-entry.other-counter")
    first.reload()
    mine = first.locator(".called-entry:not(.other-counter)")
    assert "O-001" in mine.inner_text() and "Guichet 1" in mine.inner_text()
    assert "P-001" in first.locator(".called-entry.other-counter").inner_text()
    shot(first, f"h1-two-counters-{language}")
    shot(second, f"h1-two-counters-second-{language}")

    # "Served" on the second screen serves the second counter's customer.
    second.locator(".called-entry:not(.other-counter) form[action$='/serve/'] button").click()
    second.wait_for_selector(".called-entry:not(.other-counter)", state="detached")
    served = QueueEntry.objects.select_related("finished_by").get(ticket_prefix="P",
                                                                  ticket_number=1)
    assert (served.status, served.finished_by.email) == ("served", "agent-2@pharmacie.fr")
    assert QueueEntry.objects.get(ticket_prefix="O", ticket_number=1).status == "called"
    assert first.js_errors == [] and second.js_errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_counters_and_services_page(open_page, pharmacy, language):
    page = open_page(viewport=DESKTOP, language=language, user=pharmacy.owner)
    page.goto(f"/businesses/{pharmacy.pk}/counters-and-services/")
    page.locator("details.service-item[data-prefix='P'] summary").click()
    page.locator("details.counter-item[data-counter='Guichet 2'] summary").click()
    shot(page, f"h1-setup-{language}")
    page.fill(".add-service input[name=name]", "Retrait de commande")
    page.fill(".add-service input[name=ticket_prefix]", "R")
    page.locator(".add-service button[type=submit]").click()
    page.wait_for_selector("details.service-item[data-prefix='R']")
    assert pharmacy.services.filter(ticket_prefix="R").exists()
    assert page.js_errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_customer_picks_a_service_and_declares_priority_on_a_phone(open_page, pharmacy,
                                                                     language):
    type(pharmacy).objects.filter(pk=pharmacy.pk).update(
        priority_join_enabled=True,
        priority_join_text="Carte mobilité inclusion (CMI priorité), femmes enceintes")
    page = open_page(viewport=PHONE, language=language)
    page.goto(f"/q/{pharmacy.qr_token}")
    assert page.locator(".priority-rule").is_visible()
    shot(page, f"h1-join-services-priority-{language}")
    page.locator("input[name=service]").nth(1).check()
    page.fill(".join-form input[name=phone]", "0698765432")
    page.locator("input[name=priority]").check()
    page.locator(".join-form button[type=submit]").click()
    page.wait_for_selector("[data-service='Parapharmacie']")
    entry = QueueEntry.objects.get(phone="+33698765432")
    assert (entry.service.name, entry.priority, entry.ticket_label) == ("Parapharmacie", True,
                                                                        "P-003")
    # Priority: ahead of the two P customers who came before.
    assert page.locator("[data-position]").get_attribute("data-position") == "1"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, f"h1-status-service-priority-{language}")
    # Called at the second counter: the page (polling) says where to go.
    services.queue_call_next(business=pharmacy, counter=pharmacy.counters.get(name="Guichet 2"))
    page.wait_for_selector("[data-counter='Guichet 2']", timeout=10_000)
    shot(page, f"h1-status-your-turn-counter-{language}")
    assert page.js_errors == []
