"""A customer's status page polls as often as their place needs: the places the next calls
can reach every 4 s, the place behind them every 10 s, the others every 20 s, and still one
query per poll."""

import re

from django.urls import reverse

from queues import services
from queues.tests.factories import fill

HTMX = {"HTTP_HX_REQUEST": "true"}


def poll_interval(response) -> str:
    card = re.search(r'<section id="status-card"[^>]*>', response.content.decode()).group(0)
    return re.search(r'hx-trigger="([^"]*)"', card).group(1)


def test_the_head_of_the_line_polls_every_4_s_and_from_the_fourth_every_20_s(client, queue):
    entries = fill(queue, 20)
    intervals = [poll_interval(client.get(reverse("queues:status", args=[e.secret]), **HTMX))
                 for e in (entries[0], entries[1], entries[2], entries[3], entries[4],
                           entries[5], entries[19])]
    assert intervals == ["every 4s, repoll", "every 4s, repoll", "every 10s, repoll",
                         "every 20s, repoll", "every 20s, repoll", "every 20s, repoll",
                         "every 20s, repoll"]


def test_with_a_second_counter_open_the_third_in_line_polls_every_4_s_too(client, queue):
    entries = fill(queue, 5)
    services.counter_create(business=queue, name="Guichet 2")
    intervals = [poll_interval(client.get(reverse("queues:status", args=[e.secret]), **HTMX))
                 for e in entries[2:4]]
    assert intervals == ["every 4s, repoll", "every 10s, repoll"]


def test_the_page_speeds_up_as_the_line_moves(client, queue):
    entries = fill(queue, 10)
    url = reverse("queues:status", args=[entries[9].secret])
    assert poll_interval(client.get(url, **HTMX)) == "every 20s, repoll"
    for _ in range(8):
        services.queue_call_next(business=queue)
    assert poll_interval(client.get(url, **HTMX)) == "every 4s, repoll"


def test_a_called_customer_polls_every_5_s_and_a_served_one_stops(client, queue):
    entry = fill(queue, 1)[0]
    url = reverse("queues:status", args=[entry.secret])
    services.queue_call_next(business=queue)
    assert poll_interval(client.get(url, **HTMX)) == "every 5s, repoll"
    entry.refresh_from_db()
    services.entry_serve(entry=entry)
    assert "hx-trigger" not in client.get(url, **HTMX).content.decode()


def test_the_interval_costs_no_query(client, queue, django_assert_num_queries):
    entries = fill(queue, 15)
    with django_assert_num_queries(1):
        page = client.get(reverse("queues:status", args=[entries[-1].secret]), **HTMX)
    assert poll_interval(page) == "every 20s, repoll"
