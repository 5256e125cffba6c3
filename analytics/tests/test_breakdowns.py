"""Served customers and average service time per counter, per employee and per service:
a pharmacy with two counters, two services and an employee, run through the engine under
a frozen clock, read on the statistics page (FR/EN) and in the API."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from analytics import selectors
from analytics.tests.factories import at
from businesses.tests.factories import make_merchant
from queues import services
from queues.models import Counter, Service
from queues.tests.factories import join, open_queue

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 11)
YESTERDAY = date(2026, 3, 10)


@pytest.fixture
def clock():
    with time_machine.travel(at(TODAY, "12:00"), tick=False) as traveller:
        yield traveller


@pytest.fixture
def karim(db):
    return make_merchant("karim@example.fr", first_name="Karim", last_name="Benali")


@pytest.fixture
def pharmacy(business, merchant, karim, clock):
    """Yesterday: Marie serves A-001 at Guichet 1 in 3 min; Karim serves A-002 (4 min) then
    P-001 (2 min) at Guichet 2, and misses A-003. Today: Karim serves A-001 at Guichet 1
    in 1 min."""
    guichet_1 = Counter.objects.get(business=business)
    guichet_1.name = "Guichet 1"
    guichet_1.save(update_fields=["name"])
    guichet_2 = Counter.objects.create(business=business, name="Guichet 2", position=1)
    Service.objects.filter(business=business).update(name="Ordonnance")
    para = Service.objects.create(business=business, name="Parapharmacie", ticket_prefix="P",
                                  position=1)
    open_queue(business)

    clock.move_to(at(YESTERDAY, "10:00"))
    join(business), join(business)
    services.entry_join(business=business, phone="0611223344", service=para)
    first = services.queue_call_next(business=business, counter=guichet_1, by=merchant)
    second = services.queue_call_next(business=business, counter=guichet_2, by=karim)
    clock.move_to(at(YESTERDAY, "10:03"))
    services.entry_serve(entry=first, by=merchant)
    clock.move_to(at(YESTERDAY, "10:04"))
    services.entry_serve(entry=second, by=karim)
    third = services.queue_call_next(business=business, counter=guichet_2, by=karim)
    assert third.ticket_label == "P-001"
    clock.move_to(at(YESTERDAY, "10:06"))
    services.entry_serve(entry=third, by=karim)
    join(business)
    missed = services.queue_call_next(business=business, counter=guichet_2, by=karim)
    services.entry_miss(entry=missed, by=karim)

    clock.move_to(at(TODAY, "09:00"))
    join(business)
    today = services.queue_call_next(business=business, counter=guichet_1, by=karim)
    clock.move_to(at(TODAY, "09:01"))
    services.entry_serve(entry=today, by=karim)
    clock.move_to(at(TODAY, "12:00"))
    return business


def figures(rows) -> list[tuple]:
    return [(row.name, row.served_today, row.average_service_seconds_today, row.served,
             row.average_service_seconds) for row in rows]


def test_it_counts_served_customers_and_service_time_per_counter_employee_and_service(
        pharmacy):
    breakdowns = selectors.business_breakdowns(
        pharmacy, period=selectors.period_named("last_7_days"))

    assert figures(breakdowns.counters) == [("Guichet 1", 1, 60, 1, 180),
                                            ("Guichet 2", 0, None, 2, 180)]
    assert figures(breakdowns.employees) == [("Karim Benali", 1, 60, 2, 180),
                                             ("Marie", 0, None, 1, 180)]
    assert figures(breakdowns.services) == [("Ordonnance", 1, 60, 2, 210),
                                            ("Parapharmacie", 0, None, 1, 120)]


def test_it_reads_four_queries_whatever_the_number_of_customers(
        pharmacy, django_assert_num_queries):
    with django_assert_num_queries(4):
        selectors.business_breakdowns(pharmacy, period=selectors.period_named("last_30_days"))


def test_customers_served_before_counters_existed_are_gathered_as_not_recorded(pharmacy):
    pharmacy.queue_entries.filter(status="served").update(counter=None, finished_by=None)
    breakdowns = selectors.business_breakdowns(
        pharmacy, period=selectors.period_named("last_7_days"))
    assert figures(breakdowns.counters)[-1] == ("Non enregistré", 1, 60, 3, 180)
    assert [row.id for row in breakdowns.employees] == [None]


def test_the_statistics_page_shows_the_three_tables_in_french(merchant_client, pharmacy):
    response = merchant_client.get(reverse("analytics:business", args=[pharmacy.pk]),
                                   {"period": "last_7_days"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Servis par guichet, employé et service" in html
    for title in ("Par guichet", "Par employé", "Par service"):
        assert f"<h3>{title}</h3>" in html
    assert '<th scope="row">Karim Benali</th>' in html
    assert ('data-label="Service moyen · 7 derniers jours"><span class="value">3 min</span>'
            in html)


def test_the_period_tabs_carry_the_tables_along(merchant_client, pharmacy):
    response = merchant_client.get(reverse("analytics:business", args=[pharmacy.pk]),
                                   {"period": "last_30_days"}, HTTP_HX_REQUEST="true")
    assert 'id="breakdown-counters"' in response.content.decode()
    assert response.context["breakdowns"].period.key == "last_30_days"


def test_the_statistics_page_reads_in_english(merchant_client, pharmacy, settings):
    merchant_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = merchant_client.get(reverse("analytics:business", args=[pharmacy.pk])).content.decode()
    assert "Served per counter, employee and service" in html
    assert "<h3>By counter</h3>" in html and "Average service today" in html


def test_a_bakery_with_one_counter_and_its_owner_alone_sees_nothing_new(
        merchant_client, business, merchant, clock):
    open_queue(business)
    join(business)
    entry = services.queue_call_next(business=business, by=merchant)
    services.entry_serve(entry=entry, by=merchant)
    response = merchant_client.get(reverse("analytics:business", args=[business.pk]))
    assert response.context["breakdowns"].shown is False
    assert "breakdowns-title" not in response.content.decode()


def test_the_api_gives_the_same_figures(api_client, pharmacy):
    response = api_client.get(
        reverse("api-business-analytics-breakdown", args=[pharmacy.pk]), {"period": "last_7_days"})
    assert response.status_code == 200
    body = response.json()
    assert (body["period"], body["start"], body["end"], body["date"]) == (
        "last_7_days", "2026-03-04", "2026-03-10", "2026-03-11")
    guichet_2 = body["counters"][1]
    assert guichet_2["name"] == "Guichet 2"
    assert guichet_2["today"] == {"served": 0, "average_service_time": None}
    assert guichet_2["period"] == {"served": 2, "average_service_time": 180}
    assert [(row["name"], row["period"]["served"]) for row in body["employees"]] == [
        ("Karim Benali", 2), ("Marie", 1)]
    assert [row["name"] for row in body["services"]] == ["Ordonnance", "Parapharmacie"]


def test_the_api_refuses_an_unknown_period_with_a_code(api_client, pharmacy):
    response = api_client.get(
        reverse("api-business-analytics-breakdown", args=[pharmacy.pk]), {"period": "forever"})
    assert response.status_code == 400
    assert "period" in response.json()["errors"]
