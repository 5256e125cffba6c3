"""Joins follow the shop's opening hours: ranges, exceptions, last call, the shop's own
time zone; every page and the API tell the same state and reason."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from businesses.models import Business
from queues import services
from queues.models import QueueEntry
from queues.services import QueueError
from queues.tests.factories import fill, join, open_queue
from waitify.lib.opening_hours import WEEKDAYS

FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
TWO_RANGES = [["08:00", "12:30"], ["14:00", "19:30"]]
# Closed on Sundays and Mondays; 25 December closed; Monday 30 November open in the morning.
BAKERY = {
    "weekly": {**{day: TWO_RANGES for day in WEEKDAYS}, "sunday": [], "monday": []},
    "exceptions": {"2026-12-25": [], "2026-11-30": [["09:00", "12:00"]]},
}


@pytest.fixture
def bakery(business):
    Business.objects.filter(pk=business.pk).update(opening_hours=BAKERY, average_service_time=300)
    return open_queue(Business.objects.get(pk=business.pk))


def set_hours(business: Business, **fields) -> Business:
    Business.objects.filter(pk=business.pk).update(**fields)
    return Business.objects.get(pk=business.pk)


def join_page(client, business: Business, headers: dict):
    return client.get(reverse("queues:join", args=[business.qr_token]), **headers)


# --- The engine ------------------------------------------------------------------------------


@time_machine.travel("2026-12-01 13:00 +01:00")  # a Tuesday, lunch break
def test_it_refuses_a_join_between_two_ranges_with_4005_and_the_afternoon_opening(bakery):
    with pytest.raises(QueueError) as error:
        join(bakery)
    assert (error.value.code, error.value.error) == (4005, "outside_opening_hours")
    assert error.value.extra["next_opening"] == "2026-12-01T14:00:00+01:00"
    assert QueueEntry.objects.count() == 0


@time_machine.travel("2026-12-01 14:00 +01:00")
def test_it_takes_a_join_as_the_afternoon_range_opens(bakery):
    assert join(bakery).ticket_label == "A-001"


def test_a_dated_exception_opens_a_closed_monday_and_closes_a_friday(bakery):
    with time_machine.travel("2026-11-30 10:00 +01:00"):
        assert join(bakery).status == "waiting"
    with time_machine.travel("2026-12-25 10:00 +01:00"), pytest.raises(QueueError) as error:
        join(bakery)
    assert error.value.error == "outside_opening_hours"
    assert error.value.extra["next_opening"] == "2026-12-26T08:00:00+01:00"


def test_the_hours_are_read_in_the_business_time_zone(bakery):
    reunion = set_hours(bakery, timezone="Indian/Reunion")
    # 05:00 UTC: 09:00 in Réunion (open), 06:00 in Paris (closed).
    with time_machine.travel("2026-12-01 05:00 +00:00"):
        assert join(reunion).status == "waiting"
    paris = set_hours(bakery, timezone="Europe/Paris")
    with time_machine.travel("2026-12-01 05:00 +00:00"), pytest.raises(QueueError):
        join(paris)


def test_last_call_refuses_joins_the_last_minutes_before_closing(bakery):
    bakery = set_hours(bakery, last_call_minutes=15)
    with time_machine.travel("2026-12-01 19:14 +01:00"):
        join(bakery)
    with time_machine.travel("2026-12-01 19:15 +01:00"), pytest.raises(QueueError) as error:
        join(bakery)
    assert (error.value.code, error.value.error) == (4007, "last_call")
    assert "19:30" in str(error.value.message)
    assert error.value.extra["next_opening"] == "2026-12-02T08:00:00+01:00"
    # The morning range has its own last call, before the lunch break.
    with time_machine.travel("2026-12-02 12:20 +01:00"), pytest.raises(QueueError) as error:
        join(bakery)
    assert error.value.extra["next_opening"] == "2026-12-02T14:00:00+01:00"
    assert QueueEntry.objects.count() == 1


@time_machine.travel("2026-12-01 19:25 +01:00")
def test_without_a_last_call_joins_run_until_closing_time(bakery):
    assert bakery.last_call_minutes == 0
    assert join(bakery).status == "waiting"


@time_machine.travel("2026-12-01 10:00 +01:00")
def test_the_availability_names_each_reason(bakery):
    assert services.join_availability(bakery, waiting=0).state == "open"
    assert services.join_availability(bakery, waiting=bakery.max_queue_size).reason == "queue_full"
    paused = set_hours(bakery, is_queue_paused=True)
    assert services.join_availability(paused, waiting=0).state == "paused"
    closed = set_hours(bakery, is_queue_open=False, is_queue_paused=False)
    assert services.join_availability(closed, waiting=0).reason == "queue_closed"


# --- The customer's join page ------------------------------------------------------------------


@time_machine.travel("2026-12-01 13:00 +01:00")
def test_the_closed_page_says_closed_and_when_it_reopens_in_french(client, bakery):
    html = join_page(client, bakery, FRENCH).content.decode()
    assert 'data-state="closed"' in html
    assert "state-open" not in html
    assert "Ouverte" not in html
    assert "Le magasin est fermé à cette heure-ci." in html
    assert "Réouverture aujourd&#x27;hui à 14:00." in html
    assert "join-form" not in html
    # The week's hours, today highlighted, the coming exception shown.
    assert '<tr class="today" aria-current="date">' in html
    assert "08:00–12:30, 14:00–19:30" in html


@time_machine.travel("2026-12-01 13:00 +01:00")
def test_the_closed_page_says_when_it_reopens_in_english(client, bakery):
    html = join_page(client, bakery, ENGLISH).content.decode()
    assert "The shop is closed at this hour." in html
    assert "Opens again today at 14:00." in html
    assert "Open</span>" not in html


@pytest.mark.parametrize(("moment", "french", "english"), [
    ("2026-12-01 20:00 +01:00", "Réouverture demain à 08:00.", "Opens again tomorrow at 08:00."),
    ("2026-12-05 20:00 +01:00", "Réouverture mardi à 08:00.", "Opens again Tuesday at 08:00."),
    ("2026-11-28 20:00 +01:00", "Réouverture lundi à 09:00.", "Opens again Monday at 09:00."),
])
def test_the_reopening_names_tomorrow_or_the_weekday_in_lowercase_french(client, bakery, moment,
                                                                          french, english):
    with time_machine.travel(moment):
        assert french in join_page(client, bakery, FRENCH).content.decode()
        assert english in join_page(client, bakery, ENGLISH).content.decode()


@time_machine.travel("2026-12-21 20:00 +01:00")
def test_the_week_shows_the_christmas_exception(client, bakery):
    html = join_page(client, bakery, FRENCH).content.decode()
    assert "Vendredi 25 décembre" in html
    assert "exception" in html


@time_machine.travel("2026-12-01 19:00 +01:00")
def test_a_customer_whose_turn_falls_after_closing_is_told_before_joining(client, bakery):
    fill(bakery, 8)  # the ninth waits for 8 × 5 min of services: called after 19:30
    html = join_page(client, bakery, FRENCH).content.decode()
    assert re.search(r"Votre tour est prévu vers 19:[3-5]\d, après l'heure de fermeture "
                     r"\(19:30\)", html)
    assert "join-form" in html
    english = join_page(client, bakery, ENGLISH).content.decode()
    assert re.search(r"Your turn is expected around 19:[3-5]\d, after closing time \(19:30\)",
                     english)


@time_machine.travel("2026-12-01 10:00 +01:00")
def test_no_warning_when_the_turn_comes_before_closing(client, bakery):
    fill(bakery, 8)
    html = join_page(client, bakery, FRENCH).content.decode()
    assert "après l'heure de fermeture" not in html
    assert 'data-state="open"' in html


@time_machine.travel("2026-12-01 19:20 +01:00")
def test_a_join_posted_during_last_call_is_refused_on_the_page(client, bakery):
    set_hours(bakery, last_call_minutes=15)
    response = client.post(reverse("queues:join", args=[bakery.qr_token]),
                           {"phone": "06 12 34 56 78"}, **FRENCH)
    html = response.content.decode()
    assert response.status_code == 409
    assert 'data-code="4007"' in html
    assert "Le dernier appel est passé : le magasin ferme à 19:30" in html
    assert "Réouverture demain à 08:00." in html
    assert QueueEntry.objects.count() == 0


# --- The state fragment the closed page polls -----------------------------------------------


def test_the_closed_page_polls_its_state_until_the_queue_opens(client, business):
    closed = set_hours(business, opening_hours=BAKERY)
    html = join_page(client, closed, FRENCH).content.decode()
    state_url = reverse("queues:join_state", args=[closed.qr_token])
    with time_machine.travel("2026-12-01 10:00 +01:00"):
        html = join_page(client, closed, FRENCH).content.decode()
        assert f'hx-get="{state_url}?shows=queue_closed"' in html
        assert 'hx-trigger="every 10s"' in html
        poll = client.get(f"{state_url}?shows=queue_closed", HTTP_HX_REQUEST="true")
        assert poll.status_code == 200
        assert "HX-Refresh" not in poll
        assert 'hx-trigger="every 10s"' in poll.content.decode()

        open_queue(closed)
        poll = client.get(f"{state_url}?shows=queue_closed", HTTP_HX_REQUEST="true")
        assert poll["HX-Refresh"] == "true"
        # Open: the page has the form and polls no more.
        html = join_page(client, closed, FRENCH).content.decode()
        assert "join-form" in html
        assert "every 10s" not in html


def test_the_paused_page_polls_too_and_an_unknown_code_is_a_404(client, business):
    paused = set_hours(open_queue(business), is_queue_paused=True)
    html = join_page(client, paused, FRENCH).content.decode()
    assert "?shows=queue_paused" in html
    assert client.get(reverse("queues:join_state", args=["nope"])).status_code == 404


# --- The public API -----------------------------------------------------------------------------


@time_machine.travel("2026-12-01 13:00 +01:00")
def test_the_public_api_refuses_a_join_outside_hours_with_the_reopening(bakery):
    response = APIClient().post(f"/api/v1/public/{bakery.qr_token}/join",
                                {"phone": "0612345678"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["error"]) == (4005, "outside_opening_hours")
    assert body["message"] == "The shop is closed at this hour."
    assert body["next_opening"] == "2026-12-01T14:00:00+01:00"


@time_machine.travel("2026-12-01 19:20 +01:00")
def test_the_public_api_refuses_a_join_during_last_call(bakery):
    set_hours(bakery, last_call_minutes=15)
    response = APIClient().post(f"/api/v1/public/{bakery.qr_token}/join",
                                {"phone": "0612345678"}, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    body = response.json()
    assert (response.status_code, body["code"], body["error"]) == (409, 4007, "last_call")
    assert body["message"].startswith("Le dernier appel est passé")
    assert body["closes_at"] == "2026-12-01T19:30:00+01:00"


@time_machine.travel("2026-12-01 13:00 +01:00")
def test_the_merchant_queue_api_says_why_joins_are_refused(api_client, bakery):
    body = api_client.get(f"/api/v1/businesses/{bakery.pk}/queue",
                          HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["joins"] == {
        "accepting": False, "state": "closed", "reason": "outside_opening_hours",
        "message": "The shop is closed at this hour.",
        "reopens_at": "2026-12-01T14:00:00+01:00", "closes_at": None, "last_call_at": None,
    }


# --- The merchant's pages ------------------------------------------------------------------------


@time_machine.travel("2026-12-01 13:00 +01:00")
def test_the_live_page_and_dashboard_say_joins_are_refused_by_the_hours(merchant_client, bakery):
    live = merchant_client.get(reverse("queues:live", args=[bakery.pk]), **ENGLISH)
    html = live.content.decode()
    assert 'data-reason="outside_opening_hours"' in html
    assert "Customers cannot join: outside your opening hours." in html
    assert "Opens again today at 14:00." in html
    overview = merchant_client.get(reverse("queues:overview"), **FRENCH).content.decode()
    assert "Les clients ne peuvent pas rejoindre la file : hors de vos horaires d'ouverture." \
        in overview
    assert "Réouverture aujourd&#x27;hui à 14:00." in overview


@time_machine.travel("2026-12-01 19:20 +01:00")
def test_the_live_page_names_last_call(merchant_client, bakery):
    set_hours(bakery, last_call_minutes=15)
    html = merchant_client.get(reverse("queues:live", args=[bakery.pk]),
                               **ENGLISH).content.decode()
    assert "Customers cannot join: last call has passed (closing at 19:30)." in html


@time_machine.travel("2026-12-01 10:00 +01:00")
def test_the_live_page_names_a_full_queue_and_the_closing_time(merchant_client, bakery):
    html = merchant_client.get(reverse("queues:live", args=[bakery.pk]),
                               **ENGLISH).content.decode()
    assert "Customers can join until closing at 12:30." in html
    full = set_hours(bakery, max_queue_size=2)
    fill(full, 2)
    html = merchant_client.get(reverse("queues:live", args=[full.pk]),
                               **FRENCH).content.decode()
    assert "Les clients ne peuvent pas rejoindre la file : elle est complète (2 personnes en " \
        "attente)." in html
