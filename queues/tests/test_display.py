"""The shop display: today's last four calls with their counters, newest first, each with
the sentence the screen speaks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from queues import selectors, services
from queues.models import Counter, QueueState
from queues.tests.factories import fill, open_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(business):
    return open_queue(business)


@pytest.fixture
def two_counters(shop) -> tuple[Counter, Counter]:
    first = Counter.objects.get(business=shop)
    first.name = "Guichet 1"
    first.save(update_fields=["name"])
    return first, Counter.objects.create(business=shop, name="Guichet 2", position=1)


def display_html(client, shop) -> str:
    token = QueueState.objects.get(pk=shop.pk).display_token
    response = client.get(reverse("queues:display", args=[token]))
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_last_four_calls_newest_first_with_their_counters(shop, two_counters):
    fill(shop, 6)
    for number in range(5):
        services.queue_call_next(business=shop, counter=two_counters[number % 2])
    board = selectors.display_board(shop)
    assert [(call.ticket, call.counter) for call in board.calls] == [
        ("A-005", "Guichet 1"), ("A-004", "Guichet 2"), ("A-003", "Guichet 1"),
        ("A-002", "Guichet 2")]
    assert board.show_counters


def test_each_call_carries_the_french_sentence_to_speak(client, shop, two_counters):
    fill(shop, 2)
    services.queue_call_next(business=shop, counter=two_counters[1])
    html = display_html(client, shop)
    assert 'data-speech="Ticket A 1, Guichet 2"' in html
    assert '<span class="call-counter">Guichet 2</span>' in html


def test_a_shop_with_one_counter_shows_no_counter(client, shop):
    fill(shop, 1)
    services.queue_call_next(business=shop)
    html = display_html(client, shop)
    assert 'data-speech="Ticket A 1, présentez-vous au comptoir."' in html
    assert "call-counter" not in html


def test_served_and_missed_calls_stay_among_the_last_four(shop):
    first, second = fill(shop, 2)
    services.queue_call_next(business=shop)
    services.entry_serve(entry=first)
    services.queue_call_next(business=shop)
    services.entry_miss(entry=second)
    assert [call.ticket for call in selectors.display_board(shop).calls] == ["A-002", "A-001"]


def test_yesterdays_calls_are_not_shown_in_the_morning(shop):
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False):
        fill(shop, 1)
        services.queue_call_next(business=shop)
    assert selectors.display_board(shop).calls == []


def test_each_call_has_its_own_key_so_that_no_call_is_announced_twice(shop):
    fill(shop, 2)
    services.queue_call_next(business=shop)
    services.queue_call_next(business=shop)
    keys = [call.key for call in selectors.display_board(shop).calls]
    assert len(set(keys)) == 2


@pytest.mark.parametrize(("label", "spoken"), [
    ("A-042", "A 42"), ("RC-100", "RC 100"), ("O-007", "O 7"), ("A-000", "A 0")])
def test_the_ticket_is_spoken_without_dash_or_leading_zeros(label, spoken):
    assert selectors.spoken_ticket(label) == spoken


def test_the_board_reads_a_fixed_number_of_queries(shop, two_counters,
                                                   django_assert_num_queries):
    fill(shop, 12)
    for number in range(8):
        services.queue_call_next(business=shop, counter=two_counters[number % 2])
    with django_assert_num_queries(4):
        board = selectors.display_board(shop)
    assert len(board.calls) == 4


def test_next_up_lists_priority_tickets_first_as_call_next_takes_them(shop):
    services.entry_join(business=shop, phone="0611000001")
    second = services.entry_join(business=shop, phone="0611000002")
    services.entry_set_priority(entry=second, priority=True)
    assert [entry.ticket_label for entry in selectors.display_board(shop).next_up] == [
        "A-002", "A-001"]
