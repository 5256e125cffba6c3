"""The statistics per counter, employee and service in a real Chromium, on a phone in
French and on a desktop in English; screenshots land in /screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from queues import services
from queues.models import Counter, Service
from queues.tests.factories import join
from waitify.tests.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def pharmacy():
    owner = make_merchant("pharmacie@example.fr", plan="pro", first_name="Marie",
                          last_name="Lefèvre")
    agent = make_merchant("karim@example.fr", first_name="Karim", last_name="Benali")
    business = business_services.business_create(owner=owner, name="Pharmacie du Marché",
                                                 business_type="pharmacy")
    Counter.objects.filter(business=business).update(name="Guichet 1")
    guichet_2 = Counter.objects.create(business=business, name="Guichet 2", position=1)
    Service.objects.filter(business=business).update(name="Ordonnance")
    para = Service.objects.create(business=business, name="Parapharmacie", ticket_prefix="P",
                                  position=1)
    services.queue_open(business=business)
    # Yesterday and this morning: a few customers served at both counters by both people.
    for start, people in ((timezone.now() - timedelta(days=1), 6),
                          (timezone.now() - timedelta(hours=1), 3)):
        with time_machine.travel(start, tick=False) as clock:
            for number in range(people):
                if number % 3 == 2:
                    services.entry_join(business=business, phone=f"061122{number:04d}",
                                        service=para)
                else:
                    join(business)
            for number in range(people):
                counter, by = ((None, owner) if number % 2 else (guichet_2, agent))
                entry = services.queue_call_next(
                    business=business, by=by,
                    counter=counter or Counter.objects.get(business=business, name="Guichet 1"))
                clock.shift(timedelta(minutes=2 + number))
                services.entry_serve(entry=entry, by=by)
    return owner, business


@pytest.mark.parametrize("viewport, language, label", [
    (PHONE, None, "fr-phone"), (DESKTOP, "en", "en-desktop")])
def test_the_statistics_page_shows_who_served_where(open_page, screenshot, pharmacy, viewport,
                                                    language, label):
    owner, business = pharmacy
    page = open_page(viewport=viewport, user=owner, language=language)

    response = page.goto(f"/businesses/{business.pk}/analytics/?period=last_7_days")

    assert response.status == 200
    for table in ("counters", "employees", "services"):
        assert page.locator(f"#breakdown-{table} tbody tr").count() == 2
    first_employee = page.locator("#breakdown-employees tbody th").first.inner_text()
    assert first_employee in ("Karim Benali", "Marie Lefèvre")
    assert fits_the_screen(page)
    page.locator("#breakdowns-title").scroll_into_view_if_needed()
    screenshot(page, f"analytics-breakdowns-{label}")
    assert page.js_errors == []
